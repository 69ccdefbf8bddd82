import { describe, expect, it } from '@jest/globals';
import type { DhtNode } from '@twinledger/dht';
import { AclDeniedError } from '@twinledger/dht/errors';
import type { Reading } from '@twinledger/readings';
import { createFeedReader } from '../src/domain/feed-reader.js';
import type { FeedAccess } from '../src/domain/feed-access.js';
import type { FeedRegistry } from '../src/domain/feed-registry.js';
import { FEED_A as FEED, fakeFeedDht as fakeDht } from './support/fakes.js';

/** Series reads never consult the registry (authorization is the route's step). */
const createFeedRegistry = (): FeedRegistry => ({ get: () => undefined }) as unknown as FeedRegistry;

/** These reads are not authorized here (the routes call authorize; see ledger-access.int.test.ts): any use of it fails. */
const access: FeedAccess = {
  require: async () => {
    throw new Error('authorization is not part of these tests');
  },
  allows: async () => false,
  readers: async () => [],
};

/** The plain definition of the series, to check the optimized one against. */
function reference(readings: Reading[], from: number, to: number, buckets: number): { start: number; count: number; values: Record<string, { min: number; max: number; mean: number }> }[] {
  const width = Math.max(1, Math.ceil((to - from + 1) / buckets));
  const by = new Map<number, Reading[]>();
  for (const r of readings) {
    if (r.ts < from || r.ts > to) continue;
    const b = Math.floor((r.ts - from) / width);
    by.set(b, [...(by.get(b) ?? []), r]);
  }
  return [...by.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([b, rs]) => {
      const values: Record<string, { min: number; max: number; mean: number }> = {};
      const names = new Set(rs.flatMap((r) => (typeof r.v === 'number' ? ['v'] : Object.keys(r.v))));
      for (const name of names) {
        const xs = rs.flatMap((r) => (typeof r.v === 'number' ? (name === 'v' ? [r.v] : []) : r.v[name] !== undefined ? [r.v[name]!] : []));
        values[name] = { min: Math.min(...xs), max: Math.max(...xs), mean: xs.reduce((s, x) => s + x, 0) / xs.length };
      }
      return { start: from + b * width, count: rs.length, values };
    });
}

function reading(ts: number, v: Reading['v']): Reading {
  return { feed: FEED, component: 'pump', ts, v, u: 'bar' };
}

describe('feed reader series', () => {
  // Three segments; the middle one arrives out of device-time order and mixes named values.
  const segments: Reading[][] = [
    Array.from({ length: 300 }, (_, i) => reading(1000 + i * 7, Math.sin(i / 10))),
    Array.from({ length: 200 }, (_, i) => reading(3200 + ((i * 37) % 200) * 5, i % 3 === 0 ? { temp: i / 4, rpm: 1000 - i } : { temp: -i })),
    Array.from({ length: 100 }, (_, i) => reading(4300 + i * 11, i % 2 === 0 ? 5 + i : { rpm: i })),
  ];
  const all = segments.flat();

  it('gives per bucket count, min, max and mean of every value name, as the plain definition does', async () => {
    const { dht } = fakeDht(segments);
    const reader = createFeedReader({ dht, registry: createFeedRegistry(), access, maxSegmentsPerQuery: 100 });
    for (const [from, to, buckets] of [
      [0, 6000, 17],
      [1500, 4000, 400],
      [3300, 3300, 1],
      [4300, 5389, 3],
    ] as const) {
      const got = (await reader.series(FEED, from, to, buckets)).buckets;
      const want = reference(all, from, to, buckets);
      expect(got.map((b) => ({ start: b.start, count: b.count, names: Object.keys(b.values).sort() }))).toEqual(want.map((b) => ({ start: b.start, count: b.count, names: Object.keys(b.values).sort() })));
      for (let i = 0; i < want.length; i++) {
        for (const [name, s] of Object.entries(want[i]!.values)) {
          expect(got[i]!.values[name]!.min).toBe(s.min);
          expect(got[i]!.values[name]!.max).toBe(s.max);
          expect(got[i]!.values[name]!.mean).toBeCloseTo(s.mean, 9);
        }
      }
    }
    expect(all.length).toBe(600);
  });

  it('anchors a relative window at the newest reading in one call and returns that window', async () => {
    const { dht, calls } = fakeDht(segments);
    const reader = createFeedReader({ dht, registry: createFeedRegistry(), access, maxSegmentsPerQuery: 100 });
    const newest = Math.max(...segments[2]!.map((r) => r.ts));
    const s = await reader.seriesToLatest(FEED, 1000, 10);
    expect(s.to).toBe(newest);
    expect(s.from).toBe(newest - 1000);
    expect(s.latest?.ts).toBe(newest);
    expect(s.buckets).toEqual((await reader.series(FEED, newest - 1000, newest, 10)).buckets);
    expect(s.buckets.reduce((n, b) => n + b.count, 0)).toBe(all.filter((r) => r.ts >= newest - 1000).length);
    expect(calls['latest']).toBe(1);
  });

  it('gives an empty feed the window ending now and no buckets', async () => {
    const dht = { rangeByTime: async () => [], latest: async () => undefined } as unknown as DhtNode;
    const reader = createFeedReader({ dht, registry: createFeedRegistry(), access, maxSegmentsPerQuery: 100, now: () => 50_000 });
    expect(await reader.seriesToLatest(FEED, 60_000, 10)).toEqual({ from: 0, to: 50_000, latest: undefined, buckets: [], truncated: false });
  });

  it('serves repeated queries from decoded segments without decoding a cached reference again', async () => {
    const { dht } = fakeDht(segments);
    const reader = createFeedReader({ dht, registry: createFeedRegistry(), access, maxSegmentsPerQuery: 100 });
    const first = await reader.series(FEED, 0, 6000, 20);
    // The same references now come with garbage bytes: only a decode would notice.
    const entries = await dht.rangeByTime(FEED, 0, 6000);
    const broken = { ...dht, rangeByTime: async () => entries.map((e) => ({ ...e, payload: new Uint8Array([1, 2, 3]) })) } as unknown as DhtNode;
    Object.assign(dht, { rangeByTime: broken.rangeByTime });
    expect(await reader.series(FEED, 0, 6000, 20)).toEqual(first);
    const off = createFeedReader({ dht, registry: createFeedRegistry(), access, maxSegmentsPerQuery: 100, decodedCacheReadings: 0 });
    await expect(off.series(FEED, 0, 6000, 20)).rejects.toMatchObject({ code: 'SEGMENT_MALFORMED' });
  });
});

describe('feed reader authorization of another organization\'s feed', () => {
  const caller = { subject: 'u@Org2MSP', mspId: 'Org2MSP', fabricIdentity: 'User1' };
  const headRefused = {
    async feedHead() {
      throw new AclDeniedError('party is not in the item ACL', { details: { mspId: 'Org2MSP' } });
    },
  } as unknown as DhtNode;
  const ledgerAllows = (asked: string[]): FeedAccess => ({
    require: async (_c, twinId) => {
      asked.push(twinId);
    },
    allows: async () => true,
    readers: async () => [],
  });

  // The head is readable only by the feed's parties (and its replicas): an organization outside
  // the party set learns no twin to ask the ledger about. Which of its nodes hold replicas is
  // chance, so the answer must not depend on it: always the feed refusal, never the DHT's code.
  it('answers FEED_ACCESS_DENIED for feed:read when the storing nodes refuse this organization the feed head', async () => {
    const asked: string[] = [];
    const reader = createFeedReader({ dht: headRefused, registry: createFeedRegistry(), access: ledgerAllows(asked), maxSegmentsPerQuery: 10 });
    await expect(reader.authorize(FEED, caller)).rejects.toMatchObject({ code: 'FEED_ACCESS_DENIED', httpStatus: 403, details: { feedId: FEED, permission: 'feed:read' } });
    expect(asked).toEqual([]);
  });

  it('answers UNKNOWN_FEED for a feed with no head anywhere', async () => {
    const reader = createFeedReader({ dht: { feedHead: async () => undefined } as unknown as DhtNode, registry: createFeedRegistry(), access: ledgerAllows([]), maxSegmentsPerQuery: 10 });
    await expect(reader.authorize(FEED, caller)).rejects.toMatchObject({ code: 'UNKNOWN_FEED' });
  });
});

describe('feed reader past the DHT\'s range cap (oldest entries first, at most the cap per call)', () => {
  // 25 segments of 4 readings: segment i holds ts 10_000 + i*100 + k*20 (k = 0..3), value 4i + k.
  const CAP = 10;
  const many: Reading[][] = Array.from({ length: 25 }, (_, i) => Array.from({ length: 4 }, (_, k) => reading(10_000 + i * 100 + k * 20, 4 * i + k)));
  const all = many.flat();
  const readerOver = (cap: number, init: { maxSegmentsPerSeries?: number } = {}) => {
    const { dht, calls } = fakeDht(many, cap);
    return { calls, reader: createFeedReader({ dht, registry: createFeedRegistry(), access, maxSegmentsPerQuery: CAP, ...init }) };
  };

  it('says truncated when the DHT returned its cap before `to`, and a client continuing from the last reading\'s ts gets every reading', async () => {
    const { reader } = readerOver(CAP);
    const first = await reader.range(FEED, 0, 1_000_000, 1000);
    expect(first.readings).toEqual(all.slice(0, 4 * CAP));
    expect(first.truncated).toBe(true);
    // The documented continuation: from the last reading's ts (readings at that ts come again).
    const got = new Map<number, Reading>();
    let from = 0;
    let asked = 0;
    for (let more = true; more; asked++) {
      const page = await reader.range(FEED, from, 1_000_000, 1000);
      for (const r of page.readings) got.set(r.ts, r);
      more = page.truncated;
      from = page.readings.at(-1)!.ts;
    }
    expect([...got.values()]).toEqual(all);
    expect(asked).toBe(3);
  });

  it('is not truncated when the window ends inside what the DHT returned, or the DHT returned less than its cap', async () => {
    const { reader } = readerOver(CAP);
    expect(await reader.range(FEED, 0, 10_000 + 5 * 100 + 60, 1000)).toEqual({ readings: all.slice(0, 24), truncated: false });
    expect(await reader.range(FEED, 10_000 + 18 * 100, 1_000_000, 1000)).toEqual({ readings: all.slice(18 * 4), truncated: false });
    // The cap reached but the last segment ends after `to`: nothing of the window is left.
    expect(await reader.range(FEED, 0, 10_000 + 9 * 100 + 30, 1000)).toEqual({ readings: all.slice(0, 4 * 9 + 2), truncated: false });
  });

  it('the segments of a cap-truncated range are exactly those served (the proof covers what the answer holds)', async () => {
    const { reader } = readerOver(CAP);
    const r = await reader.rangeWithSegments(FEED, 0, 1_000_000, 1000);
    expect(r.truncated).toBe(true);
    expect(r.segments.map((s) => [s.index, s.offset, s.count])).toEqual(Array.from({ length: CAP }, (_, i) => [i, 4 * i, 4]));
    expect(r.readings).toHaveLength(4 * CAP);
  });

  it('pages the series through the DHT past its cap and says it is complete', async () => {
    const { reader, calls } = readerOver(CAP);
    const s = await reader.series(FEED, 0, 20_000, 50);
    expect(s.truncated).toBe(false);
    expect(s.buckets).toEqual(reference(all, 0, 20_000, 50));
    expect(s.buckets.reduce((n, b) => n + b.count, 0)).toBe(all.length);
    expect(calls['rangeByTime']).toBe(3);
  });

  it('samples a window of more segments than its bound: runs spread evenly over the whole window, said by `sampled`', async () => {
    const { reader, calls } = readerOver(CAP, { maxSegmentsPerSeries: 15 });
    const s = await reader.series(FEED, 0, 20_000, 50);
    expect(s.truncated).toBe(false);
    expect(s.sampled).toEqual({ segments: 14, of: 25 });
    // Two runs of 7 (at most half the bound), the first at the window's start, the last ending
    // at its end: the newest readings are charted, not only the oldest.
    const read = [...Array.from({ length: 7 }, (_, i) => i), ...Array.from({ length: 7 }, (_, i) => 18 + i)];
    const readings = read.flatMap((i) => all.slice(4 * i, 4 * i + 4));
    expect(s.buckets).toEqual(reference(readings, 0, 20_000, 50));
    expect(s.buckets.at(-1)!.start).toBe(reference(all, 0, 20_000, 50).at(-1)!.start);
    expect(calls['rangeByTime']).toBe(0);
    // Exactly as many segments as the window holds: read whole, not sampled.
    const whole = await readerOver(CAP, { maxSegmentsPerSeries: 25 }).reader.series(FEED, 0, 20_000, 50);
    expect(whole.sampled).toBeUndefined();
    expect(whole.buckets).toEqual(reference(all, 0, 20_000, 50));
  });

  it('samples a relative window past the bound too, ending at the newest reading', async () => {
    const { reader } = readerOver(CAP);
    const newest = all.at(-1)!.ts;
    const s = await reader.seriesToLatest(FEED, newest - 10_000, 20);
    expect(s).toMatchObject({ from: 10_000, to: newest, truncated: false });
    expect(s.buckets).toEqual(reference(all, 10_000, newest, 20));
    const bounded = await readerOver(CAP, { maxSegmentsPerSeries: 12 }).reader.seriesToLatest(FEED, newest - 10_000, 20);
    expect(bounded.sampled?.segments).toBeLessThanOrEqual(12);
    expect(bounded.buckets.at(-1)).toEqual(reference(all, 10_000, newest, 20).at(-1));
  });

  it('is complete, not truncated, when the window holds exactly as many segments as the bound (full pages)', async () => {
    // 19 segments: a page of 10, then a full page of 10 starting at the cursor's segment (9 new)
    // that ends at `to`: the walk is at its bound with every segment of the window read.
    const { reader } = readerOver(CAP, { maxSegmentsPerSeries: 19 });
    const to = all[19 * 4 - 1]!.ts;
    const s = await reader.series(FEED, 0, to, 50);
    expect(s).toMatchObject({ truncated: false });
    expect(s.sampled).toBeUndefined();
    expect(s.buckets).toEqual(reference(all.slice(0, 76), 0, to, 50));
  });

  it('gives no buckets, without reading a segment, for a window the feed has nothing in', async () => {
    const { reader, calls } = readerOver(CAP);
    expect(await reader.series(FEED, 5_000_000, 6_000_000, 10)).toEqual({ buckets: [], truncated: false });
    expect(calls['rangeByTime']).toBe(0);
  });

  it('reads on when the cap ends exactly at `to`: the next segment may start at that millisecond', async () => {
    // A flush split the readings of ts 30 and 60 across two segments each.
    const split: Reading[][] = [0, 30, 60].map((t0, i) => [reading(t0, i), reading(t0 + 10, i), reading(t0 + 30, i)]);
    const { dht } = fakeDht(split, 2);
    const reader = createFeedReader({ dht, registry: createFeedRegistry(), access, maxSegmentsPerQuery: 2 });
    const r = await reader.range(FEED, 0, 60, 1000);
    expect(r).toMatchObject({ truncated: true });
    expect(r.readings.map((x) => x.ts)).toEqual([0, 10, 30, 30, 40, 60]);
    const s = await reader.series(FEED, 0, 60, 1);
    expect(s).toMatchObject({ truncated: false, buckets: [{ start: 0, count: 7 }] });
  });

  it('ends, truncated, when paging makes no progress (more segments than the cap share one end time)', async () => {
    const same: Reading[][] = Array.from({ length: 15 }, (_, i) => [reading(5000, i), reading(5000, -i)]);
    const { dht, calls } = fakeDht(same, 4);
    const reader = createFeedReader({ dht, registry: createFeedRegistry(), access, maxSegmentsPerQuery: 4 });
    const s = await reader.series(FEED, 0, 10_000, 1);
    expect(s.truncated).toBe(true);
    expect(s.buckets[0]!.count).toBe(8);
    expect(calls['rangeByTime']).toBe(2);
  });
});
