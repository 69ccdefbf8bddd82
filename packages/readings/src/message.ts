import { READING_LIMITS, ReadingValidationError, validateReading, type Reading } from './reading.js';

/**
 * The `dt.readings` Kafka message format.
 *
 * - key: the feed id (UTF-8), so all readings of one feed land in one partition, in order;
 * - value: UTF-8 JSON in one of three forms, all of the key's feed:
 *   - one reading object `{"feed","component","ts","v","u"}`;
 *   - a JSON array of 1..10 000 such objects;
 *   - the columnar batch `{"feed","component","u","ts":[...],"v":[...]}` (or `"v":{"x":[...],...}`
 *     for named values): 1..10 000 readings of one component and unit, one entry per reading
 *     in each column. This is what high-rate producers should send. Each reading still carries
 *     its feed, component and unit (once, for the batch); at ~20 bytes per scalar reading
 *     instead of ~120, it costs the producer, the broker and the consumer about a sixth of the
 *     array form's bytes, and it stays plain JSON anyone can inspect.
 *
 * Decoding is strict: every reading is validated and must carry the key's feed; anything else
 * is a ReadingValidationError whose `reason` goes with the message to `dt.dead-letter`.
 */
export interface ReadingsMessage {
  readonly key: string;
  readonly value: string;
}

/** Groups readings by feed and packs each group into messages of at most `maxPerMessage` readings. */
export function encodeReadingsMessages(readings: readonly Reading[], maxPerMessage = 500): ReadingsMessage[] {
  if (!Number.isInteger(maxPerMessage) || maxPerMessage < 1 || maxPerMessage > READING_LIMITS.maxBatch) {
    throw new RangeError(`maxPerMessage must be 1..${READING_LIMITS.maxBatch}`);
  }
  const byFeed = new Map<string, Reading[]>();
  for (const r of readings) {
    let list = byFeed.get(r.feed);
    if (!list) byFeed.set(r.feed, (list = []));
    list.push(r);
  }
  const out: ReadingsMessage[] = [];
  for (const [feed, list] of byFeed) {
    for (let i = 0; i < list.length; i += maxPerMessage) {
      const part = list.slice(i, i + maxPerMessage);
      const columns = part.length > 1 ? toColumns(part) : undefined;
      out.push({ key: feed, value: JSON.stringify(columns ?? (part.length === 1 ? toWire(part[0]!) : part.map(toWire))) });
    }
  }
  return out;
}

/** The columnar batch of readings that share component, unit and value shape; undefined otherwise. */
function toColumns(part: readonly Reading[]): ColumnarBatch | undefined {
  const first = part[0]!;
  const names = typeof first.v === 'number' ? undefined : Object.keys(first.v);
  const ts = new Array<number>(part.length);
  const scalar: number[] = [];
  const named: Record<string, number[]> = {};
  for (const name of names ?? []) named[name] = new Array<number>(part.length);
  for (let i = 0; i < part.length; i++) {
    const r = part[i]!;
    if (r.component !== first.component || r.u !== first.u) return undefined;
    ts[i] = r.ts;
    if (names === undefined) {
      if (typeof r.v !== 'number') return undefined;
      scalar.push(r.v);
    } else {
      if (typeof r.v === 'number') return undefined;
      const keys = Object.keys(r.v);
      if (keys.length !== names.length) return undefined;
      for (const name of names) {
        const x = r.v[name];
        if (x === undefined) return undefined;
        named[name]![i] = x;
      }
    }
  }
  return { feed: first.feed, component: first.component, u: first.u, ts, v: names === undefined ? scalar : named };
}

/** The columnar form's fields (see the format above), field order fixed for equal bytes. */
interface ColumnarBatch {
  readonly feed: string;
  readonly component: string;
  readonly u: string;
  readonly ts: number[];
  readonly v: number[] | Record<string, number[]>;
}

const COLUMNAR_FIELDS = new Set(['feed', 'component', 'u', 'ts', 'v']);

/** Expands and validates a columnar batch: the shared fields once, then every column entry. */
function fromColumns(batch: Record<string, unknown>, feed: string): Reading[] {
  for (const key in batch) {
    if (!COLUMNAR_FIELDS.has(key)) throw new ReadingValidationError('UNKNOWN_FIELD', `unknown field "${key.slice(0, 64)}"`, { field: key.slice(0, 64) });
  }
  const ts = batch['ts'] as unknown[];
  if (ts.length === 0) throw new ReadingValidationError('EMPTY_BATCH', 'a batch must hold at least one reading');
  if (ts.length > READING_LIMITS.maxBatch) {
    throw new ReadingValidationError('BATCH_TOO_LARGE', `a batch holds at most ${READING_LIMITS.maxBatch} readings`, { count: ts.length });
  }
  const v = batch['v'];
  let value: (i: number) => unknown;
  if (Array.isArray(v)) {
    if (v.length !== ts.length) throw new ReadingValidationError('BAD_VALUE', 'v must hold one value per entry of ts', { field: 'v' });
    value = (i) => v[i];
  } else if (typeof v === 'object' && v !== null) {
    const columns = Object.entries(v as Record<string, unknown>);
    for (const [name, column] of columns) {
      if (!Array.isArray(column) || column.length !== ts.length) {
        throw new ReadingValidationError('BAD_VALUE', 'each named value column must hold one value per entry of ts', { field: `v.${name.slice(0, 64)}` });
      }
    }
    value = (i) => {
      const named: Record<string, unknown> = {};
      for (const [name, column] of columns) named[name] = (column as unknown[])[i];
      return named;
    };
  } else {
    throw new ReadingValidationError('BAD_VALUE', 'v must be an array of values or an object of value arrays', { field: 'v' });
  }
  // Each entry goes through the same check as a single reading: one definition of a valid reading.
  const out = new Array<Reading>(ts.length);
  for (let i = 0; i < ts.length; i++) {
    const r = validateReading({ feed: batch['feed'], component: batch['component'], ts: ts[i], v: value(i), u: batch['u'] }, i);
    if (r.feed !== feed) throw new ReadingValidationError('KEY_MISMATCH', 'every reading must carry the message key as its feed', { index: i });
    out[i] = r;
  }
  return out;
}

/** Field order fixed so equal readings encode to equal bytes. */
function toWire(r: Reading): Reading {
  return { feed: r.feed, component: r.component, ts: r.ts, v: r.v, u: r.u };
}

/** Decodes and validates one `dt.readings` message; throws ReadingValidationError. */
export function decodeReadingsMessage(key: Buffer | string | null | undefined, value: Buffer | string | null | undefined): Reading[] {
  if (key === null || key === undefined || key.length === 0) throw new ReadingValidationError('MISSING_KEY', 'the message key must be the feed id');
  const feed = typeof key === 'string' ? key : key.toString('utf8');
  if (value === null || value === undefined) throw new ReadingValidationError('MALFORMED_JSON', 'the message has no value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    throw new ReadingValidationError('MALFORMED_JSON', 'the message value is not JSON');
  }
  if (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as Record<string, unknown>)['ts'])) {
    return fromColumns(parsed as Record<string, unknown>, feed);
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0) throw new ReadingValidationError('EMPTY_BATCH', 'a batch must hold at least one reading');
  if (items.length > READING_LIMITS.maxBatch) {
    throw new ReadingValidationError('BATCH_TOO_LARGE', `a batch holds at most ${READING_LIMITS.maxBatch} readings`, { count: items.length });
  }
  const out = new Array<Reading>(items.length);
  for (let i = 0; i < items.length; i++) {
    const r = validateReading(items[i], Array.isArray(parsed) ? i : undefined);
    if (r.feed !== feed) throw new ReadingValidationError('KEY_MISMATCH', 'every reading must carry the message key as its feed', { index: i });
    out[i] = r;
  }
  return out;
}
