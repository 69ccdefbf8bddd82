import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createMetricsRegistry, type Registry } from '@twinledger/observability';
import { feedIdOf, feedUpdateAddress, generateSigningKey, type DhtNode } from '@twinledger/dht';
import { holdsBlob, placementOrder, rawStoreRequest, spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';

// Issue #17: storing nodes answer ACL, locator, feed-head and feed-update requests (and `have`)
// only to parties in the item's ACL and to the item's replicas. Requests go straight over the
// store protocol from the attacking node, as a malicious consortium member would send them.
// Six nodes of six orgs, r = 3: for every key some node is neither a member nor a replica.
jest.setTimeout(120_000);

const ORGS = ['Org1', 'Org2', 'Org3', 'Org4', 'Org5', 'Org6'];
let net: TestNetwork;
const registries: Registry[] = [];
const n = (i: number): DhtNode => net.nodes[i] as DhtNode;
const enc = (s: string) => new TextEncoder().encode(s);
const t0 = 1_700_000_000_000;

beforeAll(async () => {
  net = await spawnTestNetwork({
    orgs: ORGS,
    nodeInit: { requestTimeoutMs: 5000, repairIntervalMs: 0 },
    // A fresh registry per start: a restarted node registers its metrics again.
    metricsRegistry: (i) => (registries[i] = createMetricsRegistry({ prefix: 'twinledger_dht_', defaultMetrics: false })),
  });
  await net.connectAll();
});

afterAll(async () => {
  await net?.teardown();
});

const indexOf = (peerId: string): number => net.nodes.findIndex((x) => x.isStarted() && x.peerId === peerId);

/** For `key`: a node outside `acl` and outside the key's first r replicas, and the replicas. */
async function outsiderAndReplicas(key: string, acl: readonly string[]): Promise<{ outsider: DhtNode; replicas: string[] }> {
  const replicas = (await placementOrder(n(0), key)).slice(0, 3);
  const outsider = net.nodes.find((x) => x.isStarted() && !acl.includes(x.mspId) && !replicas.includes(x.peerId));
  if (outsider === undefined) throw new Error('no outsider for this key');
  return { outsider, replicas };
}

/** The answer of the first replica of `key` that holds the item, asked by `from`. */
async function askHolder(from: DhtNode, replicas: readonly string[], header: Record<string, unknown>) {
  let last: unknown;
  for (const peerId of replicas) {
    try {
      return await rawStoreRequest(from, peerId, header);
    } catch (err) {
      last = err;
      if ((err as { code?: string }).code !== 'DHT_NOT_FOUND') throw err;
    }
  }
  throw last;
}

describe('metadata follows the item ACL', () => {
  let objectId: string;
  let ref: string;
  let feedId: string;
  let writer: { topic: string; ownerKey: Uint8Array; objectId: string };
  const members = ['Org1', 'Org2'];

  beforeAll(async () => {
    const put = await n(0).putObject(enc('design document'), { acl: members });
    objectId = put.objectId;
    ref = put.ref;
    const device = generateSigningKey();
    const topic = 'twin-7/pressure';
    const feed = await n(0).createFeed({ topic, ownerKey: device.seed, acl: members });
    feedId = feed.feedId;
    writer = { topic, ownerKey: device.seed, objectId: feed.objectId };
    for (let i = 0; i < 2; i++) await n(0).appendFeed(writer, i, enc(`segment-${i}`), { start: t0 + i * 1000, end: t0 + i * 1000 + 999 });
  });

  const cases = (): Array<{ op: string; key: string; header: Record<string, unknown>; field: string }> => [
    { op: 'get-acl', key: objectId, header: { op: 'get-acl', objectId }, field: 'acl' },
    { op: 'get-locator', key: ref, header: { op: 'get-locator', ref }, field: 'locator' },
    { op: 'get-feed-head', key: feedId, header: { op: 'get-feed-head', feedId }, field: 'head' },
    { op: 'get-feed-update', key: feedUpdateAddress(feedId, 1), header: { op: 'get-feed-update', address: feedUpdateAddress(feedId, 1) }, field: 'update' },
  ];

  it('refuses a non-member, non-replica node every metadata op with DHT_ACL_DENIED, and answers a member', async () => {
    const member = n(1); // Org2
    for (const c of cases()) {
      const { outsider, replicas } = await outsiderAndReplicas(c.key, members);
      const answer = await askHolder(member, replicas, c.header);
      expect(answer.header[c.field]).toBeDefined();
      for (const peerId of replicas) {
        await expect(rawStoreRequest(outsider, peerId, c.header)).rejects.toMatchObject({ name: 'AclDeniedError', code: 'DHT_ACL_DENIED' });
      }
    }
    // Each refusal is counted by op on the refusing node.
    const counted = (await Promise.all(registries.map((r) => r.getSingleMetricAsString('twinledger_dht_acl_denials_total')))).join('\n');
    for (const c of cases()) expect(counted).toMatch(new RegExp(`twinledger_dht_acl_denials_total\\{op="${c.op}"\\} [1-9]`));
  });

  it('answers `have` only to the key\'s replicas, whatever the node holds', async () => {
    const { outsider, replicas } = await outsiderAndReplicas(objectId, members);
    const items = [{ kind: 'acl', id: objectId, version: 1 }];
    await expect(rawStoreRequest(outsider, replicas[0]!, { op: 'have', key: objectId, items })).rejects.toMatchObject({ code: 'DHT_ACL_DENIED' });
    // Not held here either: the same refusal, so a refusal reveals nothing about holdings.
    const other = feedUpdateAddress(feedId, 999);
    const o2 = await outsiderAndReplicas(other, members);
    await expect(rawStoreRequest(o2.outsider, o2.replicas[0]!, { op: 'have', key: other, items: [{ kind: 'feed-update', id: other }] })).rejects.toMatchObject({ code: 'DHT_ACL_DENIED' });
    const asReplica = n(indexOf(replicas[1]!));
    const res = await rawStoreRequest(asReplica, replicas[0]!, { op: 'have', key: objectId, items });
    expect(res.header['missing']).toEqual([]);
  });

  it('keeps the reader paths working for members', async () => {
    const member = n(1);
    expect(new TextDecoder().decode(await member.getObject(ref))).toBe('design document');
    expect((await member.getAcl(ref)).parties).toEqual(members);
    expect((await member.feedHead(feedId))?.latestIndex).toBe(1);
    expect((await member.rangeByIndex(feedId, 0, 1)).map((e) => new TextDecoder().decode(e.payload))).toEqual(['segment-0', 'segment-1']);
  });

  it('refuses a party removed from the ACL from then on', async () => {
    const revoked = n(1); // Org2
    // Placement follows random peer IDs, so the revoked node may replicate every key above
    // (about 1 run in 30) and be exempt everywhere: add an object it does not replicate.
    let spare: { objectId: string; ref: string } | undefined;
    for (let i = 0; i < 20 && spare === undefined; i++) {
      const p = await n(0).putObject(enc(`spare ${i}`), { acl: members });
      if (!(await placementOrder(n(0), p.objectId)).slice(0, 3).includes(revoked.peerId)) spare = p;
    }
    if (spare === undefined) throw new Error('no object outside the revoked node in 20 tries');
    await n(0).updateAcl(spare.ref, ['Org1']);
    const { ref: newRef } = await n(0).updateAcl(ref, ['Org1']);
    await n(0).updateFeedAcl(writer, ['Org1']);
    let refused = 0;
    for (const c of [
      ...cases(),
      { op: 'get-locator', key: newRef, header: { op: 'get-locator', ref: newRef }, field: 'locator' },
      { op: 'get-acl', key: spare.objectId, header: { op: 'get-acl', objectId: spare.objectId }, field: 'acl' },
    ]) {
      const replicas = (await placementOrder(n(0), c.key)).slice(0, 3);
      // A replica of the key keeps reading what it stores (the repair exemption), member or not.
      if (replicas.includes(revoked.peerId)) continue;
      for (const peerId of replicas) {
        await expect(rawStoreRequest(revoked, peerId, c.header)).rejects.toMatchObject({ code: 'DHT_ACL_DENIED' });
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    // The remaining member still reads, and appends keep working.
    await n(0).appendFeed(writer, 2, enc('segment-2'), { start: t0 + 2000, end: t0 + 2999 });
    expect((await n(0).feedHead(feedId))?.latestIndex).toBe(2);
    expect(new TextDecoder().decode(await n(0).getObject(newRef))).toBe('design document');
  });
});

describe('which ACL governs a feed update', () => {
  it('is the one the segment locator proves: a provisional binding to another object of the owner is replaced', async () => {
    const device = generateSigningKey();
    // The same owner key has a second feed every org may read: its ACL is a valid record of that key.
    const b = await n(0).createFeed({ topic: 'twin-9/b', ownerKey: device.seed, acl: ORGS });
    // Topic of feed A such that two non-members are replicas of neither its update 0 nor its head:
    // N (target) holds neither record, M (attacker) gets no replica exemption.
    let topic = '';
    let fresh: DhtNode[] = [];
    for (let i = 0; fresh.length < 2 && i < 50; i++) {
      topic = `twin-9/a-${i}`;
      const feedId = feedIdOf(device.key.publicKey, topic);
      const near = [...(await placementOrder(n(0), feedUpdateAddress(feedId, 0))).slice(0, 3), ...(await placementOrder(n(0), feedId)).slice(0, 3)];
      fresh = net.nodes.filter((x) => !near.includes(x.peerId) && x.mspId !== 'Org1' && x.mspId !== 'Org2');
    }
    expect(fresh.length).toBeGreaterThanOrEqual(2);
    const [target, attacker] = fresh as [DhtNode, DhtNode];
    const a = await n(0).createFeed({ topic, ownerKey: device.seed, acl: ['Org1', 'Org2'] });
    await n(0).appendFeed({ topic, ownerKey: device.seed, objectId: a.objectId }, 0, enc('a-0'), { start: t0, end: t0 + 999 });
    const address = feedUpdateAddress(a.feedId, 0);
    const update = (await askHolder(n(1), (await placementOrder(n(0), address)).slice(0, 3), { op: 'get-feed-update', address })).header['update'];
    const aclB = (await askHolder(n(1), (await placementOrder(n(0), b.objectId)).slice(0, 3), { op: 'get-acl', objectId: b.objectId })).header['acl'];
    const aclA = (await askHolder(n(1), (await placementOrder(n(0), a.objectId)).slice(0, 3), { op: 'get-acl', objectId: a.objectId })).header['acl'];
    const ref = (update as { ref: string }).ref;
    const locator = (await askHolder(n(1), (await placementOrder(n(0), ref)).slice(0, 3), { op: 'get-locator', ref })).header['locator'];

    await rawStoreRequest(attacker, target.peerId, { op: 'put-feed-update', address, update, acl: aclB });
    // The window this leaves: until a proven write reaches the node, feed B's parties read it there.
    await expect(rawStoreRequest(attacker, target.peerId, { op: 'get-feed-update', address })).resolves.toBeDefined();
    // A writer's or repair's push brings the locator: the binding moves to feed A's object for good.
    await rawStoreRequest(n(0), target.peerId, { op: 'put-feed-update', address, update, acl: aclA, locator });
    await expect(rawStoreRequest(attacker, target.peerId, { op: 'get-feed-update', address })).rejects.toMatchObject({ code: 'DHT_ACL_DENIED' });
    await expect(rawStoreRequest(attacker, target.peerId, { op: 'put-feed-update', address, update, acl: aclB })).rejects.toMatchObject({ code: 'DHT_BINDING_CONFLICT' });
    // A locator of another segment does not prove anything about this update.
    await expect(rawStoreRequest(attacker, target.peerId, { op: 'put-feed-update', address, update, acl: aclA, locator: { ...(locator as object), ref: 'ab'.repeat(32) } })).rejects.toMatchObject({
      code: expect.stringMatching(/DHT_MALFORMED_MESSAGE|DHT_BAD_SIGNATURE/) as unknown as string,
    });
  });
});

describe('repair across organizations', () => {
  it('a replica whose org is outside the ACL restores the third copy', async () => {
    const put = await n(0).putObject(enc('only Org1 reads this'), { acl: ['Org1'] });
    const replicas = (await placementOrder(n(0), put.objectId)).slice(0, 3);
    // Lose one replica; the holders left are then pushed from by replicas outside the ACL only.
    const lost = replicas.find((p) => net.nodes[indexOf(p)]!.mspId !== 'Org1') ?? replicas[0]!;
    const lostIndex = indexOf(lost);
    await net.stopNode(lostIndex);
    try {
      const survivors = replicas.filter((p) => p !== lost).map((p) => n(indexOf(p)));
      const pushers = survivors.filter((s) => s.mspId !== 'Org1');
      expect(pushers.length).toBeGreaterThan(0);
      for (const s of pushers) await s.repair();
      const live = net.nodes.filter((x) => x.isStarted());
      const held = await Promise.all(live.map((x) => holdsBlob(x, 'manifest', put.ref)));
      expect(held.filter(Boolean).length).toBe(3);
      // The new third replica got it from a node that cannot read it, and the owner still can.
      expect(new TextDecoder().decode(await n(0).getObject(put.ref))).toBe('only Org1 reads this');
    } finally {
      await net.restartNode(lostIndex);
    }
  });
});
