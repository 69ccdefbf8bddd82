import './node20-compat.js';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { ValidationError } from '@twinledger/errors';
import { silentLogger, type Logger, type Registry } from '@twinledger/observability';
import { LevelDatastore } from 'datastore-level';
import { PeerDatastore } from './peer-datastore.js';
import { createLibp2p, type Libp2p } from 'libp2p';
import type { CipherName } from './aead.js';
import type { ObjectSource } from './chunker.js';
import type { Hex } from './codec.js';
import { createPartyConnectionGater } from './connection-gater.js';
import { NodeNotStartedError, UnknownPartyError } from './errors.js';
import { normalizeParties } from './acl-record.js';
import { createFeedService, type CreateFeedOptions, type FeedAppendResult, type FeedEntry, type FeedInfo, type FeedService, type FeedWriter, type TimeRange } from './feeds.js';
import type { FeedHead, FeedUpdate } from './feed-records.js';
import { loadOrCreateIdentity } from './identity.js';
import { nodeInternals } from './internals.js';
import { encryptionPublicKeyOf } from './key-wrap.js';
import { createLocalStore, type LocalStore, type LocalStoreStats } from './local-store.js';
import { MAX_CHUNK_SIZE, MAX_MANIFEST_BYTES, type Manifest } from './manifest.js';
import { createDhtMetrics, type DhtMetrics } from './metrics.js';
import { createObjectService, type AclView, type ObjectService, type PutObjectOptions, type PutObjectResult, type UpdateAclResult } from './objects.js';
import type { PartyRegistry } from './party-registry.js';
import { createRepairer, type RepairReport, type Repairer } from './repair.js';
import { createGarbageCollector, type GarbageCollector, type GcReport } from './gc.js';
import { createPeriodicPass, type PeriodicPass } from './periodic-pass.js';
import { pskProtector } from './psk-protector.js';
import { createReplicaClient, type ReplicaClient } from './replica-client.js';
import { orderForKey } from './placement.js';
import { signingKeyFromSeed, type SigningKey } from './signing.js';
import { createStoreHandler, errorFrame, STORE_PROTOCOL } from './store-protocol.js';
import { createDataChannelPool, startDataChannelServer, type DataChannelPool, type DataChannelServer } from './data-channel.js';
import { createStoreSessionPool, serveStoreSession, SESSION_MAX_STREAMS, STORE_SESSION_PROTOCOL, type StoreSessionPool } from './store-session.js';
import { readFrame, writeFrameAndClose, type FrameLimits } from './framing.js';

export interface DhtNodeInit {
  /** Directory for the identity key, the LevelDB stores and the chunk files; created if missing. */
  readonly dataDir: string;
  /** This node's organization (Fabric MSP id); must be in the registry. */
  readonly mspId: string;
  /** The organization's X25519 private key (32 bytes); its public key must match the registry's. */
  readonly encryptionKey: Uint8Array;
  /** The consortium's pre-shared key in swarm-key format (see generateSwarmKey). */
  readonly swarmKey: Uint8Array;
  /** Listen multiaddrs; defaults to `/ip4/127.0.0.1/tcp/0`. */
  readonly listen?: readonly string[];
  /**
   * Multiaddrs (with /p2p/<id>) dialled at start. One not reached then (its node not listening
   * yet: organizations' services start in any order) is dialled again every
   * `bootstrapRetryMs` until it has been reached once.
   */
  readonly bootstrap?: readonly string[];
  /** Interval between dials of bootstrap addresses not reached yet, ms. Defaults to 2000; 0 disables. */
  readonly bootstrapRetryMs?: number;
  /** Replicas per item, r. Defaults to 3; must be >= 2k+1. */
  readonly replicationFactor?: number;
  /** Faulty replicas tolerated, k. Defaults to floor((r-1)/2); ACL updates need 2k+1 acknowledgements. */
  readonly faultTolerance?: number;
  /**
   * Plaintext bytes per chunk this node writes. Defaults to 1 MiB, the most allowed: every
   * chunk is one store request per replica, and a request costs ~1 ms of CPU across both ends
   * whatever its size (stream open, protocol negotiation, muxer frames), so 1 MiB chunks put
   * 64 MiB ~15-20% faster than 256 KiB ones (bench/RESULTS.md, session 5).
   */
  readonly chunkSize?: number;
  /** AEAD for new objects. Defaults to `aes-256-gcm` (see README for the measurement). */
  readonly cipher?: CipherName;
  /** Largest object accepted by putObject, bytes. Defaults to 1 GiB. */
  readonly maxObjectBytes?: number;
  /** Deadline for one store-protocol request. Defaults to 10 s. */
  readonly requestTimeoutMs?: number;
  /** Repair pass interval. Defaults to 60 s; 0 disables the timer (call repair()). */
  readonly repairIntervalMs?: number;
  /**
   * Orphan chunks (listed by no manifest held here) are removed once nothing of their object
   * was stored here for this long. Defaults to 24 h; keep it far above repairIntervalMs (a
   * replica that missed a manifest gets it from repair).
   */
  readonly orphanGraceMs?: number;
  /** Garbage-collection pass interval. Defaults to 1 h; 0 disables the timer (call collectGarbage()). */
  readonly gcIntervalMs?: number;
  /** The kad-dht protocol id. Defaults to `/twinledger/kad/1.0.0`. */
  readonly kadProtocol?: string;
  /** Ed25519 seed that signs ACLs of objects this node puts; defaults to the node identity's seed. */
  readonly ownerKey?: Uint8Array;
  /** Most entries one feed range call returns. Defaults to 1000. */
  readonly maxRangeEntries?: number;
  /**
   * Whether this node speaks the store session protocol (`/twinledger/store/1.1.0`: one
   * long-lived stream per peer, ADR-17), serving it and using it towards peers that do. Defaults
   * to true. With false the node serves and uses only `/twinledger/store/1.0.0` (a stream per
   * request), exactly as the previous version: a rollback switch during a rolling upgrade.
   */
  readonly storeSessions?: boolean;
  /**
   * Whether sealed chunk bodies travel on the data channel (`/twinledger/store/1.2.0`: a plain
   * TCP connection per node pair with authenticated headers, ADR-21), served on `dataListen` and
   * used towards peers that offer it. Defaults to true. With false the node neither offers nor
   * uses it: every byte goes through noise + pnet as in 1.1.0 (the rollback switch).
   */
  readonly dataChannel?: boolean;
  /**
   * Whether every store op, not only chunk bodies, travels on the data channel towards peers that
   * offer it (`/twinledger/store/1.3.0`: metadata sealed under the connection's keys, ADR-23), and
   * is offered to peers. Defaults to true. With false the node offers and uses the data channel for
   * chunk bodies only, as 1.2.0 (the rollback switch); ignored without `dataChannel`.
   */
  readonly dataChannelMetadata?: boolean;
  /**
   * Where the data channel listens. Host: defaults to the IP of the first `listen` address (or
   * 127.0.0.1). Port: defaults to 0 (any free port; announced to peers in each offer). Peers
   * reach it at the IP of their libp2p connection to this node, so it must be reachable there.
   */
  readonly dataListen?: { readonly host?: string; readonly port?: number };
}

export interface DhtNodeComponents {
  readonly registry: PartyRegistry;
  /** Parent logger; the node derives child loggers per component. */
  readonly logger?: Logger;
  /** Registry for `twinledger_dht_` metrics; none are recorded without it. */
  readonly metricsRegistry?: Registry;
}

export interface DhtPeerStatus {
  readonly peerId: string;
  readonly mspId: string | undefined;
}

export interface DhtNodeStatus {
  readonly peerId: string;
  readonly mspId: string;
  readonly multiaddrs: readonly string[];
  readonly peers: readonly DhtPeerStatus[];
  readonly store: LocalStoreStats;
  readonly replicationFactor: number;
  readonly faultTolerance: number;
  readonly lastRepair: RepairReport | undefined;
  readonly lastGc: GcReport | undefined;
}

export interface DhtNode {
  /** Known before start (the identity is loaded by start, so read it after). */
  readonly peerId: string;
  readonly mspId: string;
  /** This node's default owner public key (Ed25519, hex). */
  readonly ownerPublicKey: Hex;
  start(): Promise<void>;
  stop(): Promise<void>;
  isStarted(): boolean;
  multiaddrs(): string[];
  dial(addr: string): Promise<void>;
  putObject(data: ObjectSource, options?: Readonly<PutObjectOptions>): Promise<PutObjectResult>;
  getObject(ref: Hex): Promise<Uint8Array>;
  /** Streams verified plaintext; the whole-object hash is checked after the last chunk (the stream then throws on mismatch). */
  getObjectStream(ref: Hex): AsyncGenerator<Uint8Array>;
  /** One manifest fetch for both: ACL refusals and unknown refs throw before the stream exists (what an HTTP server needs before its headers). */
  openObject(ref: Hex): Promise<{ manifest: Manifest; stream: AsyncGenerator<Uint8Array> }>;
  getManifest(ref: Hex): Promise<Manifest>;
  getAcl(ref: Hex): Promise<AclView>;
  /** Signs and writes a new ACL version; removing a party re-encrypts under a new key. */
  updateAcl(ref: Hex, parties: readonly string[], options?: { readonly owner?: Uint8Array }): Promise<UpdateAclResult>;
  createFeed(options: Readonly<CreateFeedOptions>): Promise<FeedInfo>;
  appendFeed(feed: Readonly<FeedWriter>, index: number, payload: Uint8Array, timeRange: TimeRange): Promise<FeedAppendResult>;
  feedHead(feedId: Hex): Promise<FeedHead | undefined>;
  latest(feedId: Hex): Promise<FeedEntry | undefined>;
  /** `head`: a head of this feed the caller already holds (e.g. from watchFeed), verified again and used instead of asking the replicas. */
  rangeByIndex(feedId: Hex, from: number, to: number, options?: { readonly head?: FeedHead }): Promise<FeedEntry[]>;
  /**
   * Calls `listener` with each newer head of the feed that this node stores: as soon as the
   * writer's head write reaches it, when this node is one of the feed's r head replicas (in a
   * consortium of at most r organizations, every node is). A node that is not a replica gets no
   * calls, so a reader keeps a slow poll of feedHead as well. Works across stop/start; returns
   * the unsubscribe function.
   */
  watchFeed(feedId: Hex, listener: (head: FeedHead) => void): () => void;
  /** At most `limit` entries (capped by maxRangeEntries), oldest first. */
  rangeByTime(feedId: Hex, fromMs: number, toMs: number, limit?: number): Promise<FeedEntry[]>;
  /** The first and last segment indices of [fromMs, toMs] (no segment read); undefined when none meets it. */
  indexRangeByTime(feedId: Hex, fromMs: number, toMs: number): Promise<{ readonly first: number; readonly last: number } | undefined>;
  /** Parties must be known to the registry (a later segment could not be wrapped for an unknown one): DHT_UNKNOWN_PARTY otherwise. */
  updateFeedAcl(feed: Readonly<FeedWriter>, parties: readonly string[]): Promise<{ version: number }>;
  /** The highest verified ACL version of an object id among its replicas (feeds: the feed's objectId). */
  getObjectAcl(objectId: Hex): Promise<AclView>;
  /** Owner-signed update records from..to, verified, in index order (feed anchors, ADR-18). */
  feedUpdateRecords(feedId: Hex, from: number, to: number): Promise<FeedUpdate[]>;
  /** Every different owner-signed update any live candidate holds for one index (equivocation evidence). */
  feedUpdateReplicas(feedId: Hex, index: number): Promise<FeedUpdate[]>;
  /** Runs one repair pass now. */
  repair(): Promise<RepairReport>;
  /** Runs one garbage-collection pass now (removes orphan chunks older than orphanGraceMs). */
  collectGarbage(): Promise<GcReport>;
  status(): DhtNodeStatus;
}

interface Running {
  readonly libp2p: Libp2p;
  readonly datastore: LevelDatastore;
  readonly peerDatastore: PeerDatastore;
  readonly store: LocalStore;
  readonly client: ReplicaClient;
  readonly objects: ObjectService;
  readonly feeds: FeedService;
  readonly repairer: Repairer;
  readonly gc: GarbageCollector;
  readonly bootstrapper: PeriodicPass<number>;
  readonly sessions: StoreSessionPool | undefined;
  readonly data: { readonly server: DataChannelServer; readonly pool: DataChannelPool } | undefined;
  readonly unsubscribe: () => void;
}

export function createDhtNode(init: Readonly<DhtNodeInit>, components: DhtNodeComponents): DhtNode {
  const r = init.replicationFactor ?? 3;
  const k = init.faultTolerance ?? Math.floor((r - 1) / 2);
  const chunkSize = init.chunkSize ?? 1024 * 1024;
  if (!Number.isInteger(r) || r < 1 || !Number.isInteger(k) || k < 0 || r < 2 * k + 1) {
    throw new ValidationError('replicationFactor must be >= 2 * faultTolerance + 1', { details: { replicationFactor: r, faultTolerance: k } });
  }
  if (!Number.isInteger(chunkSize) || chunkSize < 1024 || chunkSize > MAX_CHUNK_SIZE) throw new ValidationError('chunkSize must be 1 KiB..1 MiB');
  for (const [name, v] of [['orphanGraceMs', init.orphanGraceMs], ['gcIntervalMs', init.gcIntervalMs]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new ValidationError(`${name} must be a non-negative integer (ms)`, { details: { [name]: v } });
  }
  const logger = (components.logger ?? silentLogger()).child({ component: 'dht', mspId: init.mspId });
  const metrics: DhtMetrics | undefined = components.metricsRegistry ? createDhtMetrics(components.metricsRegistry) : undefined;
  const { registry } = components;
  const timeout = init.requestTimeoutMs ?? 10_000;
  // What this node stores for others does not depend on its own chunk size: writers may be
  // configured differently (or upgraded at different times), and any valid chunk is accepted.
  const maxChunkBytes = MAX_CHUNK_SIZE + 64;
  const limits: FrameLimits = { maxHeaderBytes: 64 * 1024, maxBodyBytes: Math.max(maxChunkBytes, MAX_MANIFEST_BYTES) };

  let running: Running | undefined;
  let peerId = '';
  /** Feed id -> listeners of heads stored here (watchFeed). */
  const headWatchers = new EventEmitter();
  headWatchers.setMaxListeners(0);
  let ownerKey: SigningKey | undefined;

  const need = (): Running => {
    if (running === undefined) throw new NodeNotStartedError('the DHT node is not started');
    return running;
  };

  const node: DhtNode = {
    get peerId() {
      return peerId;
    },
    mspId: init.mspId,
    get ownerPublicKey() {
      if (ownerKey === undefined) throw new NodeNotStartedError('the DHT node is not started');
      return ownerKey.publicKey;
    },

    async start() {
      if (running !== undefined) return;
      const self = registry.get(init.mspId);
      if (self === undefined) throw new ValidationError('this node\'s MSP id is not in the party registry', { details: { mspId: init.mspId } });
      const encPub = encryptionPublicKeyOf(init.encryptionKey);
      if (Buffer.compare(encPub, self.encryptionPublicKey) !== 0) throw new ValidationError('encryptionKey does not match the registry\'s public key for this party');

      const privateKey = await loadOrCreateIdentity(init.dataDir);
      peerId = peerIdFromPrivateKey(privateKey).toString();
      ownerKey = signingKeyFromSeed(init.ownerKey ?? privateKey.raw.subarray(0, 32));
      const datastore = new LevelDatastore(join(init.dataDir, 'store'));
      // libp2p's peer store reads and rewrites the remote's record on every stream opened: its
      // own small LevelDB (not the chunk store's large tables), cached and written behind.
      const peerDatastore = new PeerDatastore(join(init.dataDir, 'peers'));
      await datastore.open();
      await peerDatastore.open().catch(async (err: unknown) => {
        await datastore.close().catch(() => undefined);
        throw err;
      });
      let data: Running['data'];
      try {
        // Watchers run after the store's write returns, never inside its per-feed lock.
        const store = createLocalStore(datastore, {
          blobDir: join(init.dataDir, 'blobs'),
          onFeedHead: (head) => {
            if (headWatchers.listenerCount(head.feedId) > 0) queueMicrotask(() => headWatchers.emit(head.feedId, head));
          },
        });
        await store.open();
        const libp2p = await createLibp2p({
          privateKey,
          datastore: peerDatastore,
          addresses: { listen: [...(init.listen ?? ['/ip4/127.0.0.1/tcp/0'])] },
          transports: [tcp()],
          connectionEncrypters: [noise()],
          streamMuxers: [yamux()],
          connectionProtector: pskProtector({ swarmKey: init.swarmKey }),
          connectionGater: createPartyConnectionGater(registry, () => peerId),
          services: {
            identify: identify(),
            // kad-dht and the connection monitor both ping; one stream each would make them collide.
            ping: ping({ maxOutboundStreams: 4, maxInboundStreams: 4 }),
            dht: kadDHT({ protocol: init.kadProtocol ?? '/twinledger/kad/1.0.0', clientMode: false, peerInfoMapper: passthroughMapper, allowQueryWithZeroPeers: true }),
          },
          start: false,
        });
        // The replica exemption of the read rule uses the same placement this node writes and
        // repairs with: the first r of its live candidates (what repair targets), or of the whole
        // registry (a replica this node is momentarily not connected to).
        const late: { client?: ReplicaClient } = {}; // the client needs the handler; set right after
        const isReplica = async (peerId: string, key: Hex): Promise<boolean> => {
          const everyone = registry.list().flatMap((p) => p.peerIds.map((id) => ({ peerId: id, mspId: p.mspId })));
          if (orderForKey(key, everyone).slice(0, r).some((c) => c.peerId === peerId)) return true;
          return late.client !== undefined && (await late.client.candidates(key)).slice(0, r).some((c) => c.peerId === peerId);
        };
        const handler = createStoreHandler({ maxChunkBytes }, { store, registry, isReplica, logger: logger.child({ component: 'dht-store' }), ...(metrics ? { metrics } : {}) });
        await libp2p.handle(
          STORE_PROTOCOL,
          async (stream, connection) => {
            const timer = setTimeout(() => stream.abort(new Error('store request timed out')), timeout);
            try {
              let res;
              try {
                res = await handler(connection.remotePeer.toString(), await readFrame(stream, limits));
              } catch (err) {
                res = errorFrame(err, 'read', logger, metrics);
              }
              await writeFrameAndClose(stream, res.header, res.body);
            } catch (err) {
              stream.abort(err instanceof Error ? err : new Error(String(err)));
            } finally {
              clearTimeout(timer);
            }
          },
          { maxInboundStreams: 256, maxOutboundStreams: 256 },
        );
        // Sessions idle out on the serving side well after the requester's own idle close, so a
        // requester never sends on a session the other end is closing.
        const sessionIdleMs = Math.max(30_000, 3 * timeout);
        let sessions: StoreSessionPool | undefined;
        if (init.storeSessions !== false) {
          const storeLogger = logger.child({ component: 'dht-store' });
          await libp2p.handle(
            STORE_SESSION_PROTOCOL,
            (stream, connection) => {
              serveStoreSession(stream, connection.remotePeer.toString(), { limits, idleTimeoutMs: 2 * sessionIdleMs }, { handler, logger: storeLogger, ...(metrics ? { metrics } : {}) });
            },
            { maxInboundStreams: SESSION_MAX_STREAMS, maxOutboundStreams: SESSION_MAX_STREAMS },
          );
          sessions = createStoreSessionPool(
            { responseLimits: limits, idleTimeoutMs: sessionIdleMs, legacyRetryMs: 60_000 },
            { libp2p, logger: logger.child({ component: 'dht-sessions' }) },
          );
        }
        if (init.dataChannel !== false) {
          const listenIp = multiaddr(init.listen?.[0] ?? '/ip4/127.0.0.1/tcp/0').getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')?.value;
          const server = await startDataChannelServer(
            { host: init.dataListen?.host ?? listenIp ?? '127.0.0.1', port: init.dataListen?.port ?? 0, limits, idleTimeoutMs: 2 * sessionIdleMs, offerTimeoutMs: timeout, allOps: init.dataChannelMetadata !== false },
            { libp2p, registry, handler, logger: logger.child({ component: 'dht-data' }) },
          );
          const pool = createDataChannelPool({ limits, idleTimeoutMs: sessionIdleMs, retryMs: 60_000, allOps: init.dataChannelMetadata !== false }, { libp2p, logger: logger.child({ component: 'dht-data' }) });
          data = { server, pool };
        }
        const countPeers = (): number => registry.list().reduce((n, p) => n + p.peerIds.length, 0);
        let registeredPeers = countPeers();
        const client = createReplicaClient(
          { selfPeerId: peerId, selfMspId: init.mspId, requestTimeoutMs: timeout, responseLimits: limits, discoverBelow: r + 1, discoveryIntervalMs: 5000, replicationFactor: r },
          { libp2p: libp2p as never, registry, handler, registeredPeers: () => registeredPeers, logger: logger.child({ component: 'dht-replicas' }), ...(metrics ? { metrics } : {}), ...(sessions ? { sessions } : {}), ...(data ? { data: data.pool } : {}) },
        );
        late.client = client;
        const objects = createObjectService(
          { selfMspId: init.mspId, replicationFactor: r, faultTolerance: k, chunkSize, cipher: init.cipher ?? 'aes-256-gcm', maxObjectBytes: init.maxObjectBytes ?? 1024 ** 3 },
          { client, registry, encryptionKey: { privateKey: init.encryptionKey, publicKey: encPub }, ownerKey, logger: logger.child({ component: 'dht-objects' }), ...(metrics ? { metrics } : {}) },
        );
        const feeds = createFeedService({ replicationFactor: r, faultTolerance: k, maxRangeEntries: init.maxRangeEntries ?? 1000 }, { client, objects, logger: logger.child({ component: 'dht-feeds' }), ...(metrics ? { metrics } : {}) });
        const repairer = createRepairer(
          { selfPeerId: peerId, replicationFactor: r, intervalMs: init.repairIntervalMs ?? 60_000 },
          { store, client, logger: logger.child({ component: 'dht-repair' }), ...(metrics ? { metrics } : {}) },
        );
        const gc = createGarbageCollector(
          { graceMs: init.orphanGraceMs ?? 24 * 3600_000, intervalMs: init.gcIntervalMs ?? 3600_000 },
          { store, logger: logger.child({ component: 'dht-gc' }), ...(metrics ? { metrics } : {}) },
        );
        // A party dropped from the registry loses its open connections too, not only new ones.
        const unsubscribe = registry.subscribe(() => {
          registeredPeers = countPeers();
          for (const c of libp2p.getConnections()) {
            if (registry.partyOf(c.remotePeer.toString()) === undefined) void libp2p.hangUp(c.remotePeer).catch(() => undefined);
          }
          // The data channel is plain TCP beside libp2p: its connections end with the party too.
          const registered = (id: string): boolean => registry.partyOf(id) !== undefined;
          data?.server.closePeers(registered);
          data?.pool.closePeers(registered);
        });
        // A node whose bootstrap dials all failed knows no address to ask, and no other node
        // dials it unless it is in their bootstrap lists: it would stay alone, every write short
        // of its quorum. So unreached bootstrap addresses are dialled until each answered once.
        const unreached = new Set(init.bootstrap ?? []);
        const bootstrapper = createPeriodicPass({ intervalMs: init.bootstrapRetryMs ?? 2000, name: 'bootstrap' }, logger, async () => {
          for (const addr of [...unreached]) {
            try {
              await libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(timeout) });
              unreached.delete(addr);
            } catch (err) {
              logger.warn({ err, addr }, 'bootstrap dial failed');
            }
          }
          if (unreached.size === 0) void bootstrapper.stop();
          return unreached.size;
        });
        await libp2p.start();
        running = { libp2p, datastore, peerDatastore, store, client, objects, feeds, repairer, gc, bootstrapper, sessions, data, unsubscribe };
        nodeInternals.set(node, {
          store,
          client,
          sessions,
          dataPort: data?.server.port,
          dataPeers: () => data?.pool.peers() ?? [],
          resetDataConnections: () => data?.server.closePeers(() => false),
          dialProtocol: (remote, protocol) => libp2p.dialProtocol(peerIdFromString(remote), protocol, { signal: AbortSignal.timeout(timeout) }),
        });
        if ((await bootstrapper.runOnce()) > 0) bootstrapper.start();
        repairer.start();
        gc.start();
        logger.info({ peerId, addrs: node.multiaddrs() }, 'DHT node started');
      } catch (err) {
        await data?.server.close().catch(() => undefined);
        await datastore.close().catch(() => undefined);
        await peerDatastore.close().catch(() => undefined);
        throw err;
      }
    },

    async stop() {
      const rn = running;
      if (rn === undefined) return;
      running = undefined;
      rn.unsubscribe();
      await rn.bootstrapper.stop();
      await rn.repairer.stop();
      await rn.gc.stop();
      rn.sessions?.close();
      rn.data?.pool.close();
      await rn.data?.server.close();
      await rn.libp2p.stop();
      await rn.datastore.close();
      await rn.peerDatastore.close();
      logger.info({ peerId }, 'DHT node stopped');
    },

    isStarted: () => running !== undefined,
    multiaddrs: () => (running?.libp2p.getMultiaddrs() ?? []).map((m) => m.toString()),
    async dial(addr) {
      await need().libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(timeout) });
    },

    putObject: (data, options) => need().objects.putObject(data, options, options?.owner ? signingKeyFromSeed(options.owner) : undefined),
    getObject: (ref) => need().objects.getObject(ref),
    getObjectStream: (ref) => need().objects.getObjectStream(ref),
    openObject: (ref) => need().objects.openObject(ref),
    getManifest: (ref) => need().objects.getManifest(ref),
    getAcl: (ref) => need().objects.getAcl(ref),
    updateAcl: (ref, parties, options) => need().objects.updateAcl(ref, parties, options?.owner ? signingKeyFromSeed(options.owner) : undefined),
    createFeed: (options) => need().feeds.createFeed(options),
    appendFeed: (feed, index, payload, range) => need().feeds.append(feed, index, payload, range),
    feedHead: (feedId) => need().feeds.head(feedId),
    latest: (feedId) => need().feeds.latest(feedId),
    rangeByIndex: (feedId, from, to, options) => need().feeds.rangeByIndex(feedId, from, to, options?.head),
    watchFeed(feedId, listener) {
      const safe = (head: FeedHead): void => {
        try {
          listener(head);
        } catch (err) {
          logger.warn({ err, feedId }, 'feed watcher threw');
        }
      };
      headWatchers.on(feedId, safe);
      return () => void headWatchers.off(feedId, safe);
    },
    rangeByTime: (feedId, from, to, limit) => need().feeds.rangeByTime(feedId, from, to, limit),
    indexRangeByTime: (feedId, from, to) => need().feeds.indexRangeByTime(feedId, from, to),
    feedUpdateRecords: (feedId, from, to) => need().feeds.updateRecords(feedId, from, to),
    feedUpdateReplicas: (feedId, index) => need().feeds.updateReplicas(feedId, index),
    async updateFeedAcl(feed, parties) {
      const rn = need();
      const next = normalizeParties(parties);
      for (const p of next) if (registry.get(p) === undefined) throw new UnknownPartyError('ACL names a party the registry does not know', { details: { mspId: p } });
      return rn.feeds.updateFeedAcl(feed, next);
    },
    async getObjectAcl(objectId) {
      const rec = await need().objects.getAclRecord(objectId);
      return { objectId: rec.objectId, owner: rec.owner, version: rec.version, parties: rec.parties, ...(rec.head ? { head: rec.head } : {}) };
    },
    repair: () => need().repairer.runOnce(),
    collectGarbage: () => need().gc.runOnce(),

    status() {
      const rn = need();
      const peers = rn.libp2p.getPeers().map((p) => ({ peerId: p.toString(), mspId: registry.partyOf(p.toString())?.mspId }));
      const store = rn.store.stats();
      if (metrics) {
        metrics.peers.set(peers.length);
        metrics.storeBytes.set(store.bytes);
        for (const [kind, n] of Object.entries(store)) if (kind !== 'bytes') metrics.storeItems.set({ kind }, n);
      }
      return { peerId, mspId: init.mspId, multiaddrs: node.multiaddrs(), peers, store, replicationFactor: r, faultTolerance: k, lastRepair: rn.repairer.lastReport(), lastGc: rn.gc.lastReport() };
    },
  };
  return node;
}
