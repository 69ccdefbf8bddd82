// Every dht-gateway route through app.inject, with no DHT at all: the app is built around a small
// in-memory fake of GatewayNode (the part of our DhtNode interface the routes use) and the real
// token verifier. Success answers, and for every route malformed input refused with 4xx and a
// stable code before the node is asked anything. The same contract against real DHT nodes of
// three organizations: route-contract.int.test.ts; behaviour across gateways: routes.int.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { buildApp, type GatewayNode } from '../src/app.js';
import { FakeNode, MSP, sha256 } from './support/fake-node.js';

const AUD = 'twinledger-dht';
const MAX_OBJECT_BYTES = 1024;
const UNKNOWN = '0'.repeat(64);

let node: FakeNode;
let app: ServiceApp;
const tokens = { workload: '', keyManager: '' };

beforeAll(async () => {
  const issuer = await createDevIssuer('https://issuer.test');
  node = new FakeNode();
  app = await buildApp({
    // Each test gets a fresh fake through this one app (the routes hold the node they were given).
    node: new Proxy({} as GatewayNode, { get: (_t, k) => { const v = (node as unknown as Record<string | symbol, unknown>)[k]; return typeof v === 'function' ? v.bind(node) : v; } }),
    logger: silentLogger(),
    auth: createJwtVerifier({ issuer: issuer.issuer, audience: AUD, jwks: issuer.jwks, expectedOrg: MSP }),
    maxObjectBytes: MAX_OBJECT_BYTES,
  });
  tokens.workload = await issuer.issue({ sub: 'spec-service', svc: 'spec-service', org: MSP, audience: AUD });
  tokens.keyManager = await issuer.issue({ sub: 'acl-service', svc: 'acl-service', roles: ['dht:key-manager'], org: MSP, audience: AUD });
});
afterAll(async () => app?.close());
beforeEach(() => {
  node = new FakeNode();
});

interface Req {
  readonly method: 'GET' | 'PUT';
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly payload?: Buffer | string | Record<string, unknown>;
}
const octet = (payload: Buffer | string = 'x', type = 'application/octet-stream') => ({ headers: { 'content-type': type }, payload });
const send = (r: Req, token = tokens.keyManager) =>
  app.inject({ method: r.method, url: r.url, headers: { ...r.headers, authorization: `Bearer ${token}` }, ...(r.payload === undefined ? {} : { payload: r.payload }) });

/** Stores one object through the route, readable by this org and OrgBMSP. */
async function fixture(): Promise<string> {
  const res = await send({ method: 'PUT', url: '/objects?acl=OrgAMSP,OrgBMSP', ...octet('fixture bytes') }, tokens.workload);
  expect(res.statusCode).toBe(201);
  node.calls.length = 0;
  return (res.json() as { ref: string }).ref;
}

/** Per route as the OpenAPI document names it: requests its schema or checks refuse, with status and code. */
const badInput: Record<string, readonly [Req, number, string][]> = {
  'PUT /objects': [
    [{ method: 'PUT', url: '/objects?acl=Org%20A', ...octet() }, 400, 'VALIDATION_FAILED'],
    [{ method: 'PUT', url: '/objects?acl=OrgAMSP,', ...octet() }, 400, 'VALIDATION_FAILED'],
    [{ method: 'PUT', url: '/objects?acl=OrgAMSP&extra=1', ...octet() }, 400, 'VALIDATION_FAILED'],
    [{ method: 'PUT', url: `/objects?acl=${Array.from({ length: 65 }, (_, i) => `Org${i}`).join(',')}`, ...octet() }, 400, 'VALIDATION_FAILED'],
    [{ method: 'PUT', url: '/objects', ...octet(Buffer.alloc(MAX_OBJECT_BYTES + 1)) }, 413, 'PAYLOAD_TOO_LARGE'],
    [{ method: 'PUT', url: '/objects', ...octet('{"a":1}', 'application/json') }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [{ method: 'PUT', url: '/objects', ...octet('text', 'text/plain') }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ],
  'GET /objects/{ref}': [
    [{ method: 'GET', url: '/objects/not-a-ref' }, 400, 'VALIDATION_FAILED'],
    [{ method: 'GET', url: `/objects/${'A'.repeat(64)}` }, 400, 'VALIDATION_FAILED'],
    [{ method: 'GET', url: `/objects/${'a'.repeat(63)}` }, 400, 'VALIDATION_FAILED'],
    [{ method: 'GET', url: `/objects/${'a'.repeat(65)}` }, 400, 'VALIDATION_FAILED'],
  ],
  'GET /objects/{ref}/manifest': [[{ method: 'GET', url: '/objects/xyz/manifest' }, 400, 'VALIDATION_FAILED']],
  'GET /objects/{ref}/acl': [[{ method: 'GET', url: '/objects/xyz/acl' }, 400, 'VALIDATION_FAILED']],
  'PUT /objects/{ref}/acl': [
    [{ method: 'PUT', url: '/objects/xyz/acl', payload: { parties: ['OrgAMSP'] } }, 400, 'VALIDATION_FAILED'],
    [{ method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: {} }, 400, 'VALIDATION_FAILED'],
    [{ method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: { parties: [] } }, 400, 'VALIDATION_FAILED'],
    [{ method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: { parties: ['Org A'] } }, 400, 'VALIDATION_FAILED'],
    [{ method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: { parties: [{ mspId: 'OrgAMSP' }] } }, 400, 'VALIDATION_FAILED'],
    [{ method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: { parties: ['OrgAMSP', 'OrgAMSP'] } }, 400, 'VALIDATION_FAILED'],
    [{ method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: { parties: ['OrgAMSP'], extra: 1 } }, 400, 'VALIDATION_FAILED'],
    [{ method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: { parties: Array.from({ length: 65 }, (_, i) => `Org${i}MSP`) } }, 400, 'VALIDATION_FAILED'],
    // Broken JSON: Fastify's own client error, under its stable code (service-kit's error handler).
    [{ method: 'PUT', url: `/objects/${UNKNOWN}/acl`, headers: { 'content-type': 'application/json' }, payload: '{"parties":' }, 400, 'CTP_INVALID_JSON_BODY'],
    [{ method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: 'parties=OrgAMSP', headers: { 'content-type': 'text/plain' } }, 400, 'VALIDATION_FAILED'],
  ],
  // No parameters, no body: nothing to get wrong.
  'GET /status': [],
};

describe('dht-gateway routes (app.inject, fake node)', () => {
  it('has a bad-input entry for exactly the routes its OpenAPI document lists', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths)
      .filter(([path]) => !['/healthz', '/readyz', '/metrics'].includes(path))
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(Object.keys(badInput).sort());
  });

  it('PUT /objects: streams the body into the node with the requested ACL (default: this org) and answers its hash', async () => {
    const res = await send({ method: 'PUT', url: '/objects?acl=OrgAMSP,OrgBMSP', ...octet('hello objects') }, tokens.workload);
    expect(res.statusCode).toBe(201);
    const body = res.json() as { ref: string; size: number; sha256: string; replicas: string[] };
    expect(body).toMatchObject({ size: 13, sha256: sha256('hello objects'), replicas: ['peer-a', 'peer-b', 'peer-c'] });
    expect(node.objects.get(body.ref)).toMatchObject({ acl: ['OrgAMSP', 'OrgBMSP'] });
    const own = (await send({ method: 'PUT', url: '/objects', ...octet('mine') }, tokens.workload)).json() as { ref: string };
    expect(node.objects.get(own.ref)?.acl).toEqual([MSP]);
  });

  it('GET /objects/{ref}: the plaintext with its size and hash headers', async () => {
    const ref = await fixture();
    const res = await send({ method: 'GET', url: `/objects/${ref}` }, tokens.workload);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('fixture bytes');
    expect(res.headers).toMatchObject({ 'content-type': 'application/octet-stream', 'x-content-sha256': sha256('fixture bytes'), 'x-object-size': '13' });
  });

  it('GET /objects/{ref}/manifest and /acl: what the node holds, without keys', async () => {
    const ref = await fixture();
    const manifest = await send({ method: 'GET', url: `/objects/${ref}/manifest` }, tokens.workload);
    expect(manifest.statusCode).toBe(200);
    expect(manifest.json()).toMatchObject({ ref, size: 13, sha256: sha256('fixture bytes'), aclVersion: 1, parties: ['OrgAMSP', 'OrgBMSP'] });
    expect(manifest.json()).not.toHaveProperty('keys');
    const acl = await send({ method: 'GET', url: `/objects/${ref}/acl` }, tokens.workload);
    expect(acl.statusCode).toBe(200);
    expect(acl.json()).toEqual({ ref, objectId: sha256(`id:${ref}`), owner: sha256('owner'), version: 1, parties: ['OrgAMSP', 'OrgBMSP'] });
  });

  it('PUT /objects/{ref}/acl: the key manager sets any party set; any workload may only narrow to this org', async () => {
    const ref = await fixture();
    const res = await send({ method: 'PUT', url: `/objects/${ref}/acl`, payload: { parties: ['OrgAMSP', 'OrgBMSP', 'OrgCMSP'] } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ref, version: 2, rekeyed: false });
    const widen = await send({ method: 'PUT', url: `/objects/${ref}/acl`, payload: { parties: ['OrgAMSP', 'OrgDMSP'] } }, tokens.workload);
    expect({ status: widen.statusCode, code: (widen.json() as { code: string }).code }).toEqual({ status: 403, code: 'ACL_CHANGE_FORBIDDEN' });
    expect(node.calls).toEqual(['updateAcl']);
    const narrow = await send({ method: 'PUT', url: `/objects/${ref}/acl`, payload: { parties: [MSP] } }, tokens.workload);
    expect(narrow.json()).toEqual({ ref, version: 3, rekeyed: true });
  });

  it('GET /status: the node, its peers, and how many other organizations it reaches', async () => {
    const res = await send({ method: 'GET', url: '/status' }, tokens.workload);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      peerId: 'peer-a',
      mspId: MSP,
      multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
      peers: [{ peerId: 'peer-b', mspId: 'OrgBMSP' }, { peerId: 'peer-b2', mspId: 'OrgBMSP' }, { peerId: 'peer-c' }],
      storeBytes: 10,
      items: { chunks: 1, manifests: 1, acls: 1, locators: 0, feedUpdates: 0, feedHeads: 0 },
      replicaHealth: { replicationFactor: 3, faultTolerance: 1, connectedParties: 1 },
    });
  });

  it('refuses malformed input on every route with its 4xx and stable code, never asking the node', async () => {
    for (const [key, cases] of Object.entries(badInput)) {
      for (const [r, status, code] of cases) {
        const res = await send(r);
        expect({ key, url: r.url, payload: r.payload, status: res.statusCode, code: (res.json() as { code: string }).code }).toEqual({ key, url: r.url, payload: r.payload, status, code });
      }
    }
    expect(node.calls).toEqual([]);
  });

  it("maps the node's refusals to their 4xx codes and its unavailability to 503, not to a 500", async () => {
    const ref = await fixture();
    for (const url of [`/objects/${UNKNOWN}`, `/objects/${UNKNOWN}/manifest`, `/objects/${UNKNOWN}/acl`]) {
      const res = await send({ method: 'GET', url });
      expect({ url, status: res.statusCode, code: (res.json() as { code: string }).code }).toEqual({ url, status: 404, code: 'DHT_NOT_FOUND' });
    }
    node.objects.get(ref)!.acl = ['OrgBMSP'];
    const denied = await send({ method: 'GET', url: `/objects/${ref}` });
    expect({ status: denied.statusCode, code: (denied.json() as { code: string }).code }).toEqual({ status: 403, code: 'DHT_ACL_DENIED' });
    node.unavailable = true;
    const down = await send({ method: 'GET', url: `/objects/${ref}/acl` });
    expect(down.statusCode).toBe(503);
  });
});
