import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { IdentityRegistry } from '@twinledger/ledger-gateway';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork, type OrgHandle } from '@twinledger/devnet';
import { type DhtNode } from '@twinledger/dht';
import { spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';
import { createPeerConnectionPool, type PeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger, type TwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { decodeSegment, type Reading } from '@twinledger/readings';
import { createDevIssuer, createJwtVerifier, type DevIssuer } from '@twinledger/service-kit';
import { createFeedIngest, DEFAULTS, type FeedIngestRuntime } from '../src/main.js';
import { feedIngestLedgerOf } from './support/ledger.js';

// Issue #17: the ledger decides who may read or change off-chain feed data. Real Fabric (two
// organizations, the twinledger chaincode), a real Kafka broker, real libp2p DHT nodes; two
// feed-ingest instances in process, each signing as its callers through ledger-gateway.
const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
/** Decision TTL and reconcile period of both instances: every bound below is a small multiple. */
const TTL_MS = 1000;
const RECONCILE_MS = 2000;
const BOUND_MS = 20_000;

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = BOUND_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What reading segments [from, to] of a feed with a node's own keys gives: the readings, or the refusal's code. */
async function readWithNode(node: DhtNode, feedId: string, from: number, to: number): Promise<{ ts: number[] } | { code: string }> {
  try {
    const entries = await node.rangeByIndex(feedId, from, to);
    return { ts: entries.flatMap((e) => Array.from(decodeSegment(e.payload).ts)) };
  } catch (err) {
    return { code: (err as { code?: string }).code ?? String(err) };
  }
}

(fabric.ok ? describe : describe.skip)('feed-ingest obeys the ledger (real Fabric, Kafka, DHT)', () => {
  let net: DevNetwork;
  let dht: TestNetwork;
  let root = '';
  let pool: PeerConnectionPool;
  let issuer: DevIssuer;
  const identities: IdentityRegistry[] = [];
  const runtimes: FeedIngestRuntime[] = [];
  let owner: TwinLedger;
  const twinId = `feeds-${Date.now().toString(36)}`;
  let feedId = '';
  let objectId = '';
  const t0 = Date.now() - 3_600_000;
  let nextTs = t0;

  const headers = async (org: string, identity = 'User1') => ({ authorization: `Bearer ${await issuer.issue({ sub: `u@${org}`, org, fabricIdentity: identity, audience: 'twinledger' })}` });
  const org1 = () => runtimes[0]!;
  const org2 = () => runtimes[1]!;
  /** Org2's own DHT node, outside its feed-ingest: what a revoked party could try directly. */
  const org2Node = () => dht.nodes[3]!;

  /** Posts `n` readings to the feed at Org1 and waits until Org1 reads them all back; returns their feed indices. */
  async function writeBatch(n: number, feed = feedId): Promise<{ from: number; to: number; ts: number[] }> {
    const before = (await dht.nodes[0]!.feedHead(feed))?.latestIndex ?? -1;
    const readings: Reading[] = Array.from({ length: n }, () => ({ feed, component: 'PT-301', ts: nextTs++, v: 5, u: 'bar' }));
    const res = await org1().app.inject({ method: 'POST', url: '/readings', headers: await headers('Org1MSP'), payload: readings });
    expect(res.statusCode).toBe(202);
    const last = readings[n - 1]!.ts;
    const head = await eventually('the batch in the DHT', async () => {
      const h = await dht.nodes[0]!.feedHead(feed);
      if (!h || h.latestIndex <= before) return undefined;
      const got = await readWithNode(dht.nodes[0]!, feed, before + 1, h.latestIndex);
      return 'ts' in got && got.ts.includes(last) ? h : undefined;
    });
    return { from: before + 1, to: head.latestIndex, ts: readings.map((r) => r.ts) };
  }

  const aclParties = async () => (await dht.nodes[0]!.getObjectAcl(objectId)).parties;
  /**
   * Org2's REST range read from `org2From` on: segments written while Org2 was no party carry no
   * key for it, so every phase reads from its first batch written while Org2 is a party.
   */
  let org2From = t0;
  const org2Range = async () => org2().app.inject({ method: 'GET', url: `/feeds/${feedId}/readings?from=${org2From}&to=${t0 + 3_000_000}`, headers: await headers('Org2MSP') });

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], fabric: true, kafka: true, ...testNetworkInit() });
    root = mkdtempSync(join(tmpdir(), 'feed-ingest-ledger-access-'));
    // Org1, Org2 (the feed-ingest nodes), one more of each: Org2's spare node reads the DHT directly.
    dht = await spawnTestNetwork({ orgs: ['Org1MSP', 'Org2MSP', 'Org1MSP', 'Org2MSP'] });
    await dht.connectAll();
    issuer = await createDevIssuer('https://idp.test');
    pool = createPeerConnectionPool();
    for (const [i, org] of (net.orgs as OrgHandle[]).entries()) {
      const ledger = await feedIngestLedgerOf(net, org, root, pool);
      identities.push(ledger.identities);
      runtimes.push(
        await createFeedIngest(
          {
            ...DEFAULTS,
            mspId: org.mspId,
            dataDir: join(root, org.name),
            brokers: [net.kafka!.bootstrap],
            groupId: `feed-ingest-${org.mspId}`,
            readingsTopic: `${org.mspId}.dt.readings`,
            deadLetterTopic: `${org.mspId}.dt.dead-letter`,
            maxSegmentReadings: 50,
            maxSegmentAgeMs: 100,
            authDecisionTtlMs: TTL_MS,
            feedAclReconcileMs: RECONCILE_MS,
          },
          {
            dht: dht.nodes[i]!,
            parties: dht.registry,
            ledger,
            auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: org.mspId }),
            logger: silentLogger(),
          },
        ),
      );
    }
    owner = createTwinLedger(await identities[0]!.clientByName('User1'));
    await owner.createTwin(twinId, 'Plant', AML);
    // Every twin starts readable by every MSP ('*' READER); this one is Org1's alone until granted.
    await owner.revoke(twinId, { mspId: '*', role: 'READER' });
    // Org2's feed-ingest asks Org2's peer, which may commit the revoke's block a little later
    // than Org1's: until then it rightly still answers with the '*' READER grant.
    const org2Ledger = createTwinLedger(await identities[1]!.clientByName('User1'));
    await eventually("the revoke on Org2's peer", async () =>
      org2Ledger.getTwin(twinId).then(
        () => undefined,
        (e: unknown) => ((e as { code?: string }).code === 'ACCESS_DENIED' ? true : undefined),
      ),
    );
  });

  afterAll(async () => {
    for (const r of runtimes) {
      await r.close().catch(() => undefined);
      await r.app.close().catch(() => undefined);
    }
    for (const i of identities) i.close();
    pool?.close();
    await dht?.teardown();
    await net?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('registering needs feed:register on the twin; the party set is the ledger\'s feed:read holders, never widened by the request', async () => {
    const body = { twinId, componentId: 'PT-301', unit: 'bar', expectedRange: { min: 0, max: 10 }, acl: ['Org2MSP'] };
    const refused = await org2().app.inject({ method: 'POST', url: '/feeds', headers: await headers('Org2MSP'), payload: body });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'FEED_ACCESS_DENIED', details: { twinId, permission: 'feed:register' } });

    const created = await org1().app.inject({ method: 'POST', url: '/feeds', headers: await headers('Org1MSP'), payload: body });
    expect(created.statusCode).toBe(201);
    ({ feedId, objectId } = created.json() as { feedId: string; objectId: string });
    // Org2 was asked for but holds no feed:read: the request cannot widen the ledger's set.
    expect(created.json()).toMatchObject({ acl: ['Org1MSP'] });
    expect(await aclParties()).toEqual(['Org1MSP']);
  });

  it('a user of an organization without feed:read is refused on range, latest, series, stream, listing and metadata; its own DHT node cannot read', async () => {
    const batch = await writeBatch(100);
    const h = await headers('Org2MSP');
    for (const url of [
      `/feeds/${feedId}/readings?from=${t0}&to=${t0 + 1000}`,
      `/feeds/${feedId}/latest`,
      `/feeds/${feedId}/series?last=60000`,
      `/feeds/${feedId}/series?from=${t0}&to=${t0 + 1000}`,
      `/feeds/${feedId}/stream`,
    ]) {
      const res = await org2().app.inject({ method: 'GET', url, headers: h });
      expect({ url, status: res.statusCode, code: (res.json() as { code?: string }).code }).toEqual({ url, status: 403, code: 'FEED_ACCESS_DENIED' });
    }
    expect(await readWithNode(org2Node(), feedId, batch.from, batch.to)).toMatchObject({ code: expect.stringMatching(/^DHT_(ACL_DENIED|NO_KEY_FOR_PARTY)$/) });
    // Org1 users hold OWNER: listing and metadata at Org1 work for them.
    const list = await org1().app.inject({ method: 'GET', url: '/feeds', headers: await headers('Org1MSP') });
    expect((list.json() as { feeds: Array<{ feedId: string }> }).feeds.map((f) => f.feedId)).toEqual([feedId]);
  });

  let history: { from: number; to: number } = { from: 0, to: 0 };

  it('a late grant reads from the grant on (not the history before it)', async () => {
    history = await writeBatch(50);
    await owner.grant(twinId, { mspId: 'Org2MSP', role: 'AUDITOR' });
    // The feed's key follows the grant within one reconcile pass.
    await eventually('Org2 in the feed ACL', async () => ((await aclParties()).includes('Org2MSP') ? true : undefined));
    const after = await writeBatch(100);
    org2From = after.ts[0]!;
    const direct = await readWithNode(org2Node(), feedId, after.from, after.to);
    expect(direct).toEqual({ ts: after.ts });
    // History: its segment keys were wrapped before the grant, never for Org2.
    expect(await readWithNode(org2Node(), feedId, history.from, history.to)).toMatchObject({ code: 'DHT_NO_KEY_FOR_PARTY' });
    const rest = await eventually('Org2 REST read of the new readings', async () => {
      const r = await org2().app.inject({ method: 'GET', url: `/feeds/${feedId}/readings?from=${after.ts[0]}&to=${after.ts[after.ts.length - 1]}`, headers: await headers('Org2MSP') });
      return r.statusCode === 200 ? (r.json() as { readings: Reading[] }).readings : undefined;
    });
    expect(rest.map((r) => r.ts)).toEqual(after.ts);
  });

  let org2Feed = '';

  it('writing readings needs feed:register: a party losing it is refused on POST /readings', async () => {
    await owner.grant(twinId, { mspId: 'Org2MSP', role: 'MAINTAINER' });
    const created = await eventually('Org2 allowed to register', async () => {
      const r = await org2().app.inject({ method: 'POST', url: '/feeds', headers: await headers('Org2MSP'), payload: { twinId, componentId: 'TT-302', unit: 'degC', expectedRange: { min: 0, max: 100 } } });
      return r.statusCode === 201 ? (r.json() as { feedId: string; acl: string[] }) : undefined;
    });
    expect(created.acl).toEqual(['Org1MSP', 'Org2MSP']);
    org2Feed = created.feedId;
    const reading = (ts: number) => [{ feed: created.feedId, component: 'TT-302', ts, v: 20, u: 'degC' }];
    const ok = await org2().app.inject({ method: 'POST', url: '/readings', headers: await headers('Org2MSP'), payload: reading(t0) });
    expect(ok.statusCode).toBe(202);
    await owner.revoke(twinId, { mspId: 'Org2MSP', role: 'MAINTAINER' });
    const refused = await eventually('Org2 refused on POST /readings', async () => {
      const r = await org2().app.inject({ method: 'POST', url: '/readings', headers: await headers('Org2MSP'), payload: reading(t0 + 1) });
      return r.statusCode === 202 ? undefined : r;
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'FEED_ACCESS_DENIED', details: { permission: 'feed:register' } });
    // Still an AUDITOR: the feed is listed and its metadata readable at Org2.
    const list = await org2().app.inject({ method: 'GET', url: '/feeds', headers: await headers('Org2MSP') });
    expect((list.json() as { feeds: Array<{ feedId: string }> }).feeds.map((f) => f.feedId)).toEqual([created.feedId]);
  });

  it('a revoke cuts reads within the bound; segments written afterwards cannot be read even with Org2\'s own node', async () => {
    expect((await org2Range()).statusCode).toBe(200);
    const revokedAt = Date.now();
    await owner.revoke(twinId, { mspId: 'Org2MSP', role: 'AUDITOR' });
    await eventually('Org2 refused over REST', async () => ((await org2Range()).statusCode === 403 ? true : undefined));
    await eventually('Org2 out of the feed ACL', async () => ((await aclParties()).includes('Org2MSP') ? undefined : true));
    expect(Date.now() - revokedAt).toBeLessThan(TTL_MS + 2 * RECONCILE_MS + 10_000);
    const later = await writeBatch(100);
    expect(await readWithNode(org2Node(), feedId, later.from, later.to)).toMatchObject({ code: expect.stringMatching(/^DHT_(ACL_DENIED|NO_KEY_FOR_PARTY)$/) });
    // Org2's own feed is hidden from Org2's users too: the ledger no longer grants them feed:read on the twin.
    const list = await org2().app.inject({ method: 'GET', url: '/feeds', headers: await headers('Org2MSP') });
    expect(list.json()).toEqual({ feeds: [] });
    const meta = await org2().app.inject({ method: 'GET', url: `/feeds/${org2Feed}`, headers: await headers('Org2MSP') });
    expect(meta.statusCode).toBe(403);
    expect(meta.json()).toMatchObject({ code: 'FEED_ACCESS_DENIED', details: { permission: 'feed:read' } });
  });

  it('an expiring grant ends reads, the live stream and the key within the bound', async () => {
    const expiresAt = Date.now() + 12_000;
    await owner.grant(twinId, { mspId: 'Org2MSP', role: 'AUDITOR', expiresAt: new Date(expiresAt).toISOString() });
    await eventually('Org2 in the feed ACL', async () => ((await aclParties()).includes('Org2MSP') ? true : undefined));
    org2From = (await writeBatch(20)).ts[0]!;
    await eventually('Org2 reads over REST', async () => ((await org2Range()).statusCode === 200 ? true : undefined));
    // A live stream at Org2's instance, over real HTTP.
    const address = await org2().app.listen({ host: '127.0.0.1', port: 0 });
    const stream = await fetch(`${address}/feeds/${feedId}/stream`, { headers: await headers('Org2MSP') });
    expect(stream.status).toBe(200);
    let text = '';
    const ended = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
      return Date.now();
    })();
    const during = await writeBatch(60);
    await eventually('the stream to carry the new readings', async () => (text.includes(`"ts":${during.ts[during.ts.length - 1]}`) ? true : undefined));
    const endedAt = await ended;
    expect(text).toContain('"code":"FEED_ACCESS_DENIED"');
    expect(endedAt).toBeGreaterThanOrEqual(expiresAt - 1000);
    expect(endedAt - expiresAt).toBeLessThan(TTL_MS + 5000);
    expect((await org2Range()).statusCode).toBe(403);
    await eventually('Org2 out of the feed ACL after expiry', async () => ((await aclParties()).includes('Org2MSP') ? undefined : true));
    expect(Date.now() - expiresAt).toBeLessThan(2 * RECONCILE_MS + 10_000);
    const after = await writeBatch(100);
    expect(await readWithNode(org2Node(), feedId, after.from, after.to)).toMatchObject({ code: expect.stringMatching(/^DHT_(ACL_DENIED|NO_KEY_FOR_PARTY)$/) });
  });
});
