import type { AbortOptions, Stream } from '@libp2p/interface';
import { fromUtf8, isRecord, utf8, type Hex } from './codec.js';
import { MalformedMessageError, MessageTooLargeError } from './errors.js';

/**
 * One message per stream direction: `u32be headerLength || u32be bodyLength || header || body`.
 * The header is a JSON object (validated by the receiver), the body raw bytes (a chunk or a
 * manifest). Lengths are checked against the limits as soon as the 8-byte prefix arrives,
 * so an oversize message is refused before it is buffered.
 */
export interface Frame {
  readonly header: Record<string, unknown>;
  readonly body: Uint8Array;
  /**
   * SHA-256 of `body` (hex), set only by code of this process that computed it from these very
   * bytes (the writer that sealed a chunk, the data channel that checked a read): a chunk is then
   * not hashed a second time. Never taken from the wire.
   */
  readonly bodyHash?: Hex;
  /**
   * In-process only, never from the wire: the body as the pieces it was made in (a writer's
   * sealed chunk to its own store: nonce, ciphertext, tag), never joined; `body` is then empty.
   * Only put-chunk reads it (store-protocol.ts); the requesting side joins it for any other op.
   */
  readonly bodyPieces?: readonly Uint8Array[];
}

/**
 * A body to send: one buffer, or the pieces of one sent back to back without joining them. A
 * sealed chunk is three pieces (nonce, ciphertext, tag); joining them was a copy of every chunk
 * on the writer, and half of the large buffers its garbage collector had to free (issue #25).
 */
export type OutgoingBody = Uint8Array | readonly Uint8Array[];

export function bodyPieces(body: OutgoingBody): readonly Uint8Array[] {
  return body instanceof Uint8Array ? [body] : body;
}

export function bodyLength(body: OutgoingBody): number {
  if (body instanceof Uint8Array) return body.byteLength;
  let n = 0;
  for (const p of body) n += p.byteLength;
  return n;
}

export interface FrameLimits {
  /** Largest header accepted, bytes. */
  readonly maxHeaderBytes: number;
  /** Largest body accepted, bytes. */
  readonly maxBodyBytes: number;
}

export function encodeFrame(header: Record<string, unknown>, body: Uint8Array = new Uint8Array()): Uint8Array {
  const head = encodeFrameHead(header, body.byteLength);
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head, 0);
  out.set(body, head.byteLength);
  return out;
}

/** The prefix and header of a frame whose body follows separately (sent without copying it). */
export function encodeFrameHead(header: Record<string, unknown>, bodyLength: number): Uint8Array {
  const h = utf8(JSON.stringify(header));
  const out = new Uint8Array(8 + h.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, h.byteLength);
  dv.setUint32(4, bodyLength);
  out.set(h, 8);
  return out;
}

/**
 * Parses one complete frame, with the same checks `readFrame` applies while streaming. The body
 * is a copy unless `owned` says the buffer is this frame's alone (then a view: no copy).
 */
export function decodeFrame(bytes: Uint8Array, limits: FrameLimits, owned = false): Frame {
  if (bytes.byteLength < 8) throw new MalformedMessageError('truncated frame');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hl = dv.getUint32(0);
  const bl = dv.getUint32(4);
  checkLengths(hl, bl, limits);
  if (bytes.byteLength !== 8 + hl + bl) throw new MalformedMessageError('frame length does not match its prefix');
  let header: unknown;
  try {
    header = JSON.parse(fromUtf8(bytes.subarray(8, 8 + hl)));
  } catch (cause) {
    throw new MalformedMessageError('frame header is not JSON', { cause });
  }
  if (!isRecord(header)) throw new MalformedMessageError('frame header is not an object');
  return { header, body: owned ? bytes.subarray(8 + hl) : bytes.slice(8 + hl) };
}

function checkLengths(hl: number, bl: number, limits: FrameLimits): void {
  if (hl > limits.maxHeaderBytes || bl > limits.maxBodyBytes) {
    throw new MessageTooLargeError('message exceeds the size limit', {
      details: { headerBytes: hl, bodyBytes: bl, maxHeaderBytes: limits.maxHeaderBytes, maxBodyBytes: limits.maxBodyBytes },
    });
  }
}

/** Reads the peer's message (up to the length its prefix announces) and decodes it. */
export async function readFrame(stream: Stream, limits: FrameLimits): Promise<Frame> {
  const parts: Uint8Array[] = [];
  let total = 0;
  let expected = -1;
  for await (const chunk of stream) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray();
    parts.push(bytes);
    total += bytes.byteLength;
    if (expected < 0 && total >= 8) {
      const head = parts.length === 1 ? bytes : concatParts(parts, total);
      const dv = new DataView(head.buffer, head.byteOffset, 8);
      const hl = dv.getUint32(0);
      const bl = dv.getUint32(4);
      checkLengths(hl, bl, limits);
      expected = 8 + hl + bl;
    }
    if (expected >= 0 && total > expected) throw new MalformedMessageError('more bytes than the frame prefix announced');
    // Stop at the announced length rather than waiting for the end of the stream: the
    // stream's iterator can miss a remote close that happened before iteration began.
    if (total === expected) break;
  }
  // Several parts are joined into a fresh buffer this frame owns: its body needs no second copy.
  return decodeFrame(concatParts(parts, total), limits, parts.length > 1);
}

function concatParts(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * Splits a byte stream carrying many frames back to back (a store session) into frames. The
 * prefix of each is checked against the limits as soon as its 8 bytes are in, so an oversize
 * frame throws before its body is buffered; a frame's body is a view of a buffer it owns.
 */
export interface FrameDecoder {
  /** Appends received bytes; returns the frames they complete, in order. */
  push(data: Parameters<Stream['send']>[0]): Frame[];
  /** Bytes received that do not yet form a whole frame. */
  readonly buffered: number;
}

export function createFrameDecoder(limits: FrameLimits): FrameDecoder {
  let parts: Uint8Array[] = [];
  let total = 0;
  let expected = -1;
  return {
    get buffered() {
      return total;
    },
    push(data) {
      const out: Frame[] = [];
      const bytes = data instanceof Uint8Array ? data : data.subarray();
      if (bytes.byteLength > 0) {
        parts.push(bytes);
        total += bytes.byteLength;
      }
      for (;;) {
        if (expected < 0) {
          if (total < 8) break;
          const head = parts[0]!.byteLength >= 8 ? parts[0]! : concatParts(parts, total);
          if (head !== parts[0]) parts = [head];
          const dv = new DataView(head.buffer, head.byteOffset, 8);
          const hl = dv.getUint32(0);
          const bl = dv.getUint32(4);
          checkLengths(hl, bl, limits);
          expected = 8 + hl + bl;
        }
        if (total < expected) break;
        const joined = parts.length === 1 ? parts[0]! : concatParts(parts, total);
        // The frame's bytes are copied out only when they share a buffer with the next frame's
        // (a body must not pin, or be changed through, bytes that are not its own).
        const rest = joined.subarray(expected);
        const own = rest.byteLength === 0 && parts.length > 1;
        out.push(decodeFrame(joined.subarray(0, expected), limits, own));
        parts = rest.byteLength > 0 ? [rest] : [];
        total = rest.byteLength;
        expected = -1;
      }
      return out;
    },
  };
}

/** Writes one frame (head, then the body in place) with back-pressure, leaving the stream open. */
export async function writeFrame(stream: Stream, header: Record<string, unknown>, body: OutgoingBody = new Uint8Array(), options: AbortOptions = {}): Promise<void> {
  await sendAll(stream, encodeFrameHead(header, bodyLength(body)), options);
  for (const piece of bodyPieces(body)) await sendAll(stream, piece, options);
}

/** Writes bytes with back-pressure, then closes the write side. */
export async function writeAndClose(stream: Stream, bytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
  await sendAll(stream, bytes, options);
  await stream.close(options);
}

/** Writes one frame (its head, then the body in place: no frame-sized copy per request) and closes the write side. */
export async function writeFrameAndClose(stream: Stream, header: Record<string, unknown>, body: OutgoingBody = new Uint8Array(), options: AbortOptions = {}): Promise<void> {
  await writeFrame(stream, header, body, options);
  await stream.close(options);
}

/**
 * Pieces of up to 1 MiB (a whole chunk): the muxer cuts what it sends by its window (yamux:
 * frames up to the stream window, 256 KiB at first), and each of its frames is one noise
 * sealing run and one socket write below. Pieces of 64 KiB made a yamux frame, a pnet buffer
 * and a socket write per 64 KiB, four times as many for the same bytes.
 */
const SEND_PIECE = 1024 * 1024;

async function sendAll(stream: Stream, bytes: Uint8Array, options: AbortOptions): Promise<void> {
  const step = SEND_PIECE;
  for (let o = 0; o < bytes.byteLength; o += step) {
    if (!stream.send(bytes.subarray(o, Math.min(o + step, bytes.byteLength)))) await stream.onDrain(options);
  }
}
