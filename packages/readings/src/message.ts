import { READING_LIMITS, ReadingValidationError, validateReading, type Reading } from './reading.js';

/**
 * The `dt.readings` Kafka message format.
 *
 * - key: the feed id (UTF-8), so all readings of one feed land in one partition, in order;
 * - value: UTF-8 JSON, either one reading object `{"feed","component","ts","v","u"}` or a JSON
 *   array of 1..10 000 such objects, all of the key's feed. Arrays are what high-rate
 *   producers should send: one Kafka record per few hundred readings costs the broker and
 *   the consumer far less than one record per reading, and JSON stays inspectable.
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
      out.push({ key: feed, value: JSON.stringify(part.length === 1 ? toWire(part[0]!) : part.map(toWire)) });
    }
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
