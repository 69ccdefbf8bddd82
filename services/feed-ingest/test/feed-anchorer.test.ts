import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { feedLeafHash, merkleRoot } from '@twinledger/audit';
import type { DhtNode, FeedHead } from '@twinledger/dht';
import { signFeedUpdate, signingKeyFromSeed, type FeedUpdate } from '@twinledger/dht/records';
import { chaincodeRejection, type ChaincodeErrorCode } from '@twinledger/ledger';
import type { FeedAnchor, TwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createFeedAnchorer, type FeedAnchorerInit } from '../src/domain/feed-anchorer.js';
import type { FeedRecord, FeedRegistry } from '../src/domain/feed-registry.js';

// The anchorer's schedule and bookkeeping with small fakes of our own interfaces (the DHT node's
// feed reads, the ledger's anchor calls); the real round trip is feed-anchors.int.test.ts.
const key = signingKeyFromSeed(new Uint8Array(randomBytes(32)));
const TOPIC = 'bp-1/sensor-fill-level-1';

function world(init: Partial<FeedAnchorerInit> = {}) {
  const records: FeedUpdate[] = [];
  const anchors: FeedAnchor[] = [];
  let clock = 1_000_000;
  let refuseNext: ChaincodeErrorCode | undefined;
  const feed = { feedId: '', twinId: 'bp-1', componentId: 'sensor-fill-level-1', topic: TOPIC } as FeedRecord;
  const append = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const u = signFeedUpdate(key, { topic: TOPIC, index: records.length, timeStart: records.length, timeEnd: records.length, ref: randomBytes(32).toString('hex') });
      records.push(u);
      (feed as { feedId: string }).feedId = u.feedId;
    }
  };
  const dht = {
    feedHead: async () => (records.length === 0 ? undefined : ({ latestIndex: records.length - 1 } as FeedHead)),
    feedUpdateRecords: async (_f: string, from: number, to: number) => records.slice(from, to + 1),
  } as unknown as DhtNode;
  const ledger = {
    listFeedAnchorTips: async () => (anchors.length ? [anchors[anchors.length - 1]!] : []),
    anchorFeedRoot: async (twinId: string, componentId: string, feedId: string, fromIndex: number, toIndex: number, root: string) => {
      if (refuseNext) {
        const code = refuseNext;
        refuseNext = undefined;
        throw chaincodeRejection(code, `${code}: refused`);
      }
      const next = anchors.length ? anchors[anchors.length - 1]!.toIndex + 1 : 0;
      if (fromIndex !== next) throw chaincodeRejection('INVALID_STATE', 'INVALID_STATE: gap');
      const a = { twinId, componentId, feedId, fromIndex, toIndex, root, anchoredBy: { mspId: 'Org1MSP', id: 'x' }, timestamp: new Date(clock).toISOString(), txId: `tx${anchors.length}` };
      anchors.push(a);
      return { result: a, transactionId: a.txId, blockNumber: 1n };
    },
  } as unknown as TwinLedger;
  const registry = { list: () => (records.length ? [feed] : []) } as unknown as FeedRegistry;
  const anchorer = createFeedAnchorer({ periodMs: 60_000, maxPendingUpdates: 0, minIntervalMs: 60_000, maxUpdatesPerAnchor: 100_000, now: () => clock, ...init }, { registry, dht, ledger, logger: silentLogger() });
  return {
    anchorer,
    anchors,
    records,
    append,
    advance: (ms: number) => void (clock += ms),
    refuse: (code: string) => void (refuseNext = code),
  };
}

describe('feed anchorer', () => {
  it('anchors by period: at most one transaction per feed per minute, contiguous, roots over the signed records', async () => {
    const w = world();
    // Ten simulated minutes of appends, a pass every 5 s.
    for (let s = 0; s < 600; s += 5) {
      w.append(3);
      await w.anchorer.pass();
      w.advance(5000);
    }
    expect(w.anchors.length).toBe(10);
    for (const [i, a] of w.anchors.entries()) {
      expect(a.fromIndex).toBe(i === 0 ? 0 : w.anchors[i - 1]!.toIndex + 1);
      expect(a.root).toBe(merkleRoot(w.records.slice(a.fromIndex, a.toIndex + 1).map(feedLeafHash)).toString('hex'));
    }
    const times = w.anchors.map((a) => Date.parse(a.timestamp));
    expect(times.slice(1).every((t, i) => t - times[i]! >= 60_000)).toBe(true);
  });

  it('by count: anchors as soon as enough updates wait, never before the interval floor; caps the range per anchor', async () => {
    const w = world({ periodMs: 3_600_000, maxPendingUpdates: 50, minIntervalMs: 10_000, maxUpdatesPerAnchor: 40 });
    w.append(10);
    await w.anchorer.pass();
    expect(w.anchors).toHaveLength(0);
    w.append(100);
    await w.anchorer.pass();
    expect(w.anchors.map((a) => [a.fromIndex, a.toIndex])).toEqual([[0, 39]]);
    await w.anchorer.pass();
    expect(w.anchors).toHaveLength(1);
    w.advance(10_000);
    await w.anchorer.pass();
    expect(w.anchors.map((a) => [a.fromIndex, a.toIndex])).toEqual([
      [0, 39],
      [40, 79],
    ]);
  });

  it('a feed the ledger refuses (not registered there, no feed:register) is tried once per interval, not once per tick', async () => {
    const w = world({ periodMs: 60_000, minIntervalMs: 60_000 });
    w.append(5);
    w.refuse('NOT_FOUND');
    await w.anchorer.pass();
    w.refuse('NOT_FOUND');
    for (let s = 0; s < 55; s += 5) {
      w.advance(5000);
      await w.anchorer.pass();
    }
    // Still refused-once state: the second refusal was never used (no attempt within the minute).
    expect(w.anchors).toHaveLength(0);
    w.advance(5000);
    await w.anchorer.pass();
    expect(w.anchors).toHaveLength(0);
    w.advance(60_000);
    await w.anchorer.pass();
    expect(w.anchors.map((a) => [a.fromIndex, a.toIndex])).toEqual([[0, 4]]);
  });

  it('after a refused or moved tip it reads the ledger again and continues where the ledger stands', async () => {
    const w = world({ minIntervalMs: 0, periodMs: 0 });
    w.append(5);
    w.refuse('UNAVAILABLE');
    await w.anchorer.pass();
    expect(w.anchors).toHaveLength(0);
    await w.anchorer.pass();
    expect(w.anchors.map((a) => a.toIndex)).toEqual([4]);
    // Another process of ours anchored meanwhile (the tip moved): the next pass re-reads it.
    w.append(5);
    w.refuse('INVALID_STATE');
    await w.anchorer.pass();
    await w.anchorer.pass();
    expect(w.anchors.map((a) => [a.fromIndex, a.toIndex])).toEqual([
      [0, 4],
      [5, 9],
    ]);
    expect(w.anchorer.tip(w.records[0]!.feedId)).toMatchObject({ toIndex: 9 });
  });
});
