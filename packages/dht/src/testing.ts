import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stream } from '@libp2p/interface';
import type { Logger, Registry } from '@twinledger/observability';
import type { Hex } from './codec.js';
import { createDhtNode, type DhtNode, type DhtNodeInit } from './dht-node.js';
import { nodeInternals } from './internals.js';
import { generateEncryptionKeyPair, type EncryptionKeyPair } from './key-wrap.js';
import type { BlobKind } from './local-store.js';
import { createStaticPartyRegistry, type StaticPartyRegistry } from './party-registry.js';
import type { Frame } from './framing.js';
import { generateSwarmKey } from './swarm-key.js';

/**
 * Several real nodes in one process over TCP on 127.0.0.1 (spawn, connect, teardown), for
 * this package's tests, the gateway's tests and the `dht` bench suite.
 */
/** Node init a test network may set (everything but identity, keys and data dir). */
export type TestNodeInit = Partial<Omit<DhtNodeInit, 'dataDir' | 'mspId' | 'encryptionKey' | 'swarmKey'>>;

export interface TestNetworkOptions {
  /** MSP id of each node, in order; repeat an id to give an organization several nodes. */
  readonly orgs: readonly string[];
  /** Extra init for every node (replication, chunk size, ...). */
  readonly nodeInit?: TestNodeInit;
  /** Extra init for node i only, over nodeInit (nodes configured differently). */
  readonly nodeInitAt?: (index: number) => TestNodeInit | undefined;
  readonly logger?: Logger;
  /** One metrics registry per node, if wanted. */
  readonly metricsRegistry?: (index: number) => Registry | undefined;
}

export interface TestNetwork {
  readonly nodes: DhtNode[];
  readonly registry: StaticPartyRegistry;
  readonly swarmKey: Uint8Array;
  readonly keys: ReadonlyMap<string, EncryptionKeyPair>;
  readonly rootDir: string;
  /** Connects every running node to every other. */
  connectAll(): Promise<void>;
  /** Stops node i (its data dir stays). */
  stopNode(i: number): Promise<void>;
  /** Starts a fresh instance on node i's data dir, on its previous listen address, and reconnects it. */
  restartNode(i: number): Promise<DhtNode>;
  /** Stops everything and removes the data dirs. */
  teardown(): Promise<void>;
}

async function dialRetrying(node: DhtNode, addr: string, attempts = 5): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await node.dial(addr);
      return;
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}

export async function spawnTestNetwork(options: Readonly<TestNetworkOptions>): Promise<TestNetwork> {
  const rootDir = await mkdtemp(join(tmpdir(), 'twinledger-dht-'));
  const swarmKey = generateSwarmKey();
  const registry = createStaticPartyRegistry();
  const keys = new Map<string, EncryptionKeyPair>();
  for (const msp of new Set(options.orgs)) {
    const kp = generateEncryptionKeyPair();
    keys.set(msp, kp);
    registry.upsert({ mspId: msp, peerIds: [], encryptionPublicKey: kp.publicKey });
  }
  const make = (i: number, listen?: readonly string[]): DhtNode => {
    const mspId = options.orgs[i] as string;
    const metricsRegistry = options.metricsRegistry?.(i);
    return createDhtNode(
      {
        repairIntervalMs: 0,
        gcIntervalMs: 0,
        ...options.nodeInit,
        ...options.nodeInitAt?.(i),
        ...(listen ? { listen } : {}),
        dataDir: join(rootDir, `node-${i}`),
        mspId,
        encryptionKey: (keys.get(mspId) as EncryptionKeyPair).privateKey,
        swarmKey,
      },
      { registry, ...(options.logger ? { logger: options.logger } : {}), ...(metricsRegistry ? { metricsRegistry } : {}) },
    );
  };
  const nodes = options.orgs.map((_, i) => make(i));
  // Identities load at start; bind each peer id to its party before anyone dials.
  await Promise.all(nodes.map((n) => n.start()));
  for (const n of nodes) {
    const p = registry.get(n.mspId);
    if (p) registry.upsert({ ...p, peerIds: [...new Set([...p.peerIds, n.peerId])] });
  }

  const stoppedAt = new Map<number, string>();
  const net: TestNetwork = {
    nodes,
    registry,
    swarmKey,
    keys,
    rootDir,
    async connectAll() {
      const live = nodes.filter((n) => n.isStarted());
      await Promise.all(live.flatMap((a, i) => live.slice(i + 1).map((b) => a.dial(b.multiaddrs()[0] as string))));
    },
    async stopNode(i) {
      const addr = nodes[i]?.multiaddrs()[0];
      if (addr !== undefined) stoppedAt.set(i, addr);
      await nodes[i]?.stop();
    },
    async restartNode(i) {
      const old = nodes[i] as DhtNode;
      // A node stopped with stopNode no longer knows its address; it was kept then.
      const addr = old.multiaddrs()[0] ?? stoppedAt.get(i);
      await old.stop();
      const listen = addr ? [addr.replace(/\/p2p\/.*$/, '')] : undefined;
      const fresh = make(i, listen);
      await fresh.start();
      nodes[i] = fresh;
      // A peer may reset the first dial while it still closes its connections to the node's
      // previous incarnation (same peer id): dialled again, a few times, as a node rejoining does.
      await Promise.all(nodes.filter((n) => n !== fresh && n.isStarted()).map((n) => dialRetrying(fresh, n.multiaddrs()[0] as string)));
      return fresh;
    },
    async teardown() {
      await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
      await rm(rootDir, { recursive: true, force: true });
    },
  };
  return net;
}

/**
 * Runs `check` with each of two started nodes of a party, Org9, that the network's registry
 * does not know (their own registry knows it and the network's parties): one holding the swarm
 * key, one with another. Each is stopped after its check.
 */
export async function withOutsiders(net: TestNetwork, check: (outsider: DhtNode) => Promise<void>): Promise<void> {
  const keys = generateEncryptionKeyPair();
  const own = createStaticPartyRegistry([...net.registry.list(), { mspId: 'Org9', peerIds: [], encryptionPublicKey: keys.publicKey }]);
  const mk = (dir: string, swarmKey: Uint8Array): DhtNode =>
    createDhtNode({ dataDir: join(net.rootDir, dir), mspId: 'Org9', encryptionKey: keys.privateKey, swarmKey, requestTimeoutMs: 3000 }, { registry: own });
  for (const outsider of [mk('outsider-psk', net.swarmKey), mk('outsider-nopsk', generateSwarmKey())]) {
    await outsider.start();
    try {
      own.upsert({ mspId: 'Org9', peerIds: [outsider.peerId], encryptionPublicKey: keys.publicKey });
      await check(outsider);
    } finally {
      await outsider.stop();
    }
  }
}

function internals(node: DhtNode) {
  const i = nodeInternals.get(node);
  if (i === undefined) throw new Error('node not started');
  return i;
}

/** Whether the node holds a chunk or manifest locally. */
export function holdsBlob(node: DhtNode, kind: BlobKind, hash: Hex): Promise<boolean> {
  return internals(node).store.hasBlob(kind, hash);
}

/** Overwrites a locally held chunk or manifest without any check: simulates a tampered replica. */
export function tamperBlob(node: DhtNode, kind: BlobKind, hash: Hex, bytes: Uint8Array): Promise<void> {
  return internals(node).store.overwriteBlobUnchecked(kind, hash, bytes);
}

/** Makes the node a slow replica: each store write waits `ms` first. Returns the undo. */
export function slowStoreWrites(node: DhtNode, ms: number): () => void {
  const store = internals(node).store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const names = ['putBlob', 'putAcl', 'putLocator', 'putFeedUpdate', 'putFeedHead'] as const;
  const originals = names.map((name) => [name, store[name]!] as const);
  for (const [name, fn] of originals) store[name] = async (...args: unknown[]) => new Promise((r) => setTimeout(r, ms)).then(() => fn(...args));
  return () => {
    for (const [name, fn] of originals) store[name] = fn;
  };
}

/** Whether the node itself holds the feed update at `address` (its local store, no network). */
export async function holdsFeedUpdate(node: DhtNode, address: Hex): Promise<boolean> {
  return (await internals(node).store.getFeedUpdate(address)) !== undefined;
}

/** Sends one raw store-protocol request from `node` to `peerId` (errors come back as thrown coded errors). */
export function rawStoreRequest(node: DhtNode, peerId: string, header: Record<string, unknown>, body?: Uint8Array): Promise<Frame> {
  return internals(node).client.request(peerId, header, body);
}

/** Peers the node holds an open store session (`/twinledger/store/1.1.0`) to; empty for a node that speaks only 1.0.0. */
export function storeSessionPeers(node: DhtNode): string[] {
  return internals(node).sessions?.peers() ?? [];
}

/** Peers the node holds an open data connection (`/twinledger/store/1.2.0`, ADR-21) to. */
export function dataChannelPeers(node: DhtNode): string[] {
  return internals(node).dataPeers();
}

/** Ends every data connection the node serves (its peers' requests on them fail mid-flight), as a network reset would. */
export function resetDataConnections(node: DhtNode): void {
  internals(node).resetDataConnections();
}

/** The node's data channel port; undefined when it runs with `dataChannel: false`. */
export function dataChannelPort(node: DhtNode): number | undefined {
  return internals(node).dataPort;
}

/** Opens a raw stream of `protocol` from `node` to a connected peer, for tests of the wire itself. */
export function dialRawProtocol(node: DhtNode, peerId: string, protocol: string): Promise<Stream> {
  return internals(node).dialProtocol(peerId, protocol);
}

/** The order in which the node's reads try the replicas of a key (itself first when it is one). */
export async function readOrder(node: DhtNode, key: Hex): Promise<string[]> {
  const client = internals(node).client;
  return [...client.readOrder((await client.candidates(key)).map((c) => c.peerId))];
}

/** The node's current replica order for a placement key (object id, reference, feed address). */
export async function placementOrder(node: DhtNode, key: Hex): Promise<string[]> {
  return (await internals(node).client.candidates(key)).map((c) => c.peerId);
}
