import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type DevIssuer, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from '../src/app.js';

// Object behaviour across organizations through app.inject over REAL DHT nodes (three orgs,
// TCP on 127.0.0.1). Every route's refusals and bad-input codes: route-contract.int.test.ts.
const AUD = 'dht-gateway';
let net: TestNetwork;
let issuer: DevIssuer;
const apps: ServiceApp[] = [];
let tokenA = '';
let tokenB = '';

async function appFor(i: number): Promise<ServiceApp> {
  const app = await buildApp({
    node: net.nodes[i]!,
    logger: silentLogger(),
    auth: createJwtVerifier({ issuer: issuer.issuer, audience: AUD, jwks: issuer.jwks, expectedOrg: net.nodes[i]!.mspId }),
    maxObjectBytes: 4 * 1024 * 1024,
  });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  net = await spawnTestNetwork({ orgs: ['OrgAMSP', 'OrgBMSP', 'OrgCMSP'], nodeInit: { chunkSize: 64 * 1024 } });
  await net.connectAll();
  issuer = await createDevIssuer('https://issuer.test');
  // Key-manager credentials: these tests change object ACLs (service-credential.int.test.ts covers who may).
  tokenA = await issuer.issue({ sub: 'svc-a', svc: 'acl-service', roles: ['dht:key-manager'], org: 'OrgAMSP', audience: AUD });
  tokenB = await issuer.issue({ sub: 'svc-b', svc: 'acl-service', roles: ['dht:key-manager'], org: 'OrgBMSP', audience: AUD });
});

afterAll(async () => {
  for (const a of apps) await a.close();
  await net?.teardown();
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

  it('reports status, health, readiness and metrics', async () => {
    const a = apps[0]!;
    const s = (await a.inject({ method: 'GET', url: '/status', headers: bearer(tokenA) })).json();
    expect(s).toMatchObject({ mspId: 'OrgAMSP', peerId: net.nodes[0]!.peerId, replicaHealth: { replicationFactor: 3, faultTolerance: 1, connectedParties: 2 } });
    expect(s.storeBytes).toBeGreaterThan(0);
    expect(s.items.chunks).toBeGreaterThan(0);
    expect((await a.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { dht: true } });
    expect((await a.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: '/metrics' })).body).toContain('twinledger_dht_gateway_object_bytes_total');
  });
});
