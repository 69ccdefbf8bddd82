import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { join } from 'node:path';
import { createDhtNode, feedUpdateAddress, generateEncryptionKeyPair, generateSigningKey, type DhtNode, type FeedEntry } from '@twinledger/dht';
import { placementOrder, rawStoreRequest, spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';
import { signFeedHead, signFeedUpdate } from '../src/feed-records.js';
import { signingKeyFromSeed } from '../src/signing.js';

// A node started late, by an organization already in the registry, before its peer id was:
// the others' gaters refused its bootstrap dials, and once registered it was connected to only
// part of the consortium (consortium scenario step 13 read no feed head from it for 90 s). Six
// real nodes of distinct orgs (r = 3) plus the late one (Org7), over TCP on 127.0.0.1.
const ORGS = ['Org1', 'Org2', 'Org3', 'Org4', 'Org5', 'Org6'];
const LATE = 'Org7';
const R = 3;
jest.setTimeout(120_000);

let net: TestNetwork;
let late: DhtNode | undefined;
const n = (i: number): DhtNode => net.nodes[i] as DhtNode;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const t0 = 1_700_000_000_000;
const range = (i: number) => ({ start: t0 + i * 1000, end: t0 + i * 1000 + 999 });
const peersOf = (node: DhtNode): string[] => node.status().peers.map((p) => p.peerId).sort();

/** Whether the node's own store holds a head of the feed (asked locally: no network, no placement). */
function holdsHead(node: DhtNode, feedId: string): Promise<boolean> {
  return rawStoreRequest(node, node.peerId, { op: 'get-feed-head', feedId }).then(
    () => true,
    () => false,
  );
}

beforeAll(async () => {
  net = await spawnTestNetwork({ orgs: ORGS, nodeInit: { requestTimeoutMs: 5000 } });
  await net.connectAll();
  // The late organization is a known party (feeds can name it in their ACL, keys are wrapped
  // for it); only its node's peer id is not registered yet.
  const keys = generateEncryptionKeyPair();
  net.registry.upsert({ mspId: LATE, peerIds: [], encryptionPublicKey: keys.publicKey });
  late = createDhtNode(
    {
      dataDir: join(net.rootDir, 'late'),
      mspId: LATE,
      encryptionKey: keys.privateKey,
      swarmKey: net.swarmKey,
      bootstrap: net.nodes.map((x) => x.multiaddrs()[0] as string),
      // No bootstrap retries: this node must stay connected to only the peers the test picks,
      // so that only discovery can find the feed's holders (retries: bootstrap-retry test).
      bootstrapRetryMs: 0,
      requestTimeoutMs: 5000,
      repairIntervalMs: 0,
      gcIntervalMs: 0,
    },
    { registry: net.registry },
  );
});

afterAll(async () => {
  await late?.stop().catch(() => undefined);
  await net?.teardown();
});

describe('a late-started node', () => {
  it('finds the registered peers it is missing and reads the feed head no peer it sees holds', async () => {
    const device = generateSigningKey();
    const topic = 'twin-13/auditor-view';
    const feed = await n(0).createFeed({ topic, ownerKey: device.seed, acl: ['Org1', 'Org2', LATE] });
    const writer = { topic, ownerKey: device.seed, objectId: feed.objectId };
    for (let i = 0; i < 3; i++) await n(0).appendFeed(writer, i, enc(`segment-${i}`), range(i));
    // The head sits on the writer's first r; appends are acknowledged at quorum, so wait for
    // the last copy before telling holders from the rest (no repair runs: nothing else moves it).
    const holders = (await placementOrder(n(0), feed.feedId)).slice(0, R);
    for (let i = 0; i < 50; i++) {
      const held = await Promise.all(net.nodes.map((x) => holdsHead(x, feed.feedId)));
      if (held.filter(Boolean).length === R) break;
      await sleep(100);
    }
    const held = await Promise.all(net.nodes.map((x) => holdsHead(x, feed.feedId)));
    expect(net.nodes.filter((_, i) => held[i]).map((x) => x.peerId).sort()).toEqual([...holders].sort());
    const others = net.nodes.filter((_, i) => !held[i]);
    expect(others).toHaveLength(ORGS.length - R);

    // Unregistered, its bootstrap dials to every node are refused by their gaters.
    const node = late!;
    await node.start();
    // The registry learns its peer id later (in the consortium, the ledger update came long
    // after the start). kad-dht's own first self-query (1 s after start) has then run with no
    // peers, and the next is minutes away: only the node's own discovery can find the others.
    // (The wait also clears libp2p's per-host inbound limit, 5 a second, which the refused
    // dials used up: every node here is 127.0.0.1, and a dial right away is reset.)
    await sleep(2000);
    expect(peersOf(node)).toEqual([]);
    net.registry.upsert({ ...net.registry.get(LATE)!, peerIds: [node.peerId] });

    // Connected to r nodes that hold no head: with itself that is r + 1 live candidates, so the
    // "too few peers" discovery does not start, and none of its first r (nor anyone else it
    // sees) holds a head. A read finds the head only if the node goes looking for the registered
    // peers it does not see, which the head's holders are.
    for (const x of others) await node.dial(x.multiaddrs()[0]!);
    const before = peersOf(node);
    expect(before).toEqual(others.map((x) => x.peerId).sort());

    let got: FeedEntry | undefined;
    let lastError: unknown;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      try {
        got = await node.latest(feed.feedId);
        if (got !== undefined) break;
      } catch (err) {
        lastError = err;
      }
      await sleep(250);
    }
    if (got === undefined && lastError !== undefined) throw lastError;
    expect(got?.index).toBe(2);
    expect(dec(got?.payload)).toBe('segment-2');
    expect(got).toMatchObject({ feedId: feed.feedId, timeStart: range(2).start, timeEnd: range(2).end });
    expect((await node.feedHead(feed.feedId))?.seq).toBe(3);
    // Discovery connected it to the head's holders (and so to more peers than it started with).
    const after = peersOf(node);
    expect(after.length).toBeGreaterThan(before.length);
    expect(after).toEqual(expect.arrayContaining(holders));
  });

  it('reads a head held only beyond the first r of its live candidates', async () => {
    // A writer that saw another membership (a late node, a partition) put the head on peers that
    // are not this reader's first r. Stored here record by record on exactly those peers; the
    // segment object and the update record sit where this reader looks for them first.
    const reader = n(2);
    const device = generateSigningKey();
    const signer = signingKeyFromSeed(device.seed);
    const topic = 'twin-13/moved-head';
    const feed = await n(1).createFeed({ topic, ownerKey: device.seed, acl: ['Org2', 'Org3', LATE] });
    const put = await n(1).putObject(enc('segment-0'), { acl: ['Org2', 'Org3', LATE] });
    const address = feedUpdateAddress(feed.feedId, 0);
    const u = signFeedUpdate(signer, { topic, index: 0, timeStart: range(0).start, timeEnd: range(0).end, ref: put.ref });
    // A writer sends each record with the feed's ACL record: its holders answer only the feed's parties.
    const acl = (await rawStoreRequest(reader, (await placementOrder(reader, feed.objectId))[0]!, { op: 'get-acl', objectId: feed.objectId })).header['acl'];
    for (const peerId of (await placementOrder(reader, address)).slice(0, R)) await rawStoreRequest(reader, peerId, { op: 'put-feed-update', address, update: u, acl });
    // Connected to every registered node, whatever the test before left behind.
    for (const x of [...net.nodes, late]) if (x !== undefined && x !== reader && x.isStarted() && net.registry.partyOf(x.peerId)) await reader.dial(x.multiaddrs()[0]!);
    const order = await placementOrder(reader, feed.feedId);
    expect(order).toHaveLength(net.registry.list().reduce((k, p) => k + p.peerIds.length, 0));
    expect(order.length).toBeGreaterThan(R);
    const h = signFeedHead(signer, { topic, seq: 1, latestIndex: 0, latestTimeEnd: range(0).end, objectId: feed.objectId });
    for (const peerId of order.slice(R)) await rawStoreRequest(reader, peerId, { op: 'put-feed-head', head: h, acl });
    for (const peerId of order.slice(0, R)) await expect(rawStoreRequest(reader, peerId, { op: 'get-feed-head', feedId: feed.feedId })).rejects.toMatchObject({ code: 'DHT_NOT_FOUND' });

    // One read, no retry: the reader sees every registered peer, so there is nobody to discover.
    const got = await reader.latest(feed.feedId);
    expect(got?.index).toBe(0);
    expect(dec(got?.payload)).toBe('segment-0');
    expect((await reader.feedHead(feed.feedId))?.seq).toBe(1);
  });
});
