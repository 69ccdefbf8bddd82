import type { Libp2p } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { isTwinLedgerError, type TwinLedgerError } from '@twinledger/errors';
import type { Logger } from '@twinledger/observability';
import { concat, type Hex } from './codec.js';
import { errorFromWire, ItemNotFoundError, PeerRequestError, QuorumNotReachedError } from './errors.js';
import { readFrame, writeFrameAndClose, type Frame, type FrameLimits, type OutgoingBody } from './framing.js';
import type { PartyRegistry } from './party-registry.js';
import { orderForKey, type PlacementCandidate } from './placement.js';
import { quorumLatch } from './latch.js';
import type { DhtMetrics } from './metrics.js';
import { STORE_OPS, STORE_PROTOCOL, type StoreHandler } from './store-protocol.js';
import type { StoreSessionPool } from './store-session.js';
import type { DataChannelPool } from './data-channel.js';

/**
 * The requesting side of the store protocol, plus replica selection: which peers an item
 * belongs on (kad-dht discovery + placement order) and the two access patterns built on
 * that: write to the first r reachable replicas, read from the first replica that answers
 * with verified data.
 */
export interface ReplicaClientComponents {
  readonly libp2p: Libp2p<{ dht: { getClosestPeers(key: Uint8Array, options?: { signal?: AbortSignal }): AsyncIterable<unknown> } }>;
  readonly registry: PartyRegistry;
  readonly handler: StoreHandler;
  readonly logger: Logger;
  readonly metrics?: DhtMetrics;
  /**
   * How many peer ids the registry holds, kept by the owner of the registry subscription: it
   * only changes with the registry, and candidates() runs on every store request.
   */
  readonly registeredPeers: () => number;
  /**
   * Long-lived store sessions (`/twinledger/store/1.1.0`), used for every remote request when
   * present; a peer that does not speak them gets 1.0.0 (a stream per request). Absent: 1.0.0 only.
   */
  readonly sessions?: StoreSessionPool;
  /**
   * Data connections (`/twinledger/store/1.2.0`, ADR-21) for chunk bodies (put-chunk, get-blob of
   * a chunk) to peers that offer one; everything else, and any chunk request whose data
   * connection fails, goes on the control path above. Absent: the control path only.
   */
  readonly data?: DataChannelPool;
}

export interface ReplicaClientInit {
  readonly selfPeerId: string;
  readonly selfMspId: string;
  readonly requestTimeoutMs: number;
  readonly responseLimits: FrameLimits;
  /** Query kad-dht for more candidates when fewer than this many peers are connected (r + 1). */
  readonly discoverBelow: number;
  /** At most one closest-peers query per this many ms. */
  readonly discoveryIntervalMs: number;
  /** r: a read tries this node first when it is one of the first r candidates (it then likely holds the item). */
  readonly replicationFactor: number;
}

export interface WriteOptions {
  /**
   * Resolve as soon as `required` replicas acknowledged; the rest of the `want` copies are still
   * sent (failures are logged, the repair loop tops them up). For latency-critical writes (feed
   * appends), where waiting for the slowest replica of every round trip is the tail.
   */
  readonly atQuorum?: boolean;
}

export interface WriteOutcome {
  readonly acked: readonly string[];
  readonly errors: ReadonlyArray<{ peerId: string; error: TwinLedgerError }>;
}

export interface RequestOptions {
  /**
   * SHA-256 (hex) of `body`, computed by the caller from these bytes (the writer that sealed a
   * chunk). A request to this node's own store then skips hashing the chunk again; remote peers
   * always hash what they receive.
   */
  readonly bodyHash?: Hex;
}

export interface ReplicaClient {
  /** `body` may be pieces (a sealed chunk): they are sent, or handed to this node's own store, without joining them. */
  request(peerId: string, header: Record<string, unknown>, body?: OutgoingBody, options?: RequestOptions): Promise<Frame>;
  /** Live candidates (self and connected or discovered consortium peers) in placement order. */
  candidates(key: Hex): Promise<PlacementCandidate[]>;
  /**
   * Sends to candidates in order, in waves, until `want` acknowledged; fails with
   * QuorumNotReachedError below `required` (unless an error is decisive for every peer,
   * e.g. a stale ACL version, which is rethrown).
   */
  write(key: Hex, want: number, required: number, send: (peerId: string) => Promise<void>, order?: readonly string[], options?: WriteOptions): Promise<WriteOutcome>;
  /** Tries peers in readOrder(order) until `fetch` returns; rethrows the most telling error otherwise. */
  read<T>(order: readonly string[], fetch: (peerId: string) => Promise<T>, onFallback?: (err: TwinLedgerError) => void): Promise<T>;
  /** `order` with this node first when it is among the first r: its own store answers without a network round trip. */
  readOrder(order: readonly string[]): readonly string[];
}

function toCoded(err: unknown, peerId: string): TwinLedgerError {
  if (isTwinLedgerError(err)) return err;
  return new PeerRequestError('peer request failed', { cause: err, details: { peerId } });
}

/** Codes that mean "this peer answered, and the answer is final for the item" rank above transport errors. */
const RANK: Record<string, number> = { DHT_ACL_DENIED: 5, DHT_ACL_STALE_VERSION: 5, DHT_FEED_REPLAY: 5, DHT_BINDING_CONFLICT: 4, DHT_NO_KEY_FOR_PARTY: 4, DHT_INTEGRITY_FAILED: 3, DHT_NOT_FOUND: 2 };

export function createReplicaClient(init: Readonly<ReplicaClientInit>, components: ReplicaClientComponents): ReplicaClient {
  const { libp2p, registry, handler, logger, metrics, registeredPeers, sessions, data } = components;

  async function request(peerId: string, header: Record<string, unknown>, body: OutgoingBody = new Uint8Array(), options: RequestOptions = {}): Promise<Frame> {
    const started = performance.now();
    try {
      return await requestOnce(peerId, header, body, options);
    } finally {
      const op = typeof header['op'] === 'string' && STORE_OPS.has(header['op']) ? header['op'] : 'invalid';
      metrics?.clientRequestSeconds.observe({ op, target: peerId === init.selfPeerId ? 'local' : 'remote' }, (performance.now() - started) / 1000);
    }
  }

  async function requestOnce(peerId: string, header: Record<string, unknown>, body: OutgoingBody, options: RequestOptions): Promise<Frame> {
    let res: Frame;
    if (peerId === init.selfPeerId) {
      // Pieces go to this node's own store as they are (a put-chunk writes them to its file with
      // one writev); every other op reads one body.
      const local = body instanceof Uint8Array ? { body } : header['op'] === 'put-chunk' ? { body: new Uint8Array(), bodyPieces: body } : { body: concat(...body) };
      res = await handler(peerId, { header: JSON.parse(JSON.stringify(header)) as Record<string, unknown>, ...local, ...(options.bodyHash !== undefined ? { bodyHash: options.bodyHash } : {}) });
    } else {
      const signal = AbortSignal.timeout(init.requestTimeoutMs);
      const viaData = data === undefined ? undefined : await dataRequest(data, peerId, header, body, signal);
      const viaSession = viaData ?? (sessions === undefined ? undefined : await sessionRequest(sessions, peerId, header, body, signal));
      res = viaSession ?? (await streamRequest(peerId, header, body, signal));
    }
    if (res.header['ok'] !== true) {
      const code = typeof res.header['code'] === 'string' ? res.header['code'] : 'DHT_PEER_FAILED';
      const message = typeof res.header['message'] === 'string' ? res.header['message'] : 'remote error';
      const details = typeof res.header['details'] === 'object' && res.header['details'] !== null ? (res.header['details'] as Record<string, unknown>) : undefined;
      throw errorFromWire(code, message, { ...details, peerId });
    }
    return res;
  }

  /**
   * A chunk request on the data channel. A data connection that failed under it (closed, a frame
   * that did not authenticate, a body not matching its address) answers nothing: the request
   * goes again on the control path (chunk writes are idempotent, reads verified), never
   * counted as an answer of the peer.
   */
  async function dataRequest(pool: DataChannelPool, peerId: string, header: Record<string, unknown>, body: OutgoingBody, signal: AbortSignal): Promise<Frame | undefined> {
    try {
      return await pool.request(peerId, header, body, signal);
    } catch (err) {
      logger.debug({ err, peerId, op: header['op'] }, 'data channel request failed; retrying on the control path');
      return undefined;
    }
  }

  async function sessionRequest(pool: StoreSessionPool, peerId: string, header: Record<string, unknown>, body: OutgoingBody, signal: AbortSignal): Promise<Frame | undefined> {
    try {
      return await pool.request(peerId, header, body, signal);
    } catch (cause) {
      throw isTwinLedgerError(cause) ? cause : new PeerRequestError('store request failed', { cause, details: { peerId } });
    }
  }

  /** `/twinledger/store/1.0.0`: one stream per request (peers of the previous version). */
  async function streamRequest(peerId: string, header: Record<string, unknown>, body: OutgoingBody, signal: AbortSignal): Promise<Frame> {
    let stream;
    try {
      stream = await libp2p.dialProtocol(peerIdFromString(peerId), STORE_PROTOCOL, { signal });
    } catch (cause) {
      throw new PeerRequestError('cannot open a store stream', { cause, details: { peerId } });
    }
    const s = stream;
    const onAbort = (): void => s.abort(new Error('request timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await writeFrameAndClose(s, header, body, { signal });
      return await readFrame(s, init.responseLimits);
    } catch (cause) {
      s.abort(cause instanceof Error ? cause : new Error(String(cause)));
      throw isTwinLedgerError(cause) ? cause : new PeerRequestError('store request failed', { cause, details: { peerId } });
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Discovery is rate-limited: in a consortium smaller than r + 1 nodes (three organizations,
   * say) every request is "below the threshold", and a closest-peers query per request cost
   * 50-200 ms on each head read, update read and write of a feed append. Consortium peers found
   * by a query stay connected (and so show in getPeers), so one query per interval is enough; a
   * request waits for it only when the live peers cannot hold r copies.
   */
  let discovery: Promise<void> | undefined;
  let lastDiscovery = Number.NEGATIVE_INFINITY;

  function discover(key: Hex): Promise<void> {
    if (discovery !== undefined) return discovery;
    if (Date.now() - lastDiscovery < init.discoveryIntervalMs) return Promise.resolve();
    discovery = (async () => {
      try {
        const signal = AbortSignal.timeout(Math.min(3000, init.requestTimeoutMs));
        // Draining the query is the point: it dials the consortium peers it finds.
        for await (const ev of libp2p.services.dht.getClosestPeers(new TextEncoder().encode(key), { signal })) void ev;
      } catch (err) {
        logger.debug({ err }, 'closest-peer query ended early');
      } finally {
        lastDiscovery = Date.now();
        discovery = undefined;
      }
    })();
    return discovery;
  }

  /**
   * The connected peers, rebuilt only when a connection opens or closes: candidates() runs for
   * every item a put, read or feed append touches, and listing libp2p's peers each time was
   * ~1 ms of a feed append's CPU (issue #25).
   */
  let live: ReadonlySet<string> | undefined;
  const forget = (): void => {
    live = undefined;
  };
  libp2p.addEventListener('connection:open', forget);
  libp2p.addEventListener('connection:close', forget);
  function liveIds(): ReadonlySet<string> {
    if (live === undefined) {
      const ids = new Set<string>([init.selfPeerId]);
      for (const p of libp2p.getPeers()) ids.add(p.toString());
      live = ids;
    }
    return live;
  }

  async function candidates(key: Hex): Promise<PlacementCandidate[]> {
    let ids = liveIds();
    if (ids.size < init.discoverBelow) {
      const found = discover(key);
      if (ids.size < init.discoverBelow - 1) {
        await found;
        ids = liveIds();
      }
    }
    const out: PlacementCandidate[] = [];
    for (const id of ids) {
      const party = id === init.selfPeerId ? registry.get(init.selfMspId) : registry.partyOf(id);
      if (party !== undefined) out.push({ peerId: id, mspId: party.mspId });
    }
    // A node connected to only part of the consortium sees another placement than the writer
    // did, and may ask none of an item's holders (a late starter whose bootstrap dials were
    // refused). While registered peers are missing, look for them in the background (at most
    // once per interval): the query on this key dials the peers closest to it, its holders.
    if (out.length < registeredPeers()) void discover(key);
    return orderForKey(key, out);
  }

  async function write(
    key: Hex,
    want: number,
    required: number,
    send: (peerId: string) => Promise<void>,
    order?: readonly string[],
    options: WriteOptions = {},
  ): Promise<WriteOutcome> {
    const queue = [...(order ?? (await candidates(key)).map((c) => c.peerId))];
    const acked: string[] = [];
    const errors: Array<{ peerId: string; error: TwinLedgerError }> = [];
    const latch = quorumLatch(required);
    const all = (async () => {
      while (acked.length < want && queue.length > 0) {
        const wave = queue.splice(0, want - acked.length);
        await Promise.all(
          wave.map(async (peerId) => {
            try {
              await send(peerId);
              acked.push(peerId);
              latch.success();
            } catch (err) {
              errors.push({ peerId, error: toCoded(err, peerId) });
            }
          }),
        );
      }
      return settleWrite(acked, errors, required);
    })();
    if (options.atQuorum !== true) return all;
    all.catch((err: unknown) => logger.debug({ err, key }, 'replica write round failed (the caller already has its answer when the quorum was reached)'));
    return Promise.race([latch.reached.then(() => ({ acked: [...acked], errors: [...errors] })), all]);
  }

  function settleWrite(acked: string[], errors: Array<{ peerId: string; error: TwinLedgerError }>, required: number): WriteOutcome {
    if (errors.length > 0 && acked.length >= required) logger.debug({ errors: errors.map((e) => e.error.code) }, 'some replicas missed a write; repair tops them up');
    if (acked.length < required) {
      const decisive = errors.map((e) => e.error).sort((a, b) => (RANK[b.code] ?? 0) - (RANK[a.code] ?? 0))[0];
      if (decisive !== undefined && (RANK[decisive.code] ?? 0) >= 4) throw decisive;
      throw new QuorumNotReachedError('too few replicas acknowledged', {
        details: { acked: acked.length, required, errors: errors.map((e) => e.error.code) },
      });
    }
    return { acked, errors };
  }

  function readOrder(order: readonly string[]): readonly string[] {
    const i = order.indexOf(init.selfPeerId);
    return i > 0 && i < init.replicationFactor ? [order[i]!, ...order.slice(0, i), ...order.slice(i + 1)] : order;
  }

  async function read<T>(order: readonly string[], fetch: (peerId: string) => Promise<T>, onFallback?: (err: TwinLedgerError) => void): Promise<T> {
    let best: TwinLedgerError | undefined;
    // Every answer is verified (hashes, signatures, AEAD), so the local copy is as good as any
    // replica's, and reading it costs no other node anything.
    for (const peerId of readOrder(order)) {
      try {
        return await fetch(peerId);
      } catch (err) {
        const coded = toCoded(err, peerId);
        onFallback?.(coded);
        if (best === undefined || (RANK[coded.code] ?? 0) > (RANK[best.code] ?? 0)) best = coded;
      }
    }
    throw best ?? new ItemNotFoundError('no replica is reachable');
  }

  return { request, candidates, write, read, readOrder };
}
