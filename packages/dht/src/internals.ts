import type { LocalStore } from './local-store.js';
import type { Stream } from '@libp2p/interface';
import type { ReplicaClient } from './replica-client.js';
import type { StoreSessionPool } from './store-session.js';

/** Node internals reachable only through the testing helpers, never through the public node interface. */
export interface NodeInternals {
  readonly store: LocalStore;
  readonly client: ReplicaClient;
  /** Absent when the node speaks only store protocol 1.0.0. */
  readonly sessions: StoreSessionPool | undefined;
  /** The data channel's TCP port; absent when the node runs with `dataChannel: false`. */
  readonly dataPort: number | undefined;
  readonly dataPeers: () => string[];
  /** Ends every data connection this node serves, as a network reset would (fault tests). */
  readonly resetDataConnections: () => void;
  /** Opens a raw stream of `protocol` to a connected peer (protocol tests). */
  readonly dialProtocol: (peerId: string, protocol: string) => Promise<Stream>;
}

export const nodeInternals = new WeakMap<object, NodeInternals>();
