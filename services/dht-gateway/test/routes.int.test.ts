import { mkdtemp, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnTestNetwork, type TestNetwork } from '@twinledger/dht';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type DevIssuer, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from '../src/app.js';
import { openFeedKeyStore } from '../src/domain/feed-keys.js';

// Route behaviour through app.inject over REAL DHT nodes (three orgs, TCP on 127.0.0.1).
const AUD = 'dht-gateway';
let net: TestNetwork;
let issuer: DevIssuer;
let keysDir: string;
const apps: ServiceApp[] = [];
let tokenA = '';
let tokenB = '';

async function appFor(i: number, maxObjectBytes = 4 * 1024 * 1024): Promise<ServiceApp> {
  const app = await buildApp({
    node: net.nodes[i]!,
    feedKeys: await openFeedKeyStore(join(keysDir, `feeds-${i}`)),
    logger: silentLogger(),
    auth: createJwtVerifier({ issuer: issuer.issuer, audience: AUD, jwks: issuer.jwks, expectedOrg: net.nodes[i]!.mspId }),
    maxObjectBytes,
    maxFeedUpdateBytes: 64 * 1024,
    feedPageSize: 3,
  });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  net = await spawnTestNetwork({ orgs: ['OrgAMSP', 'OrgBMSP', 'OrgCMSP'], nodeInit: { chunkSize: 64 * 1024 } });
  await net.connectAll();
  issuer = await createDevIssuer('https://issuer.test');
  keysDir = await mkdtemp(join(tmpdir(), 'dht-gw-routes-'));
  // Key-manager credentials: these tests change object and feed ACLs (service-credential.int.test.ts covers who may).
  tokenA = await issuer.issue({ sub: 'svc-a', svc: 'acl-service', roles: ['dht:key-manager'], org: 'OrgAMSP', audience: AUD });
  tokenB = await issuer.issue({ sub: 'svc-b', svc: 'acl-service', roles: ['dht:key-manager'], org: 'OrgBMSP', audience: AUD });
});

afterAll(async () => {
  for (const a of apps) await a.close();
  await net?.teardown();
  if (keysDir) await rm(keysDir, { recursive: true, force: true });
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('dht-gateway routes', () => {
  it('stores an object, returns it verified, and serves manifest and ACL', async () => {
    const a = await appFor(0);
    const b = await appFor(1);
    const data = Buffer.alloc(200_000, 7);
    data.write('twinledger', 5000);
    const put = await a.inject({ method: 'PUT', url: '/objects?acl=OrgAMSP,OrgBMSP', headers: { ...bearer(tokenA), 'content-type': 'application/octet-stream' }, payload: data });
    expect(put.statusCode).toBe(201);
    const stored = put.json();
    expect(stored.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(stored.size).toBe(200_000);
    expect(stored.replicas).toHaveLength(3);

    const got = await b.inject({ method: 'GET', url: `/objects/${stored.ref}`, headers: bearer(tokenB) });
    expect(got.statusCode).toBe(200);
    expect(got.headers['x-content-sha256']).toBe(stored.sha256);
    expect(got.rawPayload.equals(data)).toBe(true);

    const m = (await b.inject({ method: 'GET', url: `/objects/${stored.ref}/manifest`, headers: bearer(tokenB) })).json();
    expect(m).toMatchObject({ ref: stored.ref, size: 200_000, sha256: stored.sha256, aclVersion: 1, parties: ['OrgAMSP', 'OrgBMSP'] });
    expect(m.chunks).toHaveLength(4);
    const acl = (await a.inject({ method: 'GET', url: `/objects/${stored.ref}/acl`, headers: bearer(tokenA) })).json();
    expect(acl).toMatchObject({ ref: stored.ref, version: 1, parties: ['OrgAMSP', 'OrgBMSP'] });

    // Only the owner's gateway may change the ACL.
    const notOwner = await b.inject({ method: 'PUT', url: `/objects/${stored.ref}/acl`, headers: bearer(tokenB), payload: { parties: ['OrgBMSP'] } });
    expect(notOwner.statusCode).toBe(403);
    expect(notOwner.json().code).toBe('DHT_NOT_OWNER');
    // Revoking B re-keys into a new ref that B is refused.
    const revoke = await a.inject({ method: 'PUT', url: `/objects/${stored.ref}/acl`, headers: bearer(tokenA), payload: { parties: ['OrgAMSP'] } });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json()).toMatchObject({ version: 2, rekeyed: true });
    expect(revoke.json().ref).not.toBe(stored.ref);
    const refused = await b.inject({ method: 'GET', url: `/objects/${revoke.json().ref}`, headers: bearer(tokenB) });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('DHT_ACL_DENIED');
    const ownerRead = await a.inject({ method: 'GET', url: `/objects/${revoke.json().ref}`, headers: bearer(tokenA) });
    expect(ownerRead.rawPayload.equals(data)).toBe(true);
  });

  it('defaults the ACL to the caller\'s org and refuses other orgs', async () => {
    const [a, , c] = [apps[0]!, apps[1]!, await appFor(2)];
    const put = await a.inject({ method: 'PUT', url: '/objects', headers: { ...bearer(tokenA), 'content-type': 'application/octet-stream' }, payload: Buffer.from('only A') });
    expect(put.statusCode).toBe(201);
    const tokenC = await issuer.issue({ sub: 'svc-c', svc: 'acl-service', roles: ['dht:key-manager'], org: 'OrgCMSP', audience: AUD });
    const res = await c.inject({ method: 'GET', url: `/objects/${put.json().ref}`, headers: bearer(tokenC) });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('DHT_ACL_DENIED');
    expect(res.rawPayload.includes(Buffer.from('only A'))).toBe(false);
  });

  it('answers bad input with stable 4xx codes', async () => {
    const small = await appFor(0, 1000);
    const octet = { ...bearer(tokenA), 'content-type': 'application/octet-stream' };
    const cases: Array<[Promise<{ statusCode: number; json: () => { code: string } }>, number, string]> = [
      [small.inject({ method: 'PUT', url: '/objects', headers: octet, payload: Buffer.alloc(1001) }), 413, 'PAYLOAD_TOO_LARGE'],
      [small.inject({ method: 'PUT', url: '/objects?acl=Org%20A', headers: octet, payload: Buffer.alloc(10) }), 400, 'VALIDATION_FAILED'],
      [small.inject({ method: 'PUT', url: '/objects?acl=NoSuchMSP', headers: octet, payload: Buffer.alloc(10) }), 403, 'DHT_UNKNOWN_PARTY'],
      [small.inject({ method: 'PUT', url: '/objects', headers: { ...bearer(tokenA), 'content-type': 'application/json' }, payload: '{}' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [small.inject({ method: 'PUT', url: '/objects', headers: { ...bearer(tokenA), 'content-type': 'text/plain' }, payload: 'x' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [small.inject({ method: 'PUT', url: '/objects', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(1) }), 401, 'UNAUTHENTICATED'],
      [small.inject({ method: 'PUT', url: '/objects', headers: { ...octet, ...bearer(tokenB) }, payload: Buffer.alloc(1) }), 403, 'FOREIGN_ORGANIZATION'],
      [small.inject({ method: 'GET', url: '/objects/not-a-ref', headers: bearer(tokenA) }), 400, 'VALIDATION_FAILED'],
      [small.inject({ method: 'GET', url: `/objects/${'0'.repeat(64)}`, headers: bearer(tokenA) }), 404, 'DHT_NOT_FOUND'],
      [small.inject({ method: 'PUT', url: `/objects/${'0'.repeat(64)}/acl`, headers: bearer(tokenA), payload: { parties: [] } }), 400, 'VALIDATION_FAILED'],
      [small.inject({ method: 'POST', url: '/feeds', headers: bearer(tokenA), payload: { topic: '', acl: ['OrgAMSP'] } }), 400, 'VALIDATION_FAILED'],
      [small.inject({ method: 'POST', url: `/feeds/${'1'.repeat(64)}/updates`, headers: { ...octet, 'x-feed-index': '0', 'x-range-start': '1', 'x-range-end': '2' }, payload: Buffer.alloc(4) }), 404, 'FEED_NOT_OWNED'],
      [small.inject({ method: 'GET', url: `/feeds/${'1'.repeat(64)}/updates?fromIndex=0`, headers: bearer(tokenA) }), 400, 'VALIDATION_FAILED'],
      [small.inject({ method: 'GET', url: `/feeds/${'1'.repeat(64)}/latest`, headers: bearer(tokenA) }), 404, 'FEED_EMPTY'],
    ];
    for (const [p, status, code] of cases) {
      const res = await p;
      expect({ status: res.statusCode, code: res.json().code }).toEqual({ status, code });
    }
  });

  it('creates feeds idempotently, appends, reads latest and pages ranges', async () => {
    const [a, b] = [apps[0]!, apps[1]!];
    const create = () => a.inject({ method: 'POST', url: '/feeds', headers: bearer(tokenA), payload: { topic: 'twin-1/sensor-7', acl: ['OrgAMSP', 'OrgBMSP'] } });
    const first = await create();
    expect(first.statusCode).toBe(201);
    const again = await create();
    expect(again.statusCode).toBe(200);
    expect(again.json().feedId).toBe(first.json().feedId);
    const clash = await a.inject({ method: 'POST', url: '/feeds', headers: bearer(tokenA), payload: { topic: 'twin-1/sensor-7', acl: ['OrgAMSP'] } });
    expect(clash.json().code).toBe('FEED_EXISTS');
    const feedId: string = first.json().feedId;
    const append = (i: number, body: string) =>
      a.inject({ method: 'POST', url: `/feeds/${feedId}/updates`, headers: { ...bearer(tokenA), 'content-type': 'application/octet-stream', 'x-feed-index': String(i), 'x-range-start': String(1000 * i), 'x-range-end': String(1000 * i + 999) }, payload: Buffer.from(body) });
    for (let i = 0; i < 5; i++) expect((await append(i, `segment-${i}`)).statusCode).toBe(201);
    expect((await append(4, 'segment-4')).json()).toMatchObject({ index: 4, duplicate: true });
    expect((await append(4, 'other')).json().code).toBe('DHT_FEED_REPLAY');
    expect((await append(9, 'gap')).json().code).toBe('DHT_FEED_INDEX_GAP');
    const big = await a.inject({ method: 'POST', url: `/feeds/${feedId}/updates`, headers: { ...bearer(tokenA), 'content-type': 'application/octet-stream', 'x-feed-index': '5', 'x-range-start': '1', 'x-range-end': '2' }, payload: Buffer.alloc(64 * 1024 + 1) });
    expect({ s: big.statusCode, c: big.json().code }).toEqual({ s: 413, c: 'PAYLOAD_TOO_LARGE' });

    const latest = (await b.inject({ method: 'GET', url: `/feeds/${feedId}/latest`, headers: bearer(tokenB) })).json();
    expect(latest).toMatchObject({ index: 4, timeStart: 4000, timeEnd: 4999 });
    expect(Buffer.from(latest.payload, 'base64').toString()).toBe('segment-4');
    const page = (await b.inject({ method: 'GET', url: `/feeds/${feedId}/updates?fromIndex=0&toIndex=4`, headers: bearer(tokenB) })).json();
    expect(page.entries.map((e: { index: number }) => e.index)).toEqual([0, 1, 2]);
    expect(page.next).toEqual({ fromIndex: 3, toIndex: 4 });
    const byTime = (await b.inject({ method: 'GET', url: `/feeds/${feedId}/updates?fromTime=1500&toTime=3500&limit=2`, headers: bearer(tokenB) })).json();
    expect(byTime.entries.map((e: { index: number }) => e.index)).toEqual([1, 2]);
    expect(byTime.next).toEqual({ fromTime: 3000, toTime: 3500 });
  });

  it('reads and changes a feed ACL: owner-only, schema-checked, versioned, later segments follow the new ACL', async () => {
    const [a, b] = [apps[0]!, apps[1]!];
    const c = await appFor(2);
    const tokenC = await issuer.issue({ sub: 'svc-c', svc: 'acl-service', roles: ['dht:key-manager'], org: 'OrgCMSP', audience: AUD });
    const created = (await a.inject({ method: 'POST', url: '/feeds', headers: bearer(tokenA), payload: { topic: 'twin-1/acl-test', acl: ['OrgAMSP', 'OrgBMSP'] } })).json();
    const feedId: string = created.feedId;
    const aclUrl = `/feeds/${feedId}/acl`;

    // The owning gateway reads the ACL of a feed without any update yet; others cannot locate it.
    expect((await a.inject({ method: 'GET', url: aclUrl, headers: bearer(tokenA) })).json()).toEqual({
      feedId, objectId: created.objectId, owner: created.ownerPublicKey, version: 1, parties: ['OrgAMSP', 'OrgBMSP'],
    });
    const unknown = await b.inject({ method: 'GET', url: aclUrl, headers: bearer(tokenB) });
    expect({ s: unknown.statusCode, c: unknown.json().code }).toEqual({ s: 404, c: 'FEED_UNKNOWN' });

    const append = (i: number, body: string) =>
      a.inject({ method: 'POST', url: `/feeds/${feedId}/updates`, headers: { ...bearer(tokenA), 'content-type': 'application/octet-stream', 'x-feed-index': String(i), 'x-range-start': String(i), 'x-range-end': String(i) }, payload: Buffer.from(body) });
    expect((await append(0, 'for A and B')).statusCode).toBe(201);
    // With a head, any member's gateway finds the ACL.
    expect((await c.inject({ method: 'GET', url: aclUrl, headers: bearer(tokenC) })).json()).toMatchObject({ version: 1, parties: ['OrgAMSP', 'OrgBMSP'] });

    // Bad input and non-owners.
    const put = (app: ServiceApp, token: string, payload: unknown) => app.inject({ method: 'PUT', url: aclUrl, headers: bearer(token), payload: payload as Record<string, unknown> });
    for (const bad of [{}, { parties: [] }, { parties: ['Org A'] }, { parties: ['OrgAMSP', 'OrgAMSP'] }, { parties: ['OrgAMSP'], extra: 1 }]) {
      const r = await put(a, tokenA, bad);
      expect({ bad, s: r.statusCode, c: r.json().code }).toEqual({ bad, s: 400, c: 'VALIDATION_FAILED' });
    }
    const badId = await a.inject({ method: 'PUT', url: '/feeds/not-hex/acl', headers: bearer(tokenA), payload: { parties: ['OrgAMSP'] } });
    expect(badId.json().code).toBe('VALIDATION_FAILED');
    const stranger = await put(a, tokenA, { parties: ['OrgAMSP', 'OrgZZMSP'] });
    expect({ s: stranger.statusCode, c: stranger.json().code }).toEqual({ s: 403, c: 'DHT_UNKNOWN_PARTY' });
    const notOwner = await put(b, tokenB, { parties: ['OrgBMSP'] });
    expect({ s: notOwner.statusCode, c: notOwner.json().code }).toEqual({ s: 404, c: 'FEED_NOT_OWNED' });
    expect((await put(a, tokenB, { parties: ['OrgBMSP'] })).json().code).toBe('FOREIGN_ORGANIZATION');
    expect((await a.inject({ method: 'PUT', url: aclUrl, payload: { parties: ['OrgAMSP'] } })).statusCode).toBe(401);
    // Nothing of the refused changes landed.
    expect((await b.inject({ method: 'GET', url: aclUrl, headers: bearer(tokenB) })).json().version).toBe(1);

    // Revoke B, grant C: version 2 on the replicas; the segment appended afterwards is C's, not B's.
    const changed = await put(a, tokenA, { parties: ['OrgCMSP', 'OrgAMSP'] });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toEqual({ feedId, objectId: created.objectId, owner: created.ownerPublicKey, version: 2, parties: ['OrgAMSP', 'OrgCMSP'] });
    expect((await b.inject({ method: 'GET', url: aclUrl, headers: bearer(tokenB) })).json()).toMatchObject({ version: 2, parties: ['OrgAMSP', 'OrgCMSP'] });
    expect((await append(1, 'for A and C')).statusCode).toBe(201);
    const forC = (await c.inject({ method: 'GET', url: `/feeds/${feedId}/latest`, headers: bearer(tokenC) })).json();
    expect(Buffer.from(forC.payload, 'base64').toString()).toBe('for A and C');
    const forB = await b.inject({ method: 'GET', url: `/feeds/${feedId}/latest`, headers: bearer(tokenB) });
    expect({ s: forB.statusCode, c: forB.json().code }).toEqual({ s: 403, c: 'DHT_ACL_DENIED' });
    // The gateway's own record follows: creating the topic again with the new ACL is the same feed.
    const again = await a.inject({ method: 'POST', url: '/feeds', headers: bearer(tokenA), payload: { topic: 'twin-1/acl-test', acl: ['OrgAMSP', 'OrgCMSP'] } });
    expect({ s: again.statusCode, id: again.json().feedId }).toEqual({ s: 200, id: feedId });
    // Two concurrent changes serialize into two versions.
    const [x, y] = await Promise.all([put(a, tokenA, { parties: ['OrgAMSP'] }), put(a, tokenA, { parties: ['OrgAMSP', 'OrgBMSP'] })]);
    expect([x.json().version, y.json().version].sort()).toEqual([3, 4]);
  });

  it('reports status, health, readiness, metrics and OpenAPI', async () => {
    const a = apps[0]!;
    const s = (await a.inject({ method: 'GET', url: '/status', headers: bearer(tokenA) })).json();
    expect(s).toMatchObject({ mspId: 'OrgAMSP', peerId: net.nodes[0]!.peerId, replicaHealth: { replicationFactor: 3, faultTolerance: 1, connectedParties: 2 } });
    expect(s.storeBytes).toBeGreaterThan(0);
    expect(s.items.chunks).toBeGreaterThan(0);
    expect((await a.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { dht: true } });
    expect((await a.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: '/metrics' })).body).toContain('twinledger_dht_gateway_object_bytes_total');
    const doc = (await a.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/objects', '/objects/{ref}', '/objects/{ref}/manifest', '/objects/{ref}/acl', '/feeds', '/feeds/{feedId}/updates', '/feeds/{feedId}/latest', '/feeds/{feedId}/acl', '/status']));
  });
});
