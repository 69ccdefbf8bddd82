import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Libp2p, StreamHandler } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from '@twinledger/observability';
import { fromUtf8, isHash, isRecord, isSafeInt, sha256, toHex, utf8 } from './codec.js';
import { IntegrityError, MalformedMessageError, MessageTooLargeError, PeerRequestError, UnknownPartyError } from './errors.js';
import { bodyLength, bodyPieces, readFrame, writeFrameAndClose, type Frame, type FrameLimits, type OutgoingBody } from './framing.js';
import type { PartyRegistry } from './party-registry.js';
import type { StoreHandler } from './store-protocol.js';
import { waitForSlot } from './store-session.js';

/**
 * `/twinledger/store/1.2.0`: sealed chunk bodies travel on a plain TCP connection per node pair
 * (the data channel) instead of through noise + pnet; everything else stays on libp2p. ADR-21.
 *
 * - Offer (over libp2p, noise-authenticated, pnet-protected): the requester opens a 1.2.0 stream;
 *   a serving node that knows the requester's party answers `{ port, offer, keys }`: a one-time
 *   16-byte offer id and two fresh 32-byte keys (requests, responses), bound here to the
 *   requester's libp2p peer id. Only the two noise endpoints ever see the keys.
 * - Data connection: the requester dials the peer's IP (that of its libp2p connection) at the
 *   announced port and sends the offer id; the offer is consumed (one use, short expiry). Every
 *   frame after it is `u32be sealedHeaderLength || sealedHeader || body`: the header (JSON: id,
 *   body length, op and fields, or the response) is ChaCha20-Poly1305 under the direction's key
 *   with a counter nonce (no replay, reorder or injection: the next header fails to open), with
 *   the length prefix as associated data. The first header must open, or the connection is
 *   refused: an offer id seen on the wire is worth nothing without the key.
 * - Bodies travel raw: a chunk is AES-256-GCM sealed by its writer and named by SHA-256 of its
 *   sealed bytes, and the authenticated header names that hash. The serving side's put-chunk
 *   refuses a body that does not hash to it (store-protocol.ts), the requesting side a get-blob
 *   body that does not. So an on-path attacker can delay, drop or corrupt, never substitute.
 * - Only put-chunk and get-blob of chunks are served here; the request runs through the same
 *   handler as on libp2p, as the peer the offer was issued to (same registry and ACL checks).
 * - Any failure (a header that does not open, a broken frame, a body that does not match) ends
 *   the data connection; the requester's open requests fail and go to the control path.
 */
export const STORE_DATA_PROTOCOL = '/twinledger/store/1.2.0';

/**
 * `/twinledger/store/1.3.0`: the same data connection, offered the same way, carrying every store
 * op, not only chunk bodies (ADR-23). Every request and response body that is not a sealed chunk
 * (a manifest) is sealed like the headers: ChaCha20-Poly1305 under the direction's key with the
 * next counter nonce, so the connection gives metadata what noise gave it (only the two offer
 * endpoints can read, forge, replay or reorder it), at the cost of one native AEAD call instead of
 * libp2p's per-message work (a yamux frame and a window update each way, each through the noise
 * cipher and the pnet stream cipher in JavaScript), which was most of a feed append's CPU.
 * A connection set up through a 1.2.0 offer still carries chunk bodies only (the previous version's
 * rule), so a node of either version works with the other during a rolling upgrade.
 */
export const STORE_DATA_ALL_PROTOCOL = '/twinledger/store/1.3.0';

const OFFER_ID_BYTES = 16;
const KEY_BYTES = 32;
const TAG_BYTES = 16;
const MAX_SEALED_HEADER = 64 * 1024 + TAG_BYTES;
/** An offer not used within this long is forgotten. */
const OFFER_TTL_MS = 30_000;
/** Offers a peer may hold unused at once: one per data connection it is setting up. */
const MAX_OFFERS_PER_PEER = 4;
/**
 * Towards a 1.2.0 connection, chunk writes with smaller bodies stay on the control path (on 1.3.0
 * the data connection is the only one, and everything goes there): what the data channel saves is
 * per-byte transport work, nothing for a feed segment of a few KiB, while a second connection per
 * request costs its own header seal and socket writes. The bench's feed appends (4 KiB segments)
 * ran at 95/s with them on the data channel and 100/s on the session (bench/RESULTS.md, session
 * 15). The same bound as the store's files (local-store.ts FILE_MIN_BYTES).
 */
export const DATA_MIN_PUT_BYTES = 64 * 1024;
/** The requesting side's socket read buffer, reused for every read of a connection. */
const READ_BUFFER_BYTES = 256 * 1024;
/** Requests one data connection runs (serving side) or keeps open (requesting side) at once. */
export const DATA_MAX_INFLIGHT = 8;

/** The store ops the data channel carries: those whose body is a content-addressed sealed chunk. */
export function isDataOp(header: Record<string, unknown>): boolean {
  return header['op'] === 'put-chunk' || (header['op'] === 'get-blob' && header['kind'] === 'chunk');
}

/** Associated data of a sealed body: a body never opens as a header, nor a header as a body. */
const BODY_AAD = Buffer.from('twinledger/data-body/v1');

/** One direction's sealing: a key and a counter nonce that never repeats under it. */
export class HeaderSealer {
  private counter = 0n;
  constructor(private readonly key: Buffer) {}

  private nonce(): Buffer {
    const n = Buffer.alloc(12);
    n.writeBigUInt64BE(this.counter++, 4);
    return n;
  }

  seal(header: Record<string, unknown>): Buffer {
    const plain = Buffer.from(utf8(JSON.stringify(header)));
    // Checked before a nonce is taken: the caller may still send the request another way.
    if (plain.byteLength + TAG_BYTES > MAX_SEALED_HEADER) throw new MessageTooLargeError('data channel header exceeds the size limit', { details: { bytes: plain.byteLength } });
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(plain.byteLength + TAG_BYTES);
    const c = createCipheriv('chacha20-poly1305', this.key, this.nonce(), { authTagLength: TAG_BYTES });
    c.setAAD(prefix, { plaintextLength: plain.byteLength });
    return Buffer.concat([prefix, c.update(plain), c.final(), c.getAuthTag()]);
  }

  /** Seals a body (its pieces in order) with the next nonce: ciphertext then tag, `TAG_BYTES` longer. */
  sealBody(pieces: readonly Uint8Array[]): Buffer[] {
    const c = createCipheriv('chacha20-poly1305', this.key, this.nonce(), { authTagLength: TAG_BYTES });
    c.setAAD(BODY_AAD, { plaintextLength: pieces.reduce((n, p) => n + p.byteLength, 0) });
    const out: Buffer[] = [];
    for (const p of pieces) if (p.byteLength > 0) out.push(c.update(p));
    out.push(c.final(), c.getAuthTag());
    return out;
  }

  /** Opens a body sealed by `sealBody` (the nonce after its header's); throws on any tampering. */
  openBody(sealed: Buffer): Buffer {
    return this.decrypt(BODY_AAD, sealed, 'body');
  }

  /** Opens a sealed header (without its prefix); throws on any tampering, replay or reorder. */
  open(prefix: Buffer, sealed: Buffer): Record<string, unknown> {
    const h: unknown = JSON.parse(fromUtf8(this.decrypt(prefix, sealed, 'header')));
    if (!isRecord(h)) throw new MalformedMessageError('data channel header is not an object');
    return h;
  }

  /** Ciphertext-then-tag under the next nonce and `aad`; the one place a frame part is authenticated. */
  private decrypt(aad: Buffer, sealed: Buffer, what: 'header' | 'body'): Buffer {
    if (sealed.byteLength < TAG_BYTES) throw new MalformedMessageError(`data channel ${what} too short`);
    const d = createDecipheriv('chacha20-poly1305', this.key, this.nonce(), { authTagLength: TAG_BYTES });
    d.setAAD(aad, { plaintextLength: sealed.byteLength - TAG_BYTES });
    d.setAuthTag(sealed.subarray(sealed.byteLength - TAG_BYTES));
    try {
      return Buffer.concat([d.update(sealed.subarray(0, sealed.byteLength - TAG_BYTES)), d.final()]);
    } catch (cause) {
      throw new IntegrityError(`data channel ${what} does not authenticate`, { cause });
    }
  }
}

/**
 * Splits a data connection's bytes into (header, body) frames. Each body gets one buffer of its
 * own, allocated once its header has opened, and incoming bytes are copied straight into it: the
 * bytes handed to `push` are never kept, so a socket may read into one reused buffer (`onread`)
 * instead of allocating 64 KiB per read (issue #25: large short-lived buffers were a fifth of a
 * 64 MiB read's CPU, in garbage collection).
 */
export class FrameReader {
  /** Prefix and sealed header bytes gathered so far (small). */
  private head: Buffer = Buffer.alloc(0);
  private prefix: Buffer | undefined;
  private header: Record<string, unknown> | undefined;
  private body: Buffer | undefined;
  private filled = 0;
  private broken = false;

  constructor(private readonly sealer: HeaderSealer, private readonly maxBodyBytes: number) {}

  /**
   * The frames `data` completes, and what broke the framing or the sealing after them, if
   * anything (the connection then ends: nothing after it can be trusted). Frames before the
   * break were authenticated and are served. `data` may be reused by the caller afterwards.
   */
  push(data: Buffer): { frames: Array<{ header: Record<string, unknown>; body: Buffer }>; error?: unknown } {
    const out: Array<{ header: Record<string, unknown>; body: Buffer }> = [];
    if (this.broken) return { frames: out };
    try {
      this.drain(data, out);
    } catch (error) {
      this.broken = true;
      this.head = Buffer.alloc(0);
      this.body = undefined;
      return { frames: out, error };
    }
    return { frames: out };
  }

  /** Copies up to `n` bytes of `data` from `o` onto the gathered head; returns the bytes taken. */
  private gather(data: Buffer, o: number, n: number): number {
    const k = Math.min(n - this.head.byteLength, data.byteLength - o);
    this.head = Buffer.concat([this.head, data.subarray(o, o + k)]);
    return k;
  }

  private drain(data: Buffer, out: Array<{ header: Record<string, unknown>; body: Buffer }>): void {
    let o = 0;
    for (;;) {
      if (this.prefix === undefined) {
        o += this.gather(data, o, 4);
        if (this.head.byteLength < 4) return;
        this.prefix = this.head;
        this.head = Buffer.alloc(0);
        if (this.prefix.readUInt32BE(0) > MAX_SEALED_HEADER) throw new MalformedMessageError('data channel header exceeds the size limit');
      }
      if (this.header === undefined) {
        o += this.gather(data, o, this.prefix.readUInt32BE(0));
        if (this.head.byteLength < this.prefix.readUInt32BE(0)) return;
        const header = this.sealer.open(this.prefix, this.head);
        this.head = Buffer.alloc(0);
        const len = header['len'];
        const sealed = header['sealed'];
        if (sealed !== undefined && sealed !== true) throw new MalformedMessageError('data channel header field sealed must be true when present');
        // A sealed body carries its tag; an empty body is never sealed.
        const max = this.maxBodyBytes + (sealed === true ? TAG_BYTES : 0);
        if (!isSafeInt(len, 0) || (len as number) > max || (sealed === true && (len as number) <= TAG_BYTES)) throw new MalformedMessageError('data channel body length is invalid');
        this.header = header;
        this.body = Buffer.allocUnsafe(len as number);
        this.filled = 0;
      }
      const body = this.body!;
      const k = Math.min(body.byteLength - this.filled, data.byteLength - o);
      if (k > 0) data.copy(body, this.filled, o, o + k);
      this.filled += k;
      o += k;
      if (this.filled < body.byteLength) return;
      // The body's nonce follows its header's: opened here, in arrival order, like the headers.
      out.push({ header: this.header, body: this.header['sealed'] === true ? this.sealer.openBody(body) : body });
      this.prefix = undefined;
      this.header = undefined;
      this.body = undefined;
      if (o >= data.byteLength) return;
    }
  }
}

/** Sockets corked until the current tick's work is done. */
const corked = new WeakSet<Socket>();

/**
 * Holds a socket's writes until this tick's microtasks have run: the frames an append sends one
 * peer at once (chunk, manifest, locator) then leave in one writev, not a system call each.
 */
function corkForTick(socket: Socket): void {
  if (corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  process.nextTick(() => {
    corked.delete(socket);
    socket.uncork();
  });
}

/**
 * Sends one frame: the sealed header, then the body, in the tick's writev (corkForTick). A chunk
 * body (already sealed by its writer, named by its hash) goes raw and is not copied; with
 * `sealBody` any other non-empty body is sealed after the header, under the next nonce.
 */
export function sendFrame(socket: Socket, sealer: HeaderSealer, header: Record<string, unknown>, body: OutgoingBody, sealBody = false): boolean {
  const n = bodyLength(body);
  const sealed = sealBody && n > 0;
  const head = sealer.seal(sealed ? { ...header, len: n + TAG_BYTES, sealed: true } : { ...header, len: n });
  const pieces = sealed ? sealer.sealBody(bodyPieces(body)) : bodyPieces(body);
  corkForTick(socket);
  let more = socket.write(head);
  for (const piece of pieces) if (piece.byteLength > 0) more = socket.write(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
  return more;
}

interface Offer {
  readonly peerId: string;
  /** Issued on 1.3.0: the connection carries every store op, not only chunk bodies. */
  readonly all: boolean;
  readonly requestKey: Buffer;
  readonly responseKey: Buffer;
  readonly expires: number;
}

export interface DataChannelServerInit {
  readonly host: string;
  readonly port: number;
  readonly limits: FrameLimits;
  /** A data connection with nothing received or running for this long is closed. */
  readonly idleTimeoutMs: number;
  /** How long an offer stream may take (the node's request timeout). */
  readonly offerTimeoutMs: number;
  /** Whether offers are also made on 1.3.0 (every store op on the data connection); default true. */
  readonly allOps?: boolean;
}

export interface DataChannelServerComponents {
  readonly libp2p: Pick<Libp2p, 'handle'>;
  readonly registry: PartyRegistry;
  readonly handler: StoreHandler;
  readonly logger: Logger;
}

export interface DataChannelServer {
  /** The TCP port the data channel listens on (announced in offers). */
  readonly port: number;
  /**
   * Closes the data connections (and forgets the offers) of peers `keep` refuses: a party that
   * left the registry loses its data connections at once, as its libp2p connections.
   */
  closePeers(keep: (peerId: string) => boolean): void;
  close(): Promise<void>;
}

/** Listens for data connections and answers offers on `/twinledger/store/1.2.0` and 1.3.0. */
export async function startDataChannelServer(init: Readonly<DataChannelServerInit>, components: DataChannelServerComponents): Promise<DataChannelServer> {
  const { registry, handler, logger } = components;
  const offers = new Map<string, Offer>();
  /** Open data connections, with the peer each serves once its offer was used. */
  const sockets = new Map<Socket, string | undefined>();

  const sweep = (): void => {
    const now = Date.now();
    for (const [id, o] of offers) if (o.expires <= now) offers.delete(id);
  };

  const server: Server = createServer((socket) => {
    sockets.set(socket, undefined);
    socket.setNoDelay(true);
    socket.setTimeout(init.idleTimeoutMs, () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (err) => logger.debug({ err }, 'data connection error'));
    let hello = Buffer.alloc(0);
    let session: { peerId: string; all: boolean; reader: FrameReader; responses: HeaderSealer } | undefined;
    // Anyone who can reach the port can connect: a connection that names no offer soon is dropped.
    const helloTimer = setTimeout(() => {
      if (session === undefined) socket.destroy();
    }, init.offerTimeoutMs);
    socket.on('close', () => clearTimeout(helloTimer));
    let running = 0;
    let opened = false;

    /** Set once the connection broke: nothing more is read; it ends once the requests read before are answered. */
    let broken = false;
    const refuse = (why: string, err?: unknown): void => {
      logger.warn({ err, why, peerId: session?.peerId, remote: socket.remoteAddress }, 'data connection refused');
      broken = true;
      socket.pause();
      if (running === 0) socket.destroy();
    };

    const serve = (header: Record<string, unknown>, body: Buffer): void => {
      const { id, len: _len, sealed, ...rest } = header;
      if (!isSafeInt(id, 1)) return refuse('a data channel request must carry an id');
      const data = isDataOp(rest);
      // A 1.2.0 connection carries chunk bodies only: metadata stays on noise, as that version promised.
      if (!data && !session!.all) return refuse('a data channel request of store protocol 1.2.0 must be put-chunk or get-blob of a chunk');
      // Any other body is metadata (a manifest): a peer that sends one in clear broke the protocol.
      if (!data && body.byteLength > 0 && sealed !== true) return refuse('a data channel body other than a chunk must be sealed');
      // A requester keeps to DATA_MAX_INFLIGHT; frames that arrived together may start a few
      // more, but one that floods small frames is breaking the protocol.
      if (running >= 4 * DATA_MAX_INFLIGHT) return refuse('more requests in flight than the data channel allows');
      running++;
      if (running >= DATA_MAX_INFLIGHT) socket.pause();
      const { peerId, responses } = session!;
      // The same handler as the control path, as the peer the offer was issued to: the registry
      // and ACL checks are the control path's.
      void handler(peerId, { header: rest, body }).then((res) => {
        running--;
        if (socket.destroyed) return;
        sendFrame(socket, responses, { ...res.header, id }, res.body, !data);
        if (broken) {
          if (running === 0) socket.end();
        } else if (running < DATA_MAX_INFLIGHT) socket.resume();
      });
    };

    socket.on('data', (data: Buffer) => {
      if (broken) return;
      if (session === undefined) {
        hello = Buffer.concat([hello, data]);
        if (hello.byteLength < OFFER_ID_BYTES) return;
        const id = hello.subarray(0, OFFER_ID_BYTES).toString('hex');
        const offer = offers.get(id);
        // One connection per offer: a recorded connection replayed finds its offer gone.
        offers.delete(id);
        if (offer === undefined || offer.expires <= Date.now()) return refuse('unknown or expired offer');
        if (registry.partyOf(offer.peerId) === undefined) return refuse('offer of a peer no longer in the registry');
        session = { peerId: offer.peerId, all: offer.all, reader: new FrameReader(new HeaderSealer(offer.requestKey), init.limits.maxBodyBytes), responses: new HeaderSealer(offer.responseKey) };
        if (sockets.has(socket)) sockets.set(socket, offer.peerId);
        data = hello.subarray(OFFER_ID_BYTES);
        hello = Buffer.alloc(0);
        if (data.byteLength === 0) return;
      }
      const { frames, error } = session.reader.push(data);
      for (const f of frames) {
        if (broken) break;
        opened = true;
        serve(f.header, f.body);
      }
      if (error !== undefined && !broken) refuse(opened ? 'a frame did not authenticate or broke the framing' : 'the first header did not authenticate', error);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(init.port, init.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : init.port;

  /** Answers an offer request; `all`: issued on 1.3.0, for a connection carrying every store op. */
  const answerOffers =
    (all: boolean): StreamHandler =>
    async (stream, connection) => {
      const peerId = connection.remotePeer.toString();
      // An offer is one small frame each way: a stream that sends nothing is not kept open.
      const timer = setTimeout(() => stream.abort(new Error('data channel offer timed out')), init.offerTimeoutMs);
      try {
        await readFrame(stream, { maxHeaderBytes: 1024, maxBodyBytes: 0 });
        if (registry.partyOf(peerId) === undefined) throw new UnknownPartyError('peer is not bound to a consortium party');
        sweep();
        let held = 0;
        for (const o of offers.values()) if (o.peerId === peerId) held++;
        if (held >= MAX_OFFERS_PER_PEER) throw new MalformedMessageError('too many unused data channel offers');
        const offer = randomBytes(OFFER_ID_BYTES);
        const requestKey = randomBytes(KEY_BYTES);
        const responseKey = randomBytes(KEY_BYTES);
        offers.set(offer.toString('hex'), { peerId, all, requestKey, responseKey, expires: Date.now() + OFFER_TTL_MS });
        await writeFrameAndClose(stream, { ok: true, port, offer: offer.toString('base64'), requestKey: requestKey.toString('base64'), responseKey: responseKey.toString('base64') });
      } catch (err) {
        const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : 'DHT_INTERNAL';
        await writeFrameAndClose(stream, { ok: false, code, message: err instanceof Error ? err.message : 'offer refused' }).catch(() => stream.abort(new Error('offer refused')));
      } finally {
        clearTimeout(timer);
      }
    };
  const streamLimits = { maxInboundStreams: 8, maxOutboundStreams: 8 };
  await components.libp2p.handle(STORE_DATA_PROTOCOL, answerOffers(false), streamLimits);
  if (init.allOps !== false) await components.libp2p.handle(STORE_DATA_ALL_PROTOCOL, answerOffers(true), streamLimits);

  return {
    port,
    closePeers(keep) {
      for (const [id, o] of offers) if (!keep(o.peerId)) offers.delete(id);
      for (const [s, peerId] of sockets) if (peerId !== undefined && !keep(peerId)) s.destroy();
    },
    async close() {
      for (const s of sockets.keys()) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface DataChannelPoolInit {
  readonly limits: FrameLimits;
  readonly idleTimeoutMs: number;
  /** After a peer refused 1.2.0 or its data connection failed, how long to use the control path only. */
  readonly retryMs: number;
  /** Whether to ask for 1.3.0 (every store op on the data connection) first; default true. */
  readonly allOps?: boolean;
}

export interface DataChannelPoolComponents {
  readonly libp2p: Pick<Libp2p, 'dialProtocol' | 'getConnections'>;
  readonly logger: Logger;
}

export interface DataChannelPool {
  /**
   * Sends a store request on the peer's data connection (opened on first use) and resolves with
   * its response (ok or not). Resolves `undefined` when there is none to use (the peer speaks
   * neither 1.3.0 nor 1.2.0, or its data channel failed recently), or when the connection is
   * 1.2.0 (or this pool was made without `allOps`) and the request is not a chunk op, or is a
   * chunk write below DATA_MIN_PUT_BYTES: the caller uses the control path. Rejects when the data
   * connection failed during the request: the caller retries on the control path.
   */
  request(peerId: string, header: Record<string, unknown>, body: OutgoingBody, signal: AbortSignal): Promise<Frame | undefined>;
  /** Peers this node holds an open data connection to. */
  peers(): string[];
  /** Closes the data connections to peers `keep` refuses (they left the registry); their open requests fail. */
  closePeers(keep: (peerId: string) => boolean): void;
  close(): void;
}

interface DataSession {
  readonly socket: Socket;
  readonly requests: HeaderSealer;
  /** Opened through a 1.3.0 offer: every store op may use it. */
  readonly all: boolean;
  /** `data`: a chunk op, whose body travels raw; `chunkRead`: the hash a chunk read's body must have. */
  readonly pending: Map<number, { data: boolean; chunkRead: string | undefined; resolve: (f: Frame) => void; reject: (err: Error) => void }>;
  readonly queue: Array<() => void>;
  open: number;
  nextId: number;
  idle?: NodeJS.Timeout;
  /** Set when this side closes an idle connection: any other close counts as a failure. */
  ended?: boolean;
}

/** The IP the libp2p connection to `peerId` reaches (the data port is on the same host). */
function peerHost(libp2p: Pick<Libp2p, 'getConnections'>, peerId: string): string | undefined {
  for (const c of libp2p.getConnections(peerIdFromString(peerId))) {
    for (const comp of c.remoteAddr.getComponents()) if (comp.name === 'ip4' || comp.name === 'ip6') return comp.value;
  }
  return undefined;
}

export function createDataChannelPool(init: Readonly<DataChannelPoolInit>, components: DataChannelPoolComponents): DataChannelPool {
  const { libp2p, logger } = components;
  const live = new Map<string, DataSession>();
  const opening = new Map<string, Promise<DataSession | undefined>>();
  const backoffUntil = new Map<string, number>();

  const fail = (peerId: string, s: DataSession, err: Error): void => {
    if (live.get(peerId) === s) live.delete(peerId);
    backoffUntil.set(peerId, Date.now() + init.retryMs);
    s.socket.destroy(err);
  };

  async function open(peerId: string, signal: AbortSignal): Promise<DataSession | undefined> {
    let offer: Frame;
    let all: boolean;
    try {
      // 1.3.0 first; a peer of the previous version negotiates 1.2.0 (chunk bodies only).
      const stream = await libp2p.dialProtocol(peerIdFromString(peerId), init.allOps === false ? [STORE_DATA_PROTOCOL] : [STORE_DATA_ALL_PROTOCOL, STORE_DATA_PROTOCOL], { signal });
      all = stream.protocol === STORE_DATA_ALL_PROTOCOL;
      await writeFrameAndClose(stream, { op: 'data-offer' }, new Uint8Array(), { signal });
      offer = await readFrame(stream, { maxHeaderBytes: 1024, maxBodyBytes: 0 });
    } catch (cause) {
      backoffUntil.set(peerId, Date.now() + init.retryMs);
      if (cause instanceof Error && cause.name === 'UnsupportedProtocolError') logger.debug({ peerId }, 'peer does not speak the data channel; using the control path');
      else logger.warn({ err: cause, peerId }, 'data channel offer failed; using the control path');
      return undefined;
    }
    const h = offer.header;
    const host = peerHost(libp2p, peerId);
    if (h['ok'] !== true || !isSafeInt(h['port'], 1) || typeof h['offer'] !== 'string' || typeof h['requestKey'] !== 'string' || typeof h['responseKey'] !== 'string' || host === undefined) {
      backoffUntil.set(peerId, Date.now() + init.retryMs);
      logger.warn({ peerId, code: h['code'] }, 'data channel offer refused; using the control path');
      return undefined;
    }
    const offerId = Buffer.from(h['offer'], 'base64');
    const requestKey = Buffer.from(h['requestKey'], 'base64');
    const responseKey = Buffer.from(h['responseKey'], 'base64');
    if (offerId.byteLength !== OFFER_ID_BYTES || requestKey.byteLength !== KEY_BYTES || responseKey.byteLength !== KEY_BYTES) {
      backoffUntil.set(peerId, Date.now() + init.retryMs);
      return undefined;
    }
    // Responses (chunk reads, up to 1 MiB each) are read into one buffer per connection and
    // copied into their bodies by the FrameReader: no buffer allocated per socket read.
    let onData: (data: Buffer) => void = () => undefined;
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const onread = {
      buffer: readBuffer,
      callback: (n: number): boolean => {
        onData(readBuffer.subarray(0, n));
        return true;
      },
    };
    const socket = await new Promise<Socket | undefined>((resolve) => {
      const sock = connect({ host, port: h['port'] as number, onread });
      // A data port behind a firewall that drops packets would hold the request until the OS
      // gives up: the request's own deadline ends the attempt.
      const onAbort = (): void => void sock.destroy(new PeerRequestError('data port did not answer in time', { details: { peerId } }));
      signal.addEventListener('abort', onAbort, { once: true });
      const onError = (err: Error): void => {
        signal.removeEventListener('abort', onAbort);
        logger.warn({ err, peerId, host, port: h['port'] }, 'cannot reach the peer\'s data port; using the control path');
        resolve(undefined);
      };
      sock.once('error', onError);
      sock.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        sock.off('error', onError);
        resolve(sock);
      });
    });
    if (socket === undefined) {
      backoffUntil.set(peerId, Date.now() + init.retryMs);
      return undefined;
    }
    socket.setNoDelay(true);
    socket.write(offerId);
    const s: DataSession = { socket, requests: new HeaderSealer(requestKey), all, pending: new Map(), queue: [], open: 0, nextId: 1 };
    const reader = new FrameReader(new HeaderSealer(responseKey), init.limits.maxBodyBytes);
    onData = (data: Buffer) => {
      const { frames, error } = reader.push(data);
      for (const f of frames) {
        const { id, len: _len, sealed, ...header } = f.header;
        const p = typeof id === 'number' ? s.pending.get(id) : undefined;
        if (p === undefined) return fail(peerId, s, new PeerRequestError('data channel broke: a response to no request', { details: { peerId } }));
        // Metadata (a manifest read) must come sealed: one in clear is a peer breaking the protocol.
        if (!p.data && f.body.byteLength > 0 && sealed !== true) return fail(peerId, s, new PeerRequestError('data channel broke: a metadata body in clear', { details: { peerId } }));
        // The body of a chunk read must be the chunk asked for: the header is authenticated,
        // the body is not, and only its content address binds it.
        const chunkRead = header['ok'] === true ? p.chunkRead : undefined;
        if (chunkRead !== undefined && toHex(sha256(f.body)) !== chunkRead) {
          return fail(peerId, s, new IntegrityError('data channel body does not match its content address', { details: { peerId, hash: chunkRead } }));
        }
        s.pending.delete(id as number);
        // Checked above: the caller need not hash the chunk again.
        p.resolve(chunkRead !== undefined ? { header, body: f.body, bodyHash: chunkRead } : { header, body: f.body });
      }
      if (error !== undefined) fail(peerId, s, error instanceof Error ? error : new Error(String(error)));
    };
    socket.on('error', (err) => logger.debug({ err, peerId }, 'data connection error'));
    socket.on('close', () => {
      if (live.get(peerId) === s) live.delete(peerId);
      // Refused or dropped by the peer: the control path for a while, not a new offer per request.
      if (s.ended !== true) backoffUntil.set(peerId, Date.now() + init.retryMs);
      clearTimeout(s.idle);
      const err = new PeerRequestError('data channel closed', { details: { peerId } });
      for (const p of s.pending.values()) p.reject(err);
      s.pending.clear();
      for (const next of s.queue.splice(0)) next();
    });
    live.set(peerId, s);
    return s;
  }

  function idleTimer(peerId: string, s: DataSession): void {
    clearTimeout(s.idle);
    if (s.open > 0) return;
    s.idle = setTimeout(() => {
      if (s.open > 0) return;
      if (live.get(peerId) === s) live.delete(peerId);
      s.ended = true;
      s.socket.end();
    }, init.idleTimeoutMs);
    s.idle.unref();
  }

  async function slot(s: DataSession, signal: AbortSignal): Promise<void> {
    await waitForSlot(s, DATA_MAX_INFLIGHT, signal, 'data channel');
    if (s.socket.destroyed) throw new PeerRequestError('data channel closed');
  }

  return {
    async request(peerId, header, body, signal) {
      const data = isDataOp(header);
      if (data && !isHash(header['hash'])) return undefined;
      // Towards a peer of 1.2.0 only chunk bodies, and only large ones (see DATA_MIN_PUT_BYTES).
      const chunkBodiesOnlyRefuse = (): boolean => !data || (header['op'] === 'put-chunk' && bodyLength(body) < DATA_MIN_PUT_BYTES);
      if (init.allOps === false && chunkBodiesOnlyRefuse()) return undefined;
      if ((backoffUntil.get(peerId) ?? 0) > Date.now()) return undefined;
      let s = live.get(peerId);
      if (s === undefined) {
        let p = opening.get(peerId);
        if (p === undefined) {
          p = open(peerId, signal).finally(() => opening.delete(peerId));
          opening.set(peerId, p);
        }
        s = await p;
        if (s === undefined) return undefined;
      }
      if (!s.all && chunkBodiesOnlyRefuse()) return undefined;
      const session = s;
      await slot(session, signal);
      session.open++;
      clearTimeout(session.idle);
      const id = session.nextId++;
      try {
        return await new Promise<Frame>((resolve, reject) => {
          const onAbort = (): void => fail(peerId, session, new PeerRequestError('store request timed out', { details: { peerId } }));
          signal.addEventListener('abort', onAbort, { once: true });
          const settle = (): void => signal.removeEventListener('abort', onAbort);
          session.pending.set(id, {
            data,
            chunkRead: data && header['op'] === 'get-blob' ? (header['hash'] as string) : undefined,
            resolve: (f) => {
              settle();
              resolve(f);
            },
            reject: (err) => {
              settle();
              reject(err);
            },
          });
          // Back-pressure is the socket's: the kernel buffer and the serving side's pause.
          try {
            sendFrame(session.socket, session.requests, { ...header, id }, body, !data);
          } catch (err) {
            // Refused before anything was sent (a header over the limit): the control path answers.
            session.pending.delete(id);
            settle();
            reject(err as Error);
          }
        });
      } finally {
        session.open--;
        session.queue.shift()?.();
        idleTimer(peerId, session);
      }
    },
    peers: () => [...live.keys()],
    closePeers(keep) {
      for (const [peerId, s] of [...live]) if (!keep(peerId)) fail(peerId, s, new PeerRequestError('peer left the party registry', { details: { peerId } }));
    },
    close() {
      for (const s of live.values()) s.socket.destroy();
      live.clear();
    },
  };
}
