import type { Libp2p, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from '@twinledger/observability';
import { isSafeInt } from './codec.js';
import type { TwinLedgerError } from '@twinledger/errors';
import { errorFromWire, MalformedMessageError, PeerRequestError } from './errors.js';
import { createFrameDecoder, writeFrame, type Frame, type FrameLimits, type OutgoingBody } from './framing.js';
import type { DhtMetrics } from './metrics.js';
import { errorFrame, type StoreHandler } from './store-protocol.js';

/**
 * `/twinledger/store/1.1.0`: the store protocol's requests and responses (the same frames,
 * headers and rules as 1.0.0) on one long-lived stream per peer instead of a stream per
 * request. A request header carries `id` (a positive safe integer, unique among the session's
 * open requests); its response carries the same `id`, in any order. ADR-17.
 *
 * Why: a 1.0.0 request costs ~1.3 ms of wall time and ~1.7 ms of CPU across both ends whatever
 * its size (stream open, multistream negotiation, peer-store merge, muxer set-up and tear-down),
 * and a 64 MiB put at r = 3 is ~200 of them. On a session a request costs a frame head.
 *
 * Flow control, both ends, neither trusting the other:
 * - the serving side runs at most SESSION_MAX_INFLIGHT requests at once and stops reading
 *   (yamux then withholds window updates, so the sender's window runs dry) until one finishes;
 *   frames that arrived together wait in order, bounded by the muxer window already granted;
 * - the requesting side keeps at most SESSION_MAX_INFLIGHT requests open per session and queues
 *   the rest, and `send` waits for drain, so a slow replica slows its own writes only.
 * A frame that breaks the framing (oversize prefix, no valid id) ends the session: after a
 * framing error nothing later on the stream can be trusted to start at a frame boundary.
 */
export const STORE_SESSION_PROTOCOL = '/twinledger/store/1.1.0';

/** Requests one session runs (serving side) or keeps open (requesting side) at once. */
export const SESSION_MAX_INFLIGHT = 8;

/**
 * Requests a session may have read but not yet started, beyond the running ones. A requester
 * that keeps to SESSION_MAX_INFLIGHT never has any waiting (the serving side frees a slot before
 * it answers); one that sends far more, in small frames within the window it was granted, is
 * breaking the protocol, and its session ends instead of this node queueing without bound.
 */
export const SESSION_MAX_WAITING = 64;

/** Sessions a peer may hold open to this node at once (per connection). */
export const SESSION_MAX_STREAMS = 4;

export interface StoreSessionServerInit {
  readonly limits: FrameLimits;
  /** A session with nothing received, sent or running for this long is closed (the requester reopens one). */
  readonly idleTimeoutMs: number;
}

export interface StoreSessionServerComponents {
  readonly handler: StoreHandler;
  readonly logger: Logger;
  readonly metrics?: DhtMetrics;
}

/** Serves one inbound session stream until it ends; returns at once (the stream runs on its events). */
export function serveStoreSession(stream: Stream, remotePeerId: string, init: Readonly<StoreSessionServerInit>, components: StoreSessionServerComponents): void {
  const { handler, logger, metrics } = components;
  const decoder = createFrameDecoder(init.limits);
  const waiting: Array<{ id: number; frame: Frame }> = [];
  let running = 0;
  let paused = false;
  /** Set once a frame broke the framing: no frame after it is read. */
  let broken = false;
  /** The session ends once the requests already read are answered (remote closed, or broken). */
  let ending = false;
  let closing = false;
  let failure: Frame | undefined;
  // Responses go out one whole frame at a time, in completion order.
  let writes: Promise<void> = Promise.resolve();
  let idle: NodeJS.Timeout | undefined;

  const touch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      if (running > 0 || waiting.length > 0) return touch();
      void stream.close().catch(() => stream.abort(new Error('idle store session')));
    }, init.idleTimeoutMs);
    idle.unref();
  };

  const respond = (id: number | null, res: Frame): void => {
    writes = writes.then(() => writeFrame(stream, { ...res.header, id }, res.body)).catch((err: unknown) => {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    });
  };

  /**
   * A framing error: nothing after it is read. The requests before it still get their answers;
   * then the error goes out without an id (no request can be named) and the session ends.
   */
  const breakSession = (err: unknown): void => {
    broken = true;
    ending = true;
    failure = errorFrame(err, 'read', logger, metrics);
    maybeEnd();
  };

  const maybeEnd = (): void => {
    if (!ending || running > 0 || waiting.length > 0 || closing) return;
    closing = true;
    if (failure !== undefined) respond(null, failure);
    writes = writes.then(() => stream.close()).catch(() => undefined);
  };

  const pump = (): void => {
    while (running < SESSION_MAX_INFLIGHT && waiting.length > 0) {
      const { id, frame } = waiting.shift()!;
      running++;
      // The handler answers every failure with an error frame; it does not throw.
      void handler(remotePeerId, frame).then((res) => {
        running--;
        if (stream.status === 'open') respond(id, res);
        touch();
        pump();
        maybeEnd();
      });
    }
    const full = running >= SESSION_MAX_INFLIGHT;
    if (full !== paused && stream.status === 'open') {
      paused = full;
      // Once the requester closed its side, the read side refuses pause and resume (and there
      // is nothing more to hold back): that must not throw inside a handler's continuation.
      try {
        if (full) stream.pause();
        else stream.resume();
      } catch (err) {
        logger.debug({ err, remotePeerId }, 'store session read side already closing');
      }
    }
  };

  stream.addEventListener('message', (evt) => {
    if (broken) return;
    touch();
    let frames: Frame[];
    try {
      frames = decoder.push(evt.data);
    } catch (err) {
      return breakSession(err);
    }
    for (const frame of frames) {
      const { id, ...header } = frame.header;
      if (!isSafeInt(id, 1)) {
        breakSession(new MalformedMessageError('session request without a valid id'));
        break;
      }
      if (waiting.length >= SESSION_MAX_WAITING) {
        breakSession(new MalformedMessageError('more requests in flight than the session allows', { details: { max: SESSION_MAX_INFLIGHT } }));
        break;
      }
      waiting.push({ id: id as number, frame: { header, body: frame.body } });
    }
    pump();
  });
  // The requester closes its side of an idle session; this side follows once nothing runs.
  stream.addEventListener('remoteCloseWrite', () => {
    ending = true;
    maybeEnd();
  });
  stream.addEventListener('close', () => {
    clearTimeout(idle);
    broken = true;
    closing = true;
    waiting.length = 0;
  });
  touch();
}

/**
 * Waits until a requester's connection has fewer than `max` requests open (a slot freed calls
 * the next waiter in `queue`), or the request's deadline passes. Shared by the session pool and
 * the data channel pool.
 */
export async function waitForSlot(s: { readonly open: number; readonly queue: Array<() => void> }, max: number, signal: AbortSignal, what: string): Promise<void> {
  while (s.open >= max) {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new PeerRequestError(`store request timed out waiting for a ${what} slot`));
      signal.addEventListener('abort', onAbort, { once: true });
      s.queue.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}

export interface StoreSessionPoolInit {
  readonly responseLimits: FrameLimits;
  /** The requester closes a session unused for this long: before the serving side's idle timeout, so it never races a close. */
  readonly idleTimeoutMs: number;
  /** After a peer refused the session protocol (a node of the previous version), how long to use 1.0.0 before asking again. */
  readonly legacyRetryMs: number;
}

export interface StoreSessionPoolComponents {
  readonly libp2p: Pick<Libp2p, 'dialProtocol'>;
  readonly logger: Logger;
}

export interface StoreSessionPool {
  /**
   * Sends one request on the peer's session (opened on first use) and resolves with its
   * response frame (ok or not: the caller reads the header). Resolves `undefined` when the peer
   * does not speak the session protocol: the caller then uses 1.0.0.
   */
  request(peerId: string, header: Record<string, unknown>, body: OutgoingBody, signal: AbortSignal): Promise<Frame | undefined>;
  /** Peers this node holds an open session to. */
  peers(): string[];
  /** Closes every session (node stop). */
  close(): void;
}

interface Session {
  readonly stream: Stream;
  readonly pending: Map<number, { resolve: (f: Frame) => void; reject: (err: Error) => void }>;
  /** Requests waiting for one of the session's SESSION_MAX_INFLIGHT slots. */
  readonly queue: Array<() => void>;
  /** Request frames go out whole, one after another (a frame's pieces wait for drain). */
  writes: Promise<void>;
  open: number;
  nextId: number;
  idle?: NodeJS.Timeout;
  /** Why the session ended, when the serving side said (its requests still open fail with it). */
  failure?: TwinLedgerError;
}

export function createStoreSessionPool(init: Readonly<StoreSessionPoolInit>, components: StoreSessionPoolComponents): StoreSessionPool {
  const { libp2p, logger } = components;
  const live = new Map<string, Session>();
  const opening = new Map<string, Promise<Session | undefined>>();
  const legacyUntil = new Map<string, number>();

  function drop(peerId: string, s: Session): void {
    if (live.get(peerId) === s) live.delete(peerId);
  }

  function idleTimer(peerId: string, s: Session): void {
    clearTimeout(s.idle);
    if (s.open > 0) return;
    s.idle = setTimeout(() => {
      if (s.open > 0) return;
      drop(peerId, s);
      void s.stream.close().catch(() => s.stream.abort(new Error('idle store session')));
    }, init.idleTimeoutMs);
    s.idle.unref();
  }

  async function open(peerId: string, signal: AbortSignal): Promise<Session | undefined> {
    let stream: Stream;
    try {
      stream = await libp2p.dialProtocol(peerIdFromString(peerId), STORE_SESSION_PROTOCOL, { signal });
    } catch (cause) {
      if (cause instanceof Error && cause.name === 'UnsupportedProtocolError') {
        // A node of the previous version (rolling upgrade): per-request streams for a while.
        legacyUntil.set(peerId, Date.now() + init.legacyRetryMs);
        logger.debug({ peerId }, 'peer does not speak the store session protocol; using 1.0.0');
        return undefined;
      }
      throw new PeerRequestError('cannot open a store session', { cause, details: { peerId } });
    }
    const s: Session = { stream, pending: new Map(), queue: [], writes: Promise.resolve(), open: 0, nextId: 1 };
    const decoder = createFrameDecoder(init.responseLimits);
    stream.addEventListener('message', (evt) => {
      let frames: Frame[];
      try {
        frames = decoder.push(evt.data);
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      for (const f of frames) {
        const { id, ...header } = f.header;
        const p = typeof id === 'number' ? s.pending.get(id) : undefined;
        if (p === undefined) {
          // The serving side's answer to a frame that broke the framing (no id): it answered
          // every request before that frame, so the requests still open are that one and those
          // sent after it, and they fail with its code. Any other unknown id: the two ends
          // disagree about the stream, and it is unusable.
          const code = typeof header['code'] === 'string' ? header['code'] : undefined;
          s.failure = id === null && header['ok'] === false && code !== undefined
            ? errorFromWire(code, typeof header['message'] === 'string' ? header['message'] : 'store session ended', { peerId })
            : new PeerRequestError('store session broke: a response to no request', { details: { peerId } });
          stream.abort(s.failure);
          return;
        }
        s.pending.delete(id as number);
        p.resolve({ header, body: f.body });
      }
    });
    stream.addEventListener('close', (evt) => {
      drop(peerId, s);
      clearTimeout(s.idle);
      const err = s.failure ?? new PeerRequestError('store session closed', { ...(evt.error ? { cause: evt.error } : {}), details: { peerId } });
      for (const p of s.pending.values()) p.reject(err);
      s.pending.clear();
      for (const next of s.queue.splice(0)) next();
    });
    live.set(peerId, s);
    return s;
  }

  function session(peerId: string, signal: AbortSignal): Promise<Session | undefined> {
    const s = live.get(peerId);
    if (s !== undefined) return Promise.resolve(s);
    let p = opening.get(peerId);
    if (p === undefined) {
      p = open(peerId, signal).finally(() => opening.delete(peerId));
      opening.set(peerId, p);
    }
    return p;
  }

  async function slot(s: Session, signal: AbortSignal): Promise<void> {
    await waitForSlot(s, SESSION_MAX_INFLIGHT, signal, 'session');
    if (s.stream.status !== 'open') throw new PeerRequestError('store session closed');
  }

  return {
    async request(peerId, header, body, signal) {
      if ((legacyUntil.get(peerId) ?? 0) > Date.now()) return undefined;
      const s = await session(peerId, signal);
      if (s === undefined) return undefined;
      await slot(s, signal);
      s.open++;
      clearTimeout(s.idle);
      const id = s.nextId++;
      try {
        return await new Promise<Frame>((resolve, reject) => {
          // A request that outlives its deadline leaves the session in doubt (the replica or the
          // stream is stuck): end it, so later requests start on a fresh one.
          const onAbort = (): void => s.stream.abort(new PeerRequestError('store request timed out', { details: { peerId } }));
          signal.addEventListener('abort', onAbort, { once: true });
          const settle = (): void => signal.removeEventListener('abort', onAbort);
          s.pending.set(id, {
            resolve: (f) => {
              settle();
              resolve(f);
            },
            reject: (err) => {
              settle();
              reject(err);
            },
          });
          s.writes = s.writes
            .then(() => writeFrame(s.stream, { ...header, id }, body, { signal }))
            .catch((err: unknown) => s.stream.abort(err instanceof Error ? err : new Error(String(err))));
        });
      } finally {
        s.open--;
        s.queue.shift()?.();
        idleTimer(peerId, s);
      }
    },
    peers: () => [...live.keys()],
    close() {
      for (const s of live.values()) s.stream.abort(new Error('node stopping'));
      live.clear();
    },
  };
}
