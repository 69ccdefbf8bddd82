import type { Reading } from './reading.js';

/**
 * The compact segment codec: what feed-ingest signs, encrypts and appends to a DHT feed, and
 * what any authorized party decodes after reading it back.
 *
 * Layout (all integers little-endian):
 *
 *   "TLSG" | u8 version=1 | u8 flags=0 | u16 reserved | u32 count | u32 headerLen | header JSON
 *   ts column:        f64 first ts, then count-1 zigzag LEB128 varint deltas
 *   component column: only when header.components has >1 entry: u16 index per reading
 *   unit column:      only when header.units has >1 entry: u16 index per reading
 *   value columns:    one per header.columns name, count f64 each; NaN = "no value here"
 *
 * Scalar values live in the column named "" (value names are never empty), so a segment may
 * mix scalar and named readings and still round-trip exactly. Readings' values are finite by
 * validation, so NaN is free to mean "absent". A typical scalar reading costs ~9-10 bytes
 * (8-byte float plus a 1-2 byte time delta) against ~90 bytes of JSON.
 */
export interface SegmentHeader {
  readonly components: readonly string[];
  readonly units: readonly string[];
  readonly columns: readonly string[];
  /** Opaque producer metadata (feed-ingest: feed id, Kafka partition and offset range). */
  readonly meta: Readonly<Record<string, unknown>>;
}

export interface DecodedSegment {
  readonly header: SegmentHeader;
  readonly count: number;
  readonly ts: Float64Array;
  readonly component: Uint16Array | undefined;
  readonly unit: Uint16Array | undefined;
  /** One array per header.columns entry. */
  readonly values: readonly Float64Array[];
}

const MAGIC = 0x47534c54; // "TLSG" read as u32 LE
const VERSION = 1;
const FIXED = 16;
const SCALAR = '';

export class SegmentFormatError extends Error {
  readonly code = 'SEGMENT_MALFORMED';
}

/** Encodes readings (of one feed, in arrival order) into one segment. */
export function encodeSegment(readings: readonly Reading[], meta: Readonly<Record<string, unknown>> = {}): Uint8Array {
  const n = readings.length;
  if (n === 0) throw new RangeError('a segment holds at least one reading');
  const components = new Map<string, number>();
  const units = new Map<string, number>();
  const columns = new Map<string, number>();
  const compIdx = new Uint16Array(n);
  const unitIdx = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const r = readings[i]!;
    compIdx[i] = indexOf(components, r.component);
    unitIdx[i] = indexOf(units, r.u);
    if (typeof r.v === 'number') indexOf(columns, SCALAR);
    else for (const name in r.v) indexOf(columns, name);
  }
  const columnNames = [...columns.keys()];
  const values = columnNames.map(() => new Float64Array(n).fill(NaN));
  for (let i = 0; i < n; i++) {
    const v = readings[i]!.v;
    if (typeof v === 'number') values[columns.get(SCALAR)!]![i] = v;
    else for (const name in v) values[columns.get(name)!]![i] = v[name]!;
  }
  const header = Buffer.from(JSON.stringify({ components: [...components.keys()], units: [...units.keys()], columns: columnNames, meta }), 'utf8');

  // ts deltas: worst case 8 bytes each (|delta| < 2^51 -> zigzag < 2^52 -> 8 varint bytes).
  const tsBuf = Buffer.allocUnsafe(8 + (n - 1) * 8);
  tsBuf.writeDoubleLE(readings[0]!.ts, 0);
  let pos = 8;
  for (let i = 1; i < n; i++) {
    const d = readings[i]!.ts - readings[i - 1]!.ts;
    let z = d >= 0 ? d * 2 : -d * 2 - 1;
    while (z >= 128) {
      tsBuf[pos++] = (z % 128) | 128;
      z = Math.floor(z / 128);
    }
    tsBuf[pos++] = z;
  }
  const parts: Uint8Array[] = [];
  const fixed = Buffer.alloc(FIXED);
  fixed.writeUInt32LE(MAGIC, 0);
  fixed.writeUInt8(VERSION, 4);
  fixed.writeUInt32LE(n, 8);
  fixed.writeUInt32LE(header.length, 12);
  parts.push(fixed, header, tsBuf.subarray(0, pos));
  if (components.size > 1) parts.push(u16le(compIdx));
  if (units.size > 1) parts.push(u16le(unitIdx));
  for (const col of values) parts.push(f64le(col));
  return Buffer.concat(parts);
}

function indexOf(map: Map<string, number>, key: string): number {
  let i = map.get(key);
  if (i === undefined) {
    i = map.size;
    if (i > 0xffff) throw new RangeError('more than 65536 distinct components or units in one segment');
    map.set(key, i);
  }
  return i;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function f64le(col: Float64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(col.buffer, col.byteOffset, col.byteLength);
  const b = Buffer.allocUnsafe(col.length * 8);
  for (let i = 0; i < col.length; i++) b.writeDoubleLE(col[i]!, i * 8);
  return b;
}

function u16le(col: Uint16Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(col.buffer, col.byteOffset, col.byteLength);
  const b = Buffer.allocUnsafe(col.length * 2);
  for (let i = 0; i < col.length; i++) b.writeUInt16LE(col[i]!, i * 2);
  return b;
}

/** Decodes a segment into columns; throws SegmentFormatError on anything malformed. */
export function decodeSegment(bytes: Uint8Array): DecodedSegment {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why: string): never => {
    throw new SegmentFormatError(`malformed segment: ${why}`);
  };
  if (buf.length < FIXED || buf.readUInt32LE(0) !== MAGIC) fail('bad magic');
  if (buf.readUInt8(4) !== VERSION) fail(`unsupported version ${buf.readUInt8(4)}`);
  const n = buf.readUInt32LE(8);
  const headerLen = buf.readUInt32LE(12);
  if (n === 0 || FIXED + headerLen > buf.length) fail('bad counts');
  let header: SegmentHeader;
  try {
    header = JSON.parse(buf.toString('utf8', FIXED, FIXED + headerLen)) as SegmentHeader;
  } catch {
    return fail('header is not JSON');
  }
  if (!Array.isArray(header.components) || !Array.isArray(header.units) || !Array.isArray(header.columns) || typeof header.meta !== 'object' || header.meta === null) {
    fail('header fields');
  }
  if (header.components.length === 0 || header.units.length === 0 || header.columns.length === 0) fail('empty dictionaries');
  let pos = FIXED + headerLen;
  if (pos + 8 > buf.length) fail('truncated ts column');
  const ts = new Float64Array(n);
  ts[0] = buf.readDoubleLE(pos);
  pos += 8;
  for (let i = 1; i < n; i++) {
    let z = 0;
    let mul = 1;
    for (;;) {
      if (pos >= buf.length) fail('truncated ts column');
      const b = buf[pos++]!;
      z += (b & 127) * mul;
      if (b < 128) break;
      mul *= 128;
      if (mul > 2 ** 56) fail('ts delta too long');
    }
    ts[i] = ts[i - 1]! + (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
  }
  const readU16 = (size: number): Uint16Array => {
    if (pos + n * 2 > buf.length) fail('truncated index column');
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const x = buf.readUInt16LE(pos + i * 2);
      if (x >= size) fail('dictionary index out of range');
      out[i] = x;
    }
    pos += n * 2;
    return out;
  };
  const component = header.components.length > 1 ? readU16(header.components.length) : undefined;
  const unit = header.units.length > 1 ? readU16(header.units.length) : undefined;
  const values: Float64Array[] = [];
  for (let c = 0; c < header.columns.length; c++) {
    if (pos + n * 8 > buf.length) fail('truncated value column');
    // Copy into an aligned buffer (pos is rarely a multiple of 8).
    const col = new Float64Array(n);
    new Uint8Array(col.buffer).set(buf.subarray(pos, pos + n * 8));
    if (!LITTLE_ENDIAN) for (let i = 0; i < n; i++) col[i] = buf.readDoubleLE(pos + i * 8);
    values.push(col);
    pos += n * 8;
  }
  if (pos !== buf.length) fail('trailing bytes');
  return { header, count: n, ts, component, unit, values };
}

/** Materializes reading i of a decoded segment (feed id supplied by the caller). */
export function segmentReading(seg: DecodedSegment, i: number, feed: string): Reading {
  const { header, values } = seg;
  const component = header.components[seg.component ? seg.component[i]! : 0]!;
  const u = header.units[seg.unit ? seg.unit[i]! : 0]!;
  let v: Reading['v'] | undefined;
  const named: Record<string, number> = {};
  let hasNamed = false;
  for (let c = 0; c < header.columns.length; c++) {
    const x = values[c]![i]!;
    if (Number.isNaN(x)) continue;
    const name = header.columns[c]!;
    if (name === SCALAR) v = x;
    else {
      named[name] = x;
      hasNamed = true;
    }
  }
  if (hasNamed) v = named;
  if (v === undefined) throw new SegmentFormatError('malformed segment: a reading without a value');
  return { feed, component, ts: seg.ts[i]!, v, u };
}

/** All readings of a segment, in order. */
export function segmentReadings(seg: DecodedSegment, feed: string): Reading[] {
  const out = new Array<Reading>(seg.count);
  for (let i = 0; i < seg.count; i++) out[i] = segmentReading(seg, i, feed);
  return out;
}
