import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { feedUpdateAddress, generateSigningKey, type DhtNode, type FeedHead } from '@twinledger/dht';
import { holdsFeedUpdate, placementOrder, rawStoreRequest, slowStoreWrites, spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';
import { signFeedUpdate } from '../src/feed-records.js';
import { signingKeyFromSeed } from '../src/signing.js';

// Pipelined feed appends on four real nodes (r = 3): several indices of one feed in flight at
// once, update records only ever contiguous, and a head left behind by a dead writer repaired.
jest.setTimeout(60_000);

let net: TestNetwork;
const n = (i: number): DhtNode => net.nodes[i] as DhtNode;
const enc = (s: string) => new TextEncoder().encode(s);
const t0 = 1_700_000_000_000;
const range = (i: number) => ({ start: t0 + i * 1000, end: t0 + i * 1000 + 999 });

beforeAll(async () => {
  net = await spawnTestNetwork({ orgs: ['Org1', 'Org2', 'Org3', 'Org4'], nodeInit: { requestTimeoutMs: 5000 } });
  await net.connectAll();
});

afterAll(async () => {
  await net?.teardown();
});

async function storedUpdate(feedId: string, index: number): Promise<boolean> {
  const address = feedUpdateAddress(feedId, index);
  const held = await Promise.all(
    (await placementOrder(n(1), address)).map((peerId) =>
      rawStoreRequest(n(1), peerId, { op: 'get-feed-update', address }).then(
        () => true,
        () => false,
      ),
    ),
  );
  return held.some((h) => h);
}

describe('pipelined feed appends', () => {
  it('takes several indices of one feed at once and moves the head in index order', async () => {
    const device = generateSigningKey();
    const topic = 'twin-1/pipelined';
    const feed = await n(0).createFeed({ topic, ownerKey: device.seed, acl: ['Org1', 'Org2'] });
    const writer = { topic, ownerKey: device.seed, objectId: feed.objectId };
    // Issued together, in index order, without waiting: the DHT orders the records and heads.
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => n(0).appendFeed(writer, i, enc(`segment-${i}`), range(i))));
    expect(results.map((r) => [r.index, r.seq, r.duplicate])).toEqual(Array.from({ length: 8 }, (_, i) => [i, i + 1, false]));
    const entries = await n(1).rangeByIndex(feed.feedId, 0, 7);
    expect(entries.map((e) => new TextDecoder().decode(e.payload))).toEqual(Array.from({ length: 8 }, (_, i) => `segment-${i}`));
    expect((await n(1).feedHead(feed.feedId))?.seq).toBe(8);

    // A replay of the whole pipeline (a crash before the offsets were committed) is idempotent.
    const again = await Promise.all(Array.from({ length: 8 }, (_, i) => n(0).appendFeed(writer, i, enc(`segment-${i}`), range(i))));
    expect(again.every((r) => r.duplicate)).toBe(true);
    expect((await n(1).feedHead(feed.feedId))?.latestIndex).toBe(7);

    // Behind a failed append (here: an index gap), the appends queued after it fail too and
    // store no update record: records stay contiguous, so nothing is ever skipped.
    const burst = await Promise.allSettled([10, 11].map((i) => n(0).appendFeed(writer, i, enc(`segment-${i}`), range(i))));
    expect(burst.map((b) => (b.status === 'rejected' ? (b.reason as { code: string }).code : 'ok'))).toEqual(['DHT_FEED_INDEX_GAP', 'DHT_FEED_INDEX_GAP']);
    expect(await storedUpdate(feed.feedId, 10)).toBe(false);
    expect(await storedUpdate(feed.feedId, 11)).toBe(false);
    expect(await n(0).appendFeed(writer, 8, enc('segment-8'), range(8))).toMatchObject({ index: 8, seq: 9 });
  });

  it('acknowledges an append at the write quorum, not at the slowest replica, which still gets its copy', async () => {
    const device = generateSigningKey();
    const topic = 'twin-1/slow-replica';
    const feed = await n(0).createFeed({ topic, ownerKey: device.seed, acl: ['Org1', 'Org2'] });
    const writer = { topic, ownerKey: device.seed, objectId: feed.objectId };
    const address = feedUpdateAddress(feed.feedId, 0);
    // A replica of the update other than the writer answers every write 3 s late.
    const slowId = (await placementOrder(n(0), address)).slice(0, 3).find((id) => id !== n(0).peerId)!;
    const slow = net.nodes.find((x) => x.peerId === slowId)!;
    const undo = slowStoreWrites(slow, 3000);
    try {
      await n(0).appendFeed(writer, 0, enc('segment-0'), range(0));
      // Acknowledged while the slow replica is still holding back its copy...
      expect(await holdsFeedUpdate(slow, address)).toBe(false);
      expect((await n(1).latest(feed.feedId))?.index).toBe(0);
      // ...which then arrives without anyone retrying.
      for (let i = 0; i < 100 && !(await holdsFeedUpdate(slow, address)); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await holdsFeedUpdate(slow, address)).toBe(true);
    } finally {
      undo();
    }
  });

  it('wakes a watcher on a head replica when a new head arrives, and reads the range from that head', async () => {
    const device = generateSigningKey();
    const topic = 'twin-1/watched';
    const feed = await n(0).createFeed({ topic, ownerKey: device.seed, acl: ['Org1', 'Org2', 'Org3', 'Org4'] });
    const writer = { topic, ownerKey: device.seed, objectId: feed.objectId };
    const headReplica = (await placementOrder(n(0), feed.feedId)).slice(0, 3).find((id) => id !== n(0).peerId)!;
    const watcher = net.nodes.find((x) => x.peerId === headReplica)!;
    const seen: FeedHead[] = [];
    const unwatch = watcher.watchFeed(feed.feedId, (h) => seen.push(h));
    for (let i = 0; i < 3; i++) await n(0).appendFeed(writer, i, enc(`segment-${i}`), range(i));
    for (let i = 0; i < 50 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    unwatch();
    expect(seen.map((h) => h.latestIndex)).toEqual([0, 1, 2]);
    await n(0).appendFeed(writer, 3, enc('segment-3'), range(3));
    expect(seen).toHaveLength(3);
    // The pushed head stands in for the replicas' heads; a forged one is refused.
    const head = seen[2]!;
    const entries = await watcher.rangeByIndex(feed.feedId, 0, 9, { head });
    expect(entries.map((e) => e.index)).toEqual([0, 1, 2]);
    await expect(watcher.rangeByIndex(feed.feedId, 0, 9, { head: { ...head, latestIndex: 3 } })).rejects.toMatchObject({ code: 'DHT_BAD_SIGNATURE' });
  });

  it('moves a head left behind by a dead writer on, so the next writer resumes after its update', async () => {
    const device = generateSigningKey();
    const topic = 'twin-1/orphan';
    const feed = await n(0).createFeed({ topic, ownerKey: device.seed, acl: ['Org1', 'Org2'] });
    const writer = { topic, ownerKey: device.seed, objectId: feed.objectId };
    for (let i = 0; i < 2; i++) await n(0).appendFeed(writer, i, enc(`segment-${i}`), range(i));
    // The dead writer stored update 2 (its segment object, then the record) but never the head.
    const put = await n(0).putObject(enc('segment-2 as cut before the crash'), { acl: ['Org1', 'Org2'] });
    const address = feedUpdateAddress(feed.feedId, 2);
    const u = signFeedUpdate(signingKeyFromSeed(device.seed), { topic, index: 2, ...{ timeStart: range(2).start, timeEnd: range(2).end }, ref: put.ref });
    for (const peerId of (await placementOrder(n(0), address)).slice(0, 3)) await rawStoreRequest(n(0), peerId, { op: 'put-feed-update', address, update: u });
    expect((await n(1).feedHead(feed.feedId))?.latestIndex).toBe(1);

    // The next writer re-cut the redelivered data differently: refused at the taken index, and
    // the head now covers the stored update, so the writer re-reads the feed and goes on at 3.
    // Its next segment, already in flight, was cut after that re-cut one: it fails too, unwritten.
    const settled = await Promise.allSettled([
      n(0).appendFeed(writer, 2, enc('segment-2 as cut after the restart'), range(2)),
      n(0).appendFeed(writer, 3, enc('segment-3 as cut after the restart'), range(3)),
    ]);
    expect(settled.map((x) => (x.status === 'rejected' ? (x.reason as { code: string }).code : 'ok'))).toEqual(['DHT_FEED_REPLAY', 'DHT_FEED_INDEX_GAP']);
    expect(await storedUpdate(feed.feedId, 3)).toBe(false);
    const latest = await n(1).latest(feed.feedId);
    expect(latest?.index).toBe(2);
    expect(new TextDecoder().decode(latest?.payload)).toBe('segment-2 as cut before the crash');
    expect(await n(0).appendFeed(writer, 3, enc('segment-3'), range(3))).toMatchObject({ index: 3, duplicate: false });
  });
});
