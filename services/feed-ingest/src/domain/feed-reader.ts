import { ValidationError } from '@twinledger/errors';
import type { CallerIdentity } from '@twinledger/ledger-gateway';
import { mapBounded, type DhtNode, type FeedEntry } from '@twinledger/dht';
import { Permissions } from '@twinledger/ledger';
import { AclDeniedError } from '@twinledger/dht/errors';
import { FeedAccessDeniedError, UnknownFeedError } from './errors.js';
import type { FeedAccess } from './feed-access.js';
import { decodeSegment, segmentReading, segmentReadings, type DecodedSegment, type Reading } from '@twinledger/readings';
import type { FeedRegistry } from './feed-registry.js';

/**
 * Most segments one series query reads (default of FeedReaderInit.maxSegmentsPerSeries). At the
 * default segment age (250 ms) a busy feed writes 4 segments a second, so 20,000 cover about
 * 83 minutes: the console's one-hour window with room to spare, in 20 DHT pages of 1,000. The
 * bound keeps one chart request's work (and its hold on the DHT node) finite; a longer window
 * is sampled (see SAMPLE_RUN).
 */
export const MAX_SEGMENTS_PER_SERIES = 20_000;

/**
 * A window of more segments than a series reads is sampled in runs of this many consecutive
 * segments, spread evenly over its index range: the chart covers the whole window (a day of a
 * busy feed, say) instead of its oldest part, and each run still shows the signal's short-term
 * shape. Runs are read by index, a few at a time.
 */
const SAMPLE_RUN = 50;
const SAMPLE_CONCURRENCY = 4;

export interface SeriesBucket {
  readonly start: number;
  readonly count: number;
  /** Per value name ("v" for single-number feeds): min, max and mean within the bucket. */
  readonly values: Record<string, { min: number; max: number; mean: number }>;
}

export interface Series {
  readonly buckets: SeriesBucket[];
  /** Segments of the window may be left unread (feed time running backwards across segments). */
  readonly truncated: boolean;
  /**
   * The window held more segments than one query reads (`of`): the buckets are computed from
   * `segments` of them, in runs spread evenly over the window. Bucket counts are of the readings
   * read; min, max and mean are those of the sampled readings.
   */
  readonly sampled?: { readonly segments: number; readonly of: number };
}

export interface AnchoredSeries extends Series {
  /** The window actually used: `to` is the newest reading's time (now when the feed is empty). */
  readonly from: number;
  readonly to: number;
  readonly latest: Reading | undefined;
}

/** A segment a range read decoded: its feed index, reference and plaintext bytes, and which answer readings it gave. */
export interface ServedSegment {
  readonly index: number;
  readonly ref: string;
  readonly payload: Uint8Array;
  /** The answer's readings[offset .. offset + count - 1] are this segment's readings in the range, in segment order. */
  readonly offset: number;
  readonly count: number;
}

export interface RangeWithSegments {
  readonly readings: Reading[];
  /**
   * More readings of the range may exist: the reading `limit` was reached, or the segments one
   * query reads were (the DHT's cap). Continue from the last reading's ts.
   */
  readonly truncated: boolean;
  /** In index order; a truncated read stops at the segment where it stopped. */
  readonly segments: ServedSegment[];
}

/**
 * Reads feeds back from the DHT. Authorization is two-layered: the ledger first (`feed:read`
 * on the feed's twin for the caller's own identity, cached for the decision TTL), for feeds
 * registered here and feeds of other organizations alike; then the storing DHT nodes, which
 * serve segments only to the parties of the feed's ACL (only those hold a wrapped key).
 */
export interface FeedReader {
  /** 403 FEED_ACCESS_DENIED unless the ledger grants the caller feed:read on the feed's twin (also when the storing nodes refuse this organization the head of another organization's feed); 404 UNKNOWN_FEED for a feed with no head. */
  authorize(feedId: string, caller: CallerIdentity): Promise<void>;
  /** The twin a feed belongs to: from the registry, else from the feed's signed head (`topic` = twinId/componentId). */
  twinOf(feedId: string): Promise<string>;
  range(feedId: string, from: number, to: number, limit: number): Promise<{ readings: Reading[]; truncated: boolean }>;
  /** The same read as range(), with the segments the readings were decoded from (readings proofs). */
  rangeWithSegments(feedId: string, from: number, to: number, limit: number): Promise<RangeWithSegments>;
  latest(feedId: string): Promise<Reading | undefined>;
  series(feedId: string, from: number, to: number, buckets: number): Promise<Series>;
  /** The series of the `windowMs` up to the newest reading, in one call (no separate latest read). */
  seriesToLatest(feedId: string, windowMs: number, buckets: number): Promise<AnchoredSeries>;
  /** Segments appended after `afterIndex` (for live streams); returns the new last index. */
  since(feedId: string, afterIndex: number): Promise<{ readings: Reading[]; lastIndex: number }>;
}

export interface FeedReaderInit {
  readonly dht: DhtNode;
  readonly registry: FeedRegistry;
  /** The ledger's feed permissions. */
  readonly access: FeedAccess;
  /**
   * Most segments one range query decrypts, and the page size of series reads. At most the DHT
   * node's maxRangeEntries: a page shorter than asked is taken as the end of the window.
   */
  readonly maxSegmentsPerQuery: number;
  /** Most segments one series query reads, in pages; default MAX_SEGMENTS_PER_SERIES. */
  readonly maxSegmentsPerSeries?: number;
  /** Decoded segments kept for repeated queries, counted in readings; default 4,000,000 (0: off). */
  readonly decodedCacheReadings?: number;
  /** Clock for the window of an empty feed. */
  readonly now?: () => number;
}

export function createFeedReader(init: FeedReaderInit): FeedReader {
  const { dht, registry } = init;
  const now = init.now ?? Date.now;

  function checkWindow(from: number, to: number): void {
    if (to < from) throw new ValidationError('to must not be before from', { details: { from, to } });
  }

  /**
   * Decoded segments by object reference (content-addressed: a reference always names the same
   * bytes), least recently used out first. The DHT node decides whether a segment may be read
   * (it re-asks the storing nodes whenever the feed's ACL changed); only what it handed out is
   * decoded here, so this saves decoding, never an access check.
   */
  const decoded = new Map<string, DecodedSegment>();
  let decodedReadings = 0;
  const maxDecoded = init.decodedCacheReadings ?? 4_000_000;

  function decodeCached(ref: string, payload: Uint8Array): DecodedSegment {
    const hit = decoded.get(ref);
    if (hit !== undefined) {
      decoded.delete(ref);
      decoded.set(ref, hit);
      return hit;
    }
    const seg = decodeSegment(payload);
    if (maxDecoded > 0 && seg.count <= maxDecoded / 4) {
      decoded.set(ref, seg);
      decodedReadings += seg.count;
      while (decodedReadings > maxDecoded) {
        const [k, v] = decoded.entries().next().value!;
        decoded.delete(k);
        decodedReadings -= v.count;
      }
    }
    return seg;
  }

  const maxSegmentsPerSeries = init.maxSegmentsPerSeries ?? MAX_SEGMENTS_PER_SERIES;

  /**
   * The one read path: visits the segments of [from, to] oldest first, at most `maxSegments`,
   * page by page. The DHT answers at most its cap per call, oldest first, so a full page that ends
   * at or before `to` may be followed by more: the next page starts at the last entry's timeEnd
   * (segments ending there come again and are skipped by index). `visit` returning true stops the
   * walk (the caller's own limit). Returns whether segments of the window may be left unread.
   * Pages are visited as they come, so a series holds one page of payloads, not the window's.
   */
  async function walkRange(
    feedId: string,
    from: number,
    to: number,
    maxSegments: number,
    visit: (entry: FeedEntry, seg: DecodedSegment) => boolean,
  ): Promise<{ truncated: boolean; read: number }> {
    const pageSize = init.maxSegmentsPerQuery;
    let cursor = from;
    let lastIndex = -1;
    let read = 0;
    for (;;) {
      // Checked before asking: a range query (one page) then costs one DHT call, not two.
      if (read >= maxSegments) return { truncated: true, read };
      const page = await dht.rangeByTime(feedId, cursor, to, pageSize);
      let progressed = false;
      for (const entry of page) {
        if (entry.index <= lastIndex) continue;
        if (read >= maxSegments) return { truncated: true, read };
        read++;
        lastIndex = entry.index;
        progressed = true;
        if (visit(entry, decodeCached(entry.ref, entry.payload))) return { truncated: false, read };
      }
      const last = page.at(-1);
      // `<=`: a segment may start at the very millisecond the last one ended (readings of one ms split by a flush).
      if (last === undefined || page.length < pageSize || last.timeEnd > to) return { truncated: false, read };
      // A full page of segments already read: more than a page ends at the cursor, it cannot move.
      if (!progressed) return { truncated: true, read };
      cursor = last.timeEnd;
    }
  }

  /** One read path for plain ranges and ranges with proof: the segments are a by-product. */
  async function rangeWithSegments(feedId: string, from: number, to: number, limit: number): Promise<RangeWithSegments> {
    checkWindow(from, to);
    const out: Reading[] = [];
    const segments: ServedSegment[] = [];
    let limited = false;
    // One page (maxSegmentsPerQuery): a proof carries every served segment whole, so a range
    // answer stays one page and says `truncated` for the client to continue.
    const walk = await walkRange(feedId, from, to, init.maxSegmentsPerQuery, (entry, seg) => {
      const offset = out.length;
      for (let i = 0; i < seg.count; i++) {
        const ts = seg.ts[i]!;
        if (ts < from || ts > to) continue;
        if (out.length >= limit) {
          limited = true;
          break;
        }
        out.push(segmentReading(seg, i, feedId));
      }
      segments.push({ index: entry.index, ref: entry.ref, payload: entry.payload, offset, count: out.length - offset });
      return limited;
    });
    return { readings: out, truncated: limited || walk.truncated, segments };
  }

  async function latestReading(feedId: string): Promise<Reading | undefined> {
    const entry = await dht.latest(feedId);
    if (!entry) return undefined;
    const seg = decodeCached(entry.ref, entry.payload);
    // The newest by device time, not merely the last received.
    let best = 0;
    for (let i = 1; i < seg.count; i++) if (seg.ts[i]! >= seg.ts[best]!) best = i;
    return segmentReading(seg, best, feedId);
  }

  async function series(feedId: string, from: number, to: number, buckets: number): Promise<Series> {
    checkWindow(from, to);
    const width = Math.max(1, Math.ceil((to - from + 1) / buckets));
    const nb = Math.floor((to - from) / width) + 1;
    // Flat typed arrays per value name (bucket-indexed) instead of objects per bucket: the loop
    // below runs once per reading in the window (a million for an hour of a busy feed).
    const count = new Uint32Array(nb);
    const names = new Map<string, { min: Float64Array; max: Float64Array; sum: Float64Array; n: Uint32Array }>();
    const statsOf = (name: string): { min: Float64Array; max: Float64Array; sum: Float64Array; n: Uint32Array } => {
      let s = names.get(name);
      if (!s) names.set(name, (s = { min: new Float64Array(nb).fill(Infinity), max: new Float64Array(nb).fill(-Infinity), sum: new Float64Array(nb), n: new Uint32Array(nb) }));
      return s;
    };
    const add = (seg: DecodedSegment): void => {
      const ts = seg.ts;
      for (let i = 0; i < seg.count; i++) {
        const t = ts[i]!;
        if (t >= from && t <= to) count[Math.floor((t - from) / width)]!++;
      }
      for (let col = 0; col < seg.header.columns.length; col++) {
        const s = statsOf(seg.header.columns[col] || 'v');
        const { min, max, sum, n } = s;
        const xs = seg.values[col]!;
        for (let i = 0; i < seg.count; i++) {
          const t = ts[i]!;
          if (t < from || t > to) continue;
          const x = xs[i]!;
          if (Number.isNaN(x)) continue;
          const b = Math.floor((t - from) / width);
          if (x < min[b]!) min[b] = x;
          if (x > max[b]!) max[b] = x;
          sum[b] = sum[b]! + x;
          n[b]!++;
        }
      }
    };
    // Only the update records are searched here; no segment is read.
    const window = await dht.indexRangeByTime(feedId, from, to);
    if (window === undefined) return { buckets: [], truncated: false };
    const total = window.last - window.first + 1;
    let truncated = false;
    let sampled: Series['sampled'];
    if (total <= maxSegmentsPerSeries) {
      const walk = await walkRange(feedId, from, to, maxSegmentsPerSeries, (_entry, seg) => (add(seg), false));
      // A walk that stopped at its bound having read every segment of the window is complete.
      truncated = walk.truncated && walk.read < total;
    } else {
      // At least two runs (the window's start and its end), never more segments than the bound.
      const run = Math.max(1, Math.min(SAMPLE_RUN, init.maxSegmentsPerQuery, Math.floor(maxSegmentsPerSeries / 2)));
      const runs = Math.max(2, Math.floor(maxSegmentsPerSeries / run));
      // Evenly spaced starts, the first at the window's first segment, the last run ending at its last.
      const step = (total - run) / (runs - 1);
      const starts = [...new Set(Array.from({ length: runs }, (_, k) => window.first + Math.round(k * step)))];
      const head = await dht.feedHead(feedId);
      let read = 0;
      await mapBounded(starts, SAMPLE_CONCURRENCY, async (start) => {
        const entries = await dht.rangeByIndex(feedId, start, Math.min(window.last, start + run - 1), head ? { head } : undefined);
        for (const e of entries) add(decodeCached(e.ref, e.payload));
        read += entries.length;
      });
      sampled = { segments: read, of: total };
    }
    const out: SeriesBucket[] = [];
    for (let b = 0; b < nb; b++) {
      if (count[b] === 0) continue;
      const values: Record<string, { min: number; max: number; mean: number }> = {};
      for (const [name, s] of names) if (s.n[b]! > 0) values[name] = { min: s.min[b]!, max: s.max[b]!, mean: s.sum[b]! / s.n[b]! };
      out.push({ start: from + b * width, count: count[b]!, values });
    }
    return { buckets: out, truncated, ...(sampled ? { sampled } : {}) };
  }

  /**
   * Twins of other organizations' feeds. A feed id is H(owner || topic) and the storing nodes
   * check that binding and the head's signature, so a feed's topic (hence its twin) never
   * changes: safe to keep. A foreign owner can name any twin in its topic, but then only callers
   * holding feed:read on that twin may read what that owner chose to publish.
   */
  const foreignTwins = new Map<string, string>();
  async function twinOf(feedId: string): Promise<string> {
    const local = registry.get(feedId);
    if (local) return local.twinId;
    const known = foreignTwins.get(feedId);
    if (known !== undefined) return known;
    let head;
    try {
      head = await dht.feedHead(feedId);
    } catch (err) {
      // The storing nodes serve a head only to the feed's parties (and its replicas, which hold
      // it anyway): a refusal means this organization is outside the party set, so no caller of
      // it may read the feed. Whether one of our nodes happens to be a replica is chance; the
      // answer must not be, so it is the feed refusal, as when the ledger says no.
      if (err instanceof AclDeniedError) {
        throw new FeedAccessDeniedError('your organization is not a party of this feed', { cause: err, details: { feedId, permission: Permissions.FEED_READ } });
      }
      throw err;
    }
    if (!head) throw new UnknownFeedError('no feed with this id is registered here or has a head in the DHT', { details: { feedId } });
    const twinId = head.topic.split('/')[0]!;
    if (foreignTwins.size >= 10_000) foreignTwins.delete(foreignTwins.keys().next().value!);
    foreignTwins.set(feedId, twinId);
    return twinId;
  }

  return {
    twinOf,
    async authorize(feedId, caller) {
      await init.access.require(caller, await twinOf(feedId), Permissions.FEED_READ);
    },

    async range(feedId, from, to, limit) {
      const { readings, truncated } = await rangeWithSegments(feedId, from, to, limit);
      return { readings, truncated };
    },

    rangeWithSegments,

    latest: latestReading,

    series,

    async seriesToLatest(feedId, windowMs, buckets) {
      const latest = await latestReading(feedId);
      const to = latest?.ts ?? now();
      const from = Math.max(0, to - windowMs);
      return { from, to, latest, ...(latest ? await series(feedId, from, to, buckets) : { buckets: [], truncated: false }) };
    },

    async since(feedId, afterIndex) {
      const head = await dht.feedHead(feedId);
      if (!head || head.latestIndex <= afterIndex) return { readings: [], lastIndex: head ? Math.min(head.latestIndex, afterIndex) : -1 };
      const from = Math.max(afterIndex + 1, head.latestIndex - init.maxSegmentsPerQuery + 1);
      const entries = await dht.rangeByIndex(feedId, from, head.latestIndex);
      const readings = entries.flatMap((e) => segmentReadings(decodeCached(e.ref, e.payload), feedId));
      return { readings, lastIndex: head.latestIndex };
    },
  };
}
