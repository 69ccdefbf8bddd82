import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { createLogger, createMetricsRegistry, type Registry } from '@twinledger/observability';
import { feedUpdateAddress, generateSigningKey, type DhtNode } from '@twinledger/dht';
import { holdsBlob, placementOrder, rawStoreRequest, readOrder, spawnTestNetwork, tamperBlob, withOutsiders, type TestNetwork } from '@twinledger/dht/testing';

// Six real nodes over TCP on 127.0.0.1: Org1 runs two, Org2..Org5 one each. r = 3, k = 1.
const ORGS = ['Org1', 'Org1', 'Org2', 'Org3', 'Org4', 'Org5'];
const CHUNK = 64 * 1024;
jest.setTimeout(60_000);

let net: TestNetwork;
const registries: Registry[] = [];
const n = (i: number): DhtNode => net.nodes[i] as DhtNode;
const indexOf = (peerId: string): number => net.nodes.findIndex((x) => x.peerId === peerId);

async function holders(kind: 'chunk' | 'manifest', hash: string): Promise<number[]> {
  const out: number[] = [];
  for (const [i, node] of net.nodes.entries()) if (node.isStarted() && (await holdsBlob(node, kind, hash))) out.push(i);
  return out;
}

function metric(reg: Registry, name: string): Promise<number> {
  return reg.getSingleMetricAsString(name).then((s) => s.split('\n').filter((l) => l.startsWith(name)).reduce((a, l) => a + Number(l.split(' ').pop()), 0));
}

beforeAll(async () => {
  net = await spawnTestNetwork({
    orgs: ORGS,
    nodeInit: { chunkSize: CHUNK, requestTimeoutMs: 5000 },
    ...(process.env['DHT_DEBUG'] ? { logger: createLogger({ name: 'dht-test', level: 'debug' }) } : {}),
    metricsRegistry: (i) => (registries[i] = createMetricsRegistry({ prefix: 'twinledger_dht_', defaultMetrics: false })),
  });
  await net.connectAll();
});

afterAll(async () => {
  await net?.teardown();
});

describe('objects across nodes', () => {
  const data = new Uint8Array(randomBytes(CHUNK * 3 + 1234));
  let ref: string;

  it('puts on one node and gets verified plaintext on others, on 3 replicas of distinct orgs', async () => {
    const put = await n(0).putObject(data, { acl: ['Org1', 'Org2', 'Org3'] });
    ref = put.ref;
    expect(put.replicas).toHaveLength(3);
    expect(new Set(put.replicas.map((p) => net.registry.partyOf(p)?.mspId)).size).toBe(3);
    expect(Buffer.from(await n(2).getObject(ref)).equals(Buffer.from(data))).toBe(true);
    const parts: Uint8Array[] = [];
    for await (const p of n(3).getObjectStream(ref)) parts.push(p);
    expect(Buffer.concat(parts).equals(Buffer.from(data))).toBe(true);
    const manifest = await n(1).getManifest(ref);
    expect(manifest.chunks).toHaveLength(4);
    for (const c of manifest.chunks) expect(await holders('chunk', c.hash)).toHaveLength(3);
  });

  it('refuses a consortium party outside the ACL, and gives it nothing to decrypt', async () => {
    await expect(n(5).getObject(ref)).rejects.toMatchObject({ code: 'DHT_ACL_DENIED' });
    const manifest = await n(0).getManifest(ref);
    expect(Object.keys(manifest.keys).sort()).toEqual(['Org1', 'Org2', 'Org3']);
    const holder = (await holders('chunk', manifest.chunks[0]!.hash))[0]!;
    await expect(rawStoreRequest(n(5), n(holder).peerId, { op: 'get-blob', kind: 'chunk', hash: manifest.chunks[0]!.hash })).rejects.toMatchObject({
      code: 'DHT_ACL_DENIED',
    });
  });

  it('detects a tampered chunk on one replica and serves it from another', async () => {
    const manifest = await n(0).getManifest(ref);
    const chunk = manifest.chunks[1]!;
    const reader = 3;
    // The first holder the reader will ask (its own copy first when it holds one).
    const order = await readOrder(n(reader), manifest.objectId);
    const held = await holders('chunk', chunk.hash);
    const victim = order.map(indexOf).find((i) => held.includes(i))!;
    await tamperBlob(n(victim), 'chunk', chunk.hash, new Uint8Array(randomBytes(chunk.size)));
    const before = await metric(registries[reader]!, 'twinledger_dht_integrity_failures_total');
    expect(Buffer.from(await n(reader).getObject(ref)).equals(Buffer.from(data))).toBe(true);
    expect(await metric(registries[reader]!, 'twinledger_dht_integrity_failures_total')).toBeGreaterThan(before);
  });
});

describe('ACL versions', () => {
  it('re-keys on revoke, refuses the revoked party and never rolls back', async () => {
    const data = new Uint8Array(randomBytes(CHUNK + 10));
    const put = await n(0).putObject(data, { acl: ['Org1', 'Org2', 'Org3'] });
    const v1 = (await rawStoreRequest(n(0), n(0).peerId, { op: 'get-acl', objectId: put.objectId }).catch(async () => {
      const order = await placementOrder(n(0), put.objectId);
      return rawStoreRequest(n(0), order[0]!, { op: 'get-acl', objectId: put.objectId });
    })).header['acl'];
    expect(await n(3).getObject(put.ref)).toHaveLength(data.length);

    const upd = await n(0).updateAcl(put.ref, ['Org1', 'Org2']);
    expect(upd).toMatchObject({ version: 2, rekeyed: true });
    expect(upd.acks).toBeGreaterThanOrEqual(3);
    const newManifest = await n(2).getManifest(upd.ref);
    const oldManifest = await n(2).getManifest(put.ref);
    expect(Object.keys(newManifest.keys)).toEqual(['Org1', 'Org2']);
    expect(newManifest.chunks.map((c) => c.hash)).not.toEqual(oldManifest.chunks.map((c) => c.hash));
    expect(Buffer.from(await n(2).getObject(upd.ref)).equals(Buffer.from(data))).toBe(true);
    await expect(n(3).getObject(upd.ref)).rejects.toMatchObject({ code: 'DHT_ACL_DENIED' });
    await expect(n(3).getObject(put.ref)).rejects.toMatchObject({ code: 'DHT_ACL_DENIED' });
    // The party list itself is now for members only (issue #17): a remaining member reads it.
    expect(await n(2).getAcl(put.ref)).toMatchObject({ version: 2, parties: ['Org1', 'Org2'], head: upd.ref });

    // Rollback: replay the signed version 1 to every replica.
    const replicas = (await placementOrder(n(0), put.objectId)).slice(0, 3);
    for (const peer of replicas) {
      await expect(rawStoreRequest(n(0), peer, { op: 'put-acl', acl: v1 })).rejects.toMatchObject({ code: 'DHT_ACL_STALE_VERSION' });
    }
    // A forged newer version (signed by another key) is refused too.
    const forged = { ...(v1 as Record<string, unknown>), version: 9, parties: ['Org3'] };
    await expect(rawStoreRequest(n(3), replicas[0]!, { op: 'put-acl', acl: forged })).rejects.toMatchObject({ code: 'DHT_BAD_SIGNATURE' });
    expect((await n(1).getAcl(upd.ref)).version).toBe(2);
    await expect(n(3).getObject(upd.ref)).rejects.toMatchObject({ code: 'DHT_ACL_DENIED' });

    // Only the owner may change the ACL.
    await expect(n(2).updateAcl(upd.ref, ['Org1', 'Org2', 'Org3'])).rejects.toMatchObject({ code: 'DHT_NOT_OWNER' });

    // A grant (nobody removed) keeps the key and wraps it for the new party.
    const grant = await n(0).updateAcl(upd.ref, ['Org1', 'Org2', 'Org4']);
    expect(grant).toMatchObject({ version: 3, rekeyed: false });
    expect(Buffer.from(await n(4).getObject(grant.ref)).equals(Buffer.from(data))).toBe(true);
  });
});

describe('feeds', () => {
  const device = generateSigningKey();
  const topic = 'twin-42/sensor-7';

  it('appends, reads latest and ranges, and rejects bad signatures, wrong addresses and replays', async () => {
    const feed = await n(2).createFeed({ topic, ownerKey: device.seed, acl: ['Org1', 'Org2'] });
    const writer = { topic, ownerKey: device.seed, objectId: feed.objectId };
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 4; i++) {
      const res = await n(2).appendFeed(writer, i, new TextEncoder().encode(`segment-${i}`), { start: t0 + i * 1000, end: t0 + i * 1000 + 999 });
      expect(res).toMatchObject({ index: i, seq: i + 1, duplicate: false });
    }
    const latest = await n(0).latest(feed.feedId);
    expect(latest?.index).toBe(3);
    expect(new TextDecoder().decode(latest?.payload)).toBe('segment-3');
    expect((await n(1).rangeByIndex(feed.feedId, 1, 2)).map((e) => e.index)).toEqual([1, 2]);
    expect((await n(0).rangeByTime(feed.feedId, t0 + 1500, t0 + 2100)).map((e) => e.index)).toEqual([1, 2]);
    // The window's index range without reading a segment: edges inside, on and between segments.
    const win = (from: number, to: number) => n(1).indexRangeByTime(feed.feedId, t0 + from, t0 + to);
    expect(await win(1500, 2100)).toEqual({ first: 1, last: 2 });
    expect(await win(-5000, 99_999)).toEqual({ first: 0, last: 3 });
    expect(await win(999, 1000)).toEqual({ first: 0, last: 1 });
    expect(await win(3999, 3999)).toEqual({ first: 3, last: 3 });
    expect(await win(4000, 9000)).toBeUndefined();
    expect(await win(-9000, -1)).toBeUndefined();

    // Idempotent replay of the same segment; a different one at a taken index is refused; no gaps.
    expect(await n(2).appendFeed(writer, 2, new TextEncoder().encode('segment-2'), { start: t0 + 2000, end: t0 + 2999 })).toMatchObject({ duplicate: true });
    await expect(n(2).appendFeed(writer, 1, new TextEncoder().encode('other'), { start: t0 + 1000, end: t0 + 1999 })).rejects.toMatchObject({ code: 'DHT_FEED_REPLAY' });
    await expect(n(2).appendFeed(writer, 9, new TextEncoder().encode('x'), { start: t0 + 9000, end: t0 + 9999 })).rejects.toMatchObject({ code: 'DHT_FEED_INDEX_GAP' });

    // Raw records at a storing node.
    const address1 = feedUpdateAddress(feed.feedId, 1);
    const holderOf1 = (await placementOrder(n(0), address1))[0]!;
    const u1 = (await rawStoreRequest(n(0), holderOf1, { op: 'get-feed-update', address: address1 })).header['update'] as Record<string, unknown>;
    const address7 = feedUpdateAddress(feed.feedId, 7);
    const forgedSig = { ...u1, index: 7 };
    await expect(rawStoreRequest(n(0), holderOf1, { op: 'put-feed-update', address: address7, update: forgedSig })).rejects.toMatchObject({ code: 'DHT_BAD_SIGNATURE' });
    await expect(rawStoreRequest(n(0), holderOf1, { op: 'put-feed-update', address: address7, update: u1 })).rejects.toMatchObject({ code: 'DHT_WRONG_ADDRESS' });
    const headHolder = (await placementOrder(n(0), feed.feedId))[0]!;
    const head = (await n(0).feedHead(feed.feedId))!;
    expect(head.seq).toBe(4);
    // An old head (replayed) never replaces the newer one.
    const before = await n(2).appendFeed(writer, 4, new TextEncoder().encode('segment-4'), { start: t0 + 4000, end: t0 + 4999 });
    expect(before.seq).toBe(5);
    await expect(rawStoreRequest(n(0), headHolder, { op: 'put-feed-head', head })).rejects.toMatchObject({ code: 'DHT_FEED_REPLAY' });
    expect((await n(1).latest(feed.feedId))?.index).toBe(4);

    // A party outside the feed ACL gets no segment.
    await expect(n(5).latest(feed.feedId)).rejects.toMatchObject({ code: 'DHT_ACL_DENIED' });

    // The writer's node timed each append's phases and its store requests (operators' view of an append).
    const phases = await registries[2]!.getSingleMetricAsString('twinledger_dht_feed_append_phase_seconds');
    for (const phase of ['prepare', 'object', 'order', 'update', 'head']) expect(phases).toMatch(new RegExp(`_count\\{phase="${phase}"\\} [1-9]`));
    expect(await registries[2]!.getSingleMetricAsString('twinledger_dht_client_request_seconds')).toMatch(/_count\{op="put-feed-head",target="(local|remote)"\} [1-9]/);
  });
});

describe('bad input at the store protocol', () => {
  it('answers malformed and oversize requests with stable codes and keeps serving', async () => {
    const target = n(1).peerId;
    await expect(rawStoreRequest(n(0), target, { op: 'nope' })).rejects.toMatchObject({ code: 'DHT_MALFORMED_MESSAGE' });
    await expect(rawStoreRequest(n(0), target, { op: 'get-blob', kind: 'chunk', hash: 'xyz' })).rejects.toMatchObject({ code: 'DHT_MALFORMED_MESSAGE' });
    await expect(rawStoreRequest(n(0), target, { op: 'get-blob', kind: 'chunk', hash: 'ab'.repeat(32), extra: 1 })).rejects.toMatchObject({ code: 'DHT_MALFORMED_MESSAGE' });
    await expect(rawStoreRequest(n(0), target, { op: 'put-acl', acl: { objectId: 1 } })).rejects.toMatchObject({ code: 'DHT_MALFORMED_MESSAGE' });
    await expect(rawStoreRequest(n(0), target, { op: 'get-blob', kind: 'chunk', hash: 'ab'.repeat(32) })).rejects.toMatchObject({ code: 'DHT_NOT_FOUND' });
    await expect(
      rawStoreRequest(n(0), target, { op: 'put-chunk', objectId: 'ab'.repeat(32), hash: 'cd'.repeat(32), acl: {} }, new Uint8Array(CHUNK * 2)),
    ).rejects.toMatchObject({ code: 'DHT_MALFORMED_MESSAGE' });
    await expect(rawStoreRequest(n(0), target, { op: 'have', items: [] }, new Uint8Array(2 * 1024 * 1024))).rejects.toMatchObject({ code: 'DHT_MESSAGE_TOO_LARGE' });
    await expect(rawStoreRequest(n(0), target, { op: 'have', items: [] })).rejects.toMatchObject({ code: 'DHT_MALFORMED_MESSAGE' });
    // `have` names its placement key and is answered to that key's replicas: take a key n(0) is one for.
    let key = '';
    for (let i = 0; key === '' || !(await placementOrder(n(0), key)).slice(0, 3).includes(n(0).peerId); i++) key = createHash('sha256').update(`have-${i}`).digest('hex');
    expect((await rawStoreRequest(n(0), target, { op: 'have', key, items: [] })).header['missing']).toEqual([]);
    // A made-up op is counted as 'invalid': peers cannot grow the metrics' label sets.
    const served = await registries[1]!.getSingleMetricAsString('twinledger_dht_store_requests_total');
    expect(served).toContain('op="invalid"');
    expect(served).not.toContain('op="nope"');
    expect(await registries[1]!.getSingleMetricAsString('twinledger_dht_serve_seconds')).toMatch(/_count\{op="have"\} [1-9]/);
  });
});

describe('membership', () => {
  it('keeps a node outside the consortium out, with or without the swarm key', async () => {
    await withOutsiders(net, async (outsider) => {
      // Whether the dial itself rejects depends on which side finishes the upgrade first
      // (with the right swarm key, n(0)'s gater refuses only after the noise handshake);
      // what matters is that the connection never stands and nothing can be fetched over it.
      await outsider.dial(n(0).multiaddrs()[0]!).catch(() => undefined);
      await new Promise((res) => setTimeout(res, 500));
      expect(n(0).status().peers.map((p) => p.peerId)).not.toContain(outsider.peerId);
      expect(outsider.status().peers.map((p) => p.peerId)).not.toContain(n(0).peerId);
    });
  });
});

describe('faults', () => {
  it('survives the loss of r-1 replicas, repairs to r copies, and a restarted node keeps its data', async () => {
    const data = new Uint8Array(randomBytes(CHUNK * 2 + 5));
    const put = await n(0).putObject(data, { acl: ['Org1', 'Org2', 'Org3', 'Org4', 'Org5'] });
    const manifest = await n(0).getManifest(put.ref);
    const held = await holders('manifest', put.ref);
    expect(held).toHaveLength(3);
    const victims = held.filter((i) => i !== 0).slice(0, 2);
    for (const v of victims) await net.stopNode(v);
    const reader = net.nodes.findIndex((x, i) => x.isStarted() && i !== 0 && !held.includes(i));
    expect(Buffer.from(await n(reader).getObject(put.ref)).equals(Buffer.from(data))).toBe(true);

    for (const node of net.nodes) if (node.isStarted()) await node.repair();
    for (const hash of [put.ref, ...manifest.chunks.map((c) => c.hash)]) {
      expect((await holders(hash === put.ref ? 'manifest' : 'chunk', hash)).length).toBeGreaterThanOrEqual(3);
    }
    const survivorReport = n(0).status().lastRepair;
    expect(survivorReport).toBeDefined();

    // Restart one lost replica: it comes back with its data and serves it.
    const back = await net.restartNode(victims[0]!);
    expect(await holdsBlob(back, 'manifest', put.ref)).toBe(true);
    expect(back.status().store.chunks).toBeGreaterThan(0);
    expect(Buffer.from(await back.getObject(put.ref)).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(await n(0).getObject(put.ref)).equals(Buffer.from(data))).toBe(true);
  });
});
