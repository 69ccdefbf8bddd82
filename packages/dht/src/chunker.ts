import { MessageTooLargeError } from './errors.js';

/** Object input: one buffer, or a stream of buffers of any sizes. */
export type ObjectSource = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * Re-cuts a source into fixed-size pieces (the last may be shorter), enforcing a total limit.
 * A source given as one buffer is cut into views of it, not copied: the pieces are only read
 * (hashed and sealed), and a copy per chunk was 64 MiB of allocation per 64 MiB put.
 */
export async function* fixedSizeChunks(source: ObjectSource, chunkSize: number, maxBytes: number): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    if (source.byteLength > maxBytes) throw new MessageTooLargeError('object exceeds the size limit', { details: { maxBytes } });
    for (let o = 0; o < source.byteLength; o += chunkSize) yield source.subarray(o, Math.min(o + chunkSize, source.byteLength));
    return;
  }
  const parts: Iterable<Uint8Array> | AsyncIterable<Uint8Array> = source;
  let buf = new Uint8Array(chunkSize);
  let fill = 0;
  let total = 0;
  for await (const part of parts) {
    total += part.byteLength;
    if (total > maxBytes) throw new MessageTooLargeError('object exceeds the size limit', { details: { maxBytes } });
    let o = 0;
    while (o < part.byteLength) {
      const n = Math.min(chunkSize - fill, part.byteLength - o);
      buf.set(part.subarray(o, o + n), fill);
      fill += n;
      o += n;
      if (fill === chunkSize) {
        yield buf;
        buf = new Uint8Array(chunkSize);
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}
