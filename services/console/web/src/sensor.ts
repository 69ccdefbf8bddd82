// A sensor feed as every party that may read it sees it: the feed reference recorded on the
// ledger, the sensor element of the specification (its name and expected range), and anomalies
// judged against that range. The operating organization's feed-ingest raises anomaly events at
// ingest for its own feeds only; every other reader (auditor, manufacturer) judges the readings it
// reads from the DHT against the specification it reads from the ledger, by the same attribute
// rule as feed-ingest (`@twinledger/aml/sensor-range`).
import { expectedBounds } from '@twinledger/aml/sensor-range';
import type { AmlNode } from './aml';

export interface ExpectedRange {
  readonly min: number;
  readonly max: number;
}

export interface SensorProfile {
  readonly name: string;
  /** The unit of the expected bounds, when the specification gives one. */
  readonly unit: string | undefined;
  /** Undefined when the element has no single finite min <= max: then nothing is called an anomaly. */
  readonly range: ExpectedRange | undefined;
  /** Why there is no range, for the page. */
  readonly rangeProblem: string | undefined;
}

/** The sensor element's profile from its JSON tree (spec-service `elements/:id?format=json`). */
export function sensorProfile(element: AmlNode): SensorProfile {
  const attrs = element.children.filter((c) => c.tag === 'Attribute');
  const { mins, maxs } = expectedBounds(attrs.map((a) => ({ name: a.attributes['Name'] ?? '', value: a.children.find((c) => c.tag === 'Value') })));
  const unit = attrs.find((a) => /^expected(min|max)$/i.test(a.attributes['Name'] ?? ''))?.attributes['Unit'];
  const name = element.attributes['Name'] ?? element.attributes['ID'] ?? '(sensor)';
  if (mins.length !== 1 || maxs.length !== 1) {
    return { name, unit, range: undefined, rangeProblem: `the specification gives ${mins.length} minimum and ${maxs.length} maximum attributes for this sensor, not one of each` };
  }
  const range = { min: mins[0]!, max: maxs[0]! };
  if (!Number.isFinite(range.min) || !Number.isFinite(range.max) || range.min > range.max) {
    return { name, unit, range: undefined, rangeProblem: `the specification's expected range ${String(mins[0])}–${String(maxs[0])} is not a finite min ≤ max` };
  }
  return { name, unit, range, rangeProblem: undefined };
}

export interface Bucket {
  readonly start: number;
  readonly count: number;
  readonly values: Readonly<Record<string, { min: number; max: number; mean: number }>>;
}

/** A bucket holds an anomaly exactly when its min or max lies outside: buckets keep exact extremes. */
export interface FlaggedBucket {
  readonly from: number;
  /** Inclusive end: the next bucket's start - 1, or the series' end. */
  readonly to: number;
  readonly name: string;
  readonly min: number;
  readonly max: number;
}

export function flaggedBuckets(buckets: readonly Bucket[], seriesTo: number, range: ExpectedRange): FlaggedBucket[] {
  const out: FlaggedBucket[] = [];
  buckets.forEach((b, i) => {
    if (b.count === 0) return;
    const to = i + 1 < buckets.length ? buckets[i + 1]!.start - 1 : seriesTo;
    for (const [name, s] of Object.entries(b.values)) if (s.min < range.min || s.max > range.max) out.push({ from: b.start, to: Math.max(b.start, to), name, min: s.min, max: s.max });
  });
  return out;
}

export interface Reading {
  readonly ts: number;
  readonly v: number | Readonly<Record<string, number>>;
}

export interface Anomaly {
  readonly ts: number;
  readonly name: string;
  readonly value: number;
}

/** Each value outside the range, per value name (`v` for scalar readings). */
export function anomaliesOf(readings: readonly Reading[], range: ExpectedRange): Anomaly[] {
  const out: Anomaly[] = [];
  for (const r of readings) {
    const values: [string, number][] = typeof r.v === 'number' ? [['v', r.v]] : Object.entries(r.v);
    for (const [name, value] of values) if (value < range.min || value > range.max) out.push({ ts: r.ts, name, value });
  }
  return out;
}

/** One page of feed-ingest's range read (`GET /feeds/:feedId/readings?from&to&limit`). */
export type ReadingsPage = (from: number, to: number) => Promise<{ readonly readings: readonly Reading[]; readonly truncated: boolean }>;

/**
 * Every reading of [from, to], following `truncated` as feed-ingest documents it: ask again from
 * the last reading's ts and skip the readings at that ts already held. At most `maxPages` pages;
 * `complete` is false when they did not reach the end (or a page made no progress: more readings
 * at one millisecond than a page holds).
 */
export async function readAllReadings(page: ReadingsPage, from: number, to: number, maxPages = 20): Promise<{ readings: Reading[]; complete: boolean }> {
  const out: Reading[] = [];
  let cursor = from;
  for (let p = 0; p < maxPages; p++) {
    const r = await page(cursor, to);
    // The readings at `cursor` this page repeats: those of the previous page at that ts.
    let repeated = p === 0 ? 0 : out.reduce((n, x) => n + (x.ts === cursor ? 1 : 0), 0);
    const before = out.length;
    for (const x of r.readings) {
      if (repeated > 0 && x.ts === cursor) {
        repeated--;
        continue;
      }
      out.push(x);
    }
    if (!r.truncated) return { readings: out, complete: true };
    const last = out.at(-1);
    if (out.length === before || last === undefined) return { readings: out, complete: false };
    cursor = last.ts;
  }
  return { readings: out, complete: false };
}
