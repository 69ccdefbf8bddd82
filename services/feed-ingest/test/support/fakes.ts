// Fakes of our own interfaces shared by feed-ingest's unit tests.
import { createHash } from 'node:crypto';
import { feedLeafHash, merkleTree } from '@twinledger/audit';
import { ItemNotFoundError, type DhtNode, type FeedEntry } from '@twinledger/dht';
import { canonicalBytes, signFeedUpdate, signingKeyFromSeed, type FeedUpdate } from '@twinledger/dht/records';
import type { FeedAnchor } from '@twinledger/ledger';
import type { Producer } from '@twinledger/kafka';
import { decodeReadingsMessage, encodeSegment, type Reading } from '@twinledger/readings';
import type { FeedAccess } from '../../src/domain/feed-access.js';
import type { FeedRecord } from '../../src/domain/feed-registry.js';

/** The feed fakeFeedDht serves (feedRecord('a')'s id). */
export const FEED_A = 'a'.repeat(64);

/**
 * A hand-written fake of the DHT node's feed reads: segments in index order, calls counted.
 * rangeByTime honours a cap as packages/dht feeds.ts does: from the first index ending at or
 * after `from`, at most min(limit, cap) indices, oldest first, stopping at one starting after `to`.
 */
export function fakeFeedDht(segments: Reading[][], cap = Number.MAX_SAFE_INTEGER): { dht: DhtNode; calls: Record<string, number> } {
  const entries: FeedEntry[] = segments.map((rs, index) => ({
    feedId: FEED_A,
    index,
    timeStart: Math.min(...rs.map((r) => r.ts)),
    timeEnd: Math.max(...rs.map((r) => r.ts)),
    ref: String(index).padStart(64, '0'),
    payload: encodeSegment(rs, { feedId: FEED_A }),
  }));
  return feedDhtOver(entries, cap);
}

/**
 * A feed as its owner writes it: per segment an owner-signed update record, a manifest whose
 * canonical JSON hashes to the record's ref, and the segment; the first `anchored` indices
 * anchored on the ledger in one anchor (for the evidence and readings-proof routes, whose
 * source then runs for real: createFeedEvidenceSource).
 */
export function signedFeedDht(topic: string, segments: Reading[][], anchored: number): { dht: DhtNode; feedId: string; anchors: FeedAnchor[] } {
  const owner = signingKeyFromSeed(new Uint8Array(32).fill(7));
  const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
  const segs = segments.map((rs, index) => {
    const payload = encodeSegment(rs, {});
    const manifest = { v: 1, objectId: 'c'.repeat(64), plaintextHash: sha(payload), size: payload.length, chunks: [] as unknown[] };
    const u = signFeedUpdate(owner, { topic, index, timeStart: Math.min(...rs.map((r) => r.ts)), timeEnd: Math.max(...rs.map((r) => r.ts)), ref: sha(canonicalBytes(manifest)) });
    return { payload, manifest, u };
  });
  const feedId = segs[0]!.u.feedId;
  const entries: FeedEntry[] = segs.map(({ u, payload }) => ({ feedId, index: u.index, timeStart: u.timeStart, timeEnd: u.timeEnd, ref: u.ref, payload }));
  const byRef = (ref: string) => {
    const hit = segs.find((x) => x.u.ref === ref);
    if (!hit) throw new ItemNotFoundError(`no object ${ref}`);
    return hit;
  };
  const records = (from: number, to: number): FeedUpdate[] => segs.filter((x) => x.u.index >= from && x.u.index <= to).map((x) => x.u);
  const anchors: FeedAnchor[] = anchored === 0 ? [] : [{
    twinId: 't', componentId: 'ca', feedId, fromIndex: 0, toIndex: anchored - 1,
    root: merkleTree(records(0, anchored - 1).map(feedLeafHash)).root.toString('hex'),
    anchoredBy: { mspId: 'Org1MSP', id: 'x509::/CN=feed-ingest' }, timestamp: new Date(0).toISOString(), txId: 'a'.repeat(64),
  }];
  const dht = {
    ...feedDhtOver(entries, Number.MAX_SAFE_INTEGER).dht,
    feedUpdateRecords: async (_feedId: string, from: number, to: number) => records(from, to),
    feedUpdateReplicas: async (_feedId: string, index: number) => records(index, index),
    getManifest: async (ref: string) => byRef(ref).manifest,
    getObject: async (ref: string) => byRef(ref).payload,
  } as unknown as DhtNode;
  return { dht, feedId, anchors };
}

function feedDhtOver(entries: readonly FeedEntry[], cap: number): { dht: DhtNode; calls: Record<string, number> } {
  const calls: Record<string, number> = { rangeByTime: 0, latest: 0 };
  const dht = {
    async rangeByTime(_feedId: string, from: number, to: number, limit?: number) {
      // A reader that pages without end fails here instead of hanging the test run.
      if (calls['rangeByTime']!++ > 100) throw new Error('rangeByTime asked more than 100 times for one read');
      const lo = entries.findIndex((e) => e.timeEnd >= from);
      if (lo < 0) return [];
      const out: FeedEntry[] = [];
      for (const e of entries.slice(lo, lo + Math.min(limit ?? cap, cap))) {
        if (e.timeStart > to) break;
        if (e.timeEnd >= from) out.push(e);
      }
      return out;
    },
    // The searches of packages/dht feeds.ts, uncapped: no segment is read.
    async indexRangeByTime(_feedId: string, from: number, to: number) {
      calls['indexRangeByTime'] = (calls['indexRangeByTime'] ?? 0) + 1;
      const first = entries.findIndex((e) => e.timeEnd >= from);
      if (first < 0 || entries[first]!.timeStart > to) return undefined;
      let last = first;
      while (last + 1 < entries.length && entries[last + 1]!.timeStart <= to) last++;
      return { first, last };
    },
    async rangeByIndex(_feedId: string, from: number, to: number) {
      calls['rangeByIndex'] = (calls['rangeByIndex'] ?? 0) + 1;
      return entries.slice(from, to + 1);
    },
    async feedHead() {
      return entries.length === 0 ? undefined : { feedId: entries[0]!.feedId, latestIndex: entries.length - 1 };
    },
    async latest() {
      calls['latest']!++;
      return entries.at(-1);
    },
  } as unknown as DhtNode;
  return { dht, calls };
}

/**
 * A hand-written producer: records what each send carried and fails the sends a test picks
 * (as a broker that goes away mid-batch does). The real-broker version of this is in
 * feed-ingest.int.test.ts.
 */
export function fakeProducer(fail: (sendNo: number, key: string) => boolean) {
  const delivered: Array<{ key: string; readings: Reading[] }> = [];
  let sends = 0;
  const producer = {
    async send(req: { messages: Array<{ key: string; value: string }> }) {
      const no = sends++;
      await new Promise((r) => setImmediate(r));
      if (req.messages.some((m) => fail(no, m.key))) throw new Error('broker went away');
      for (const m of req.messages) delivered.push({ key: m.key, readings: decodeReadingsMessage(m.key, m.value) });
      return [];
    },
  };
  return { producer: producer as unknown as Producer, delivered, sends: () => sends };
}

/** A feed record of the registry: feed id `id` x 64, twin 't'. */
export const feedRecord = (id: string): FeedRecord => ({
  feedId: id.repeat(64), objectId: 'f'.repeat(64), topic: `t/${id}`, twinId: 't', componentId: `c${id}`, unit: 'bar',
  valueSchema: { kind: 'scalar' }, expectedRange: { min: 0, max: 10 }, acl: ['Org1MSP'], ownerPublicKey: 'k', createdAt: 'now',
});

/**
 * These tests are about Kafka acknowledgement, not authorization: every write is allowed here
 * (the ledger's decisions are tested against the real chaincode in ledger-access.int.test.ts).
 */
export const writesAllowed: FeedAccess = { require: async () => undefined, allows: async () => true, readers: async () => ['Org1MSP'] };
