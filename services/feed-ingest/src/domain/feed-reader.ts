import { AccessDeniedError, ValidationError } from '@twinledger/errors';
import type { DhtNode } from '@twinledger/dht';
import { decodeSegment, segmentReadings, type DecodedSegment, type Reading } from '@twinledger/readings';
import type { FeedRegistry } from './feed-registry.js';

export interface SeriesBucket {
  readonly start: number;
  readonly count: number;
  /** Per value name ("v" for single-number feeds): min, max and mean within the bucket. */
  readonly values: Record<string, { min: number; max: number; mean: number }>;
}

/**
 * Reads feeds back from the DHT. Authorization is two-layered: a feed registered here is
 * checked against its ACL for the caller's organization first (a clear 403 without touching the
 * DHT); a feed of another organization is readable only by callers of this organization, and
 * then the storing nodes decide (they serve segments only to parties in the feed's ACL, and only
 * those parties hold a wrapped key).
 */
export interface FeedReader {
  authorize(feedId: string, callerMspId: string): void;
  range(feedId: string, from: number, to: number, limit: number): Promise<{ readings: Reading[]; truncated: boolean }>;
  latest(feedId: string): Promise<Reading | undefined>;
  series(feedId: string, from: number, to: number, buckets: number): Promise<SeriesBucket[]>;
  /** Segments appended after `afterIndex` (for live streams); returns the new last index. */
  since(feedId: string, afterIndex: number): Promise<{ readings: Reading[]; lastIndex: number }>;
}

export interface FeedReaderInit {
  readonly dht: DhtNode;
  readonly registry: FeedRegistry;
  /** This organization's MSP id. */
  readonly mspId: string;
  /** Most segments one query decrypts. */
  readonly maxSegmentsPerQuery: number;
}

export function createFeedReader(init: FeedReaderInit): FeedReader {
  const { dht, registry } = init;

  function checkWindow(from: number, to: number): void {
    if (to < from) throw new ValidationError('to must not be before from', { details: { from, to } });
  }

  async function segmentsInRange(feedId: string, from: number, to: number): Promise<DecodedSegment[]> {
    const entries = await dht.rangeByTime(feedId, from, to);
    return entries.slice(0, init.maxSegmentsPerQuery).map((e) => decodeSegment(e.payload));
  }

  return {
    authorize(feedId, caller) {
      const feed = registry.get(feedId);
      if (feed) {
        if (!feed.acl.includes(caller)) throw new AccessDeniedError('your organization is not in this feed\'s ACL', { details: { feedId } });
      } else if (caller !== init.mspId) {
        throw new AccessDeniedError('only this organization\'s members may read other organizations\' feeds through this service', { details: { feedId } });
      }
    },

    async range(feedId, from, to, limit) {
      checkWindow(from, to);
      const out: Reading[] = [];
      let truncated = false;
      for (const seg of await segmentsInRange(feedId, from, to)) {
        for (const r of segmentReadings(seg, feedId)) {
          if (r.ts < from || r.ts > to) continue;
          if (out.length >= limit) {
            truncated = true;
            break;
          }
          out.push(r);
        }
        if (truncated) break;
      }
      return { readings: out, truncated };
    },

    async latest(feedId) {
      const entry = await dht.latest(feedId);
      if (!entry) return undefined;
      const seg = decodeSegment(entry.payload);
      // The newest by device time, not merely the last received.
      let best = 0;
      for (let i = 1; i < seg.count; i++) if (seg.ts[i]! >= seg.ts[best]!) best = i;
      return segmentReadings(seg, feedId)[best];
    },

    async series(feedId, from, to, buckets) {
      checkWindow(from, to);
      const width = Math.max(1, Math.ceil((to - from + 1) / buckets));
      const acc = new Map<number, { count: number; values: Map<string, { min: number; max: number; sum: number; n: number }> }>();
      for (const seg of await segmentsInRange(feedId, from, to)) {
        for (let i = 0; i < seg.count; i++) {
          const ts = seg.ts[i]!;
          if (ts < from || ts > to) continue;
          const b = Math.floor((ts - from) / width);
          let bucket = acc.get(b);
          if (!bucket) acc.set(b, (bucket = { count: 0, values: new Map() }));
          bucket.count++;
          for (let col = 0; col < seg.header.columns.length; col++) {
            const x = seg.values[col]![i]!;
            if (Number.isNaN(x)) continue;
            const name = seg.header.columns[col] || 'v';
            let s = bucket.values.get(name);
            if (!s) bucket.values.set(name, (s = { min: x, max: x, sum: 0, n: 0 }));
            if (x < s.min) s.min = x;
            if (x > s.max) s.max = x;
            s.sum += x;
            s.n++;
          }
        }
      }
      return [...acc.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([b, v]) => ({
          start: from + b * width,
          count: v.count,
          values: Object.fromEntries([...v.values].map(([name, s]) => [name, { min: s.min, max: s.max, mean: s.sum / s.n }])),
        }));
    },

    async since(feedId, afterIndex) {
      const head = await dht.feedHead(feedId);
      if (!head || head.latestIndex <= afterIndex) return { readings: [], lastIndex: head ? Math.min(head.latestIndex, afterIndex) : -1 };
      const from = Math.max(afterIndex + 1, head.latestIndex - init.maxSegmentsPerQuery + 1);
      const entries = await dht.rangeByIndex(feedId, from, head.latestIndex);
      const readings = entries.flatMap((e) => segmentReadings(decodeSegment(e.payload), feedId));
      return { readings, lastIndex: head.latestIndex };
    },
  };
}
