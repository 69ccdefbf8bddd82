import type { LocalStore } from './local-store.js';
import type { ReplicaClient } from './replica-client.js';

/** Node internals reachable only through the testing helpers, never through the public node interface. */
export interface NodeInternals {
  readonly store: LocalStore;
  readonly client: ReplicaClient;
}

export const nodeInternals = new WeakMap<object, NodeInternals>();
