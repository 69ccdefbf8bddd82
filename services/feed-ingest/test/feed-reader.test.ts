import { describe, expect, it } from '@jest/globals';
import type { DhtNode, FeedEntry } from '@twinledger/dht';
import { AclDeniedError } from '@twinledger/dht/errors';
import { encodeSegment, type Reading } from '@twinledger/readings';
import { createFeedReader } from '../src/domain/feed-reader.js';
import type { FeedAccess } from '../src/domain/feed-access.js';
import type { FeedRegistry } from '../src/domain/feed-registry.js';

/** Series reads never consult the registry (authorization is the route's step). */
const createFeedRegistry = (): FeedRegistry => ({ get: () => undefined }) as unknown as FeedRegistry;

const FEED = 'a'.repeat(64);

/** These reads are not authorized here (the routes call authorize; see ledger-access.int.test.ts): any use of it fails. */
const access: FeedAccess = {
  require: async () => {
    throw new Error('authorization is not part of these tests');
  },
  allows: async () => false,
  readers: async () => [],
};

/** A hand-written fake of the DHT node's feed reads: segments in index order, calls counted. */
function fakeDht(segments: Reading[][]): { dht: DhtNode; calls: Record<string, number> } {
  const entries: FeedEntry[] = segments.map((rs, index) => ({
    feedId: FEED,
    index,
    timeStart: Math.min(...rs.map((r) => r.ts)),
    timeEnd: Math.max(...rs.map((r) => r.ts)),
    ref: String(index).padStart(64, '0'),
    payload: encodeSegment(rs, { feedId: FEED }),
  }));
  const calls: Record<string, number> = { rangeByTime: 0, latest: 0 };
  const dht = {
    async rangeByTime(_feedId: string, from: number, to: number) {
      calls['rangeByTime']!++;
      return entries.filter((e) => e.timeEnd >= from && e.timeStart <= to);
    },
    async latest() {
      calls['latest']!++;
      return entries.at(-1);
    },
  } as unknown as DhtNode;
  return { dht, calls };
}

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
      const got = await reader.series(FEED, from, to, buckets);
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
    expect(s.buckets).toEqual(await reader.series(FEED, newest - 1000, newest, 10));
    expect(s.buckets.reduce((n, b) => n + b.count, 0)).toBe(all.filter((r) => r.ts >= newest - 1000).length);
    expect(calls['latest']).toBe(1);
  });

  it('gives an empty feed the window ending now and no buckets', async () => {
    const dht = { rangeByTime: async () => [], latest: async () => undefined } as unknown as DhtNode;
    const reader = createFeedReader({ dht, registry: createFeedRegistry(), access, maxSegmentsPerQuery: 100, now: () => 50_000 });
    expect(await reader.seriesToLatest(FEED, 60_000, 10)).toEqual({ from: 0, to: 50_000, latest: undefined, buckets: [] });
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
