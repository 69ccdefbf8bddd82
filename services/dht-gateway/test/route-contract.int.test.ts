import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGatewayUnderTest, USER_AUDIENCE, type GatewayUnderTest } from './support/gateway-under-test.js';

/**
 * The gateway's HTTP contract, route by route, from its own OpenAPI document: app.inject against
 * REAL DHT nodes of three organizations (TCP on 127.0.0.1), the verifier built as server.ts builds
 * it from a deployment's env (support/gateway-under-test.ts). Every documented route must have an entry in `routes` below (a new
 * route fails the first test until it gets one), and for each entry the test checks:
 * - authentication and the service-credential rule: no token, a user token (even one carrying
 *   `svc` and the key-manager role), a gateway-audience token without `svc`, another
 *   organization's token are all refused with their stable codes, and nothing reached the DHT;
 * - the documented success answer for the org's workload credential;
 * - schema violations: 400 `VALIDATION_FAILED` (a route with parameters, query or body has cases);
 * - unknown items: 404 with a stable code.
 * Behaviour across gateways (ACL re-keying, refusal outside the ACL, sizes) is routes.int.test.ts;
 * who may change an ACL is service-credential.int.test.ts.
 */
const DHT_AUD = 'twinledger-dht';
const MAX_OBJECT_BYTES = 64 * 1024;
const UNKNOWN = '0'.repeat(64);

interface Req {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly payload?: Buffer | Record<string, unknown> | string;
}
interface RouteCase {
  /** The credential the route's success case uses: any workload of the org, or the key manager. */
  readonly as: 'workload' | 'keyManager';
  /** A well-formed request and the status it answers (built after the fixture object is stored). */
  readonly ok: () => Req;
  readonly okStatus: number;
  /** Requests the schema refuses (400 VALIDATION_FAILED). */
  readonly invalid: readonly Req[];
  /** Requests for items nobody stored, and their 404 code. */
  readonly missing: readonly [Req, string][];
}

let gw: GatewayUnderTest;
let ref = '';
const tokens = { none: '', user: '', userWithSvc: '', noSvc: '', foreign: '', workload: '', keyManager: '' };

const octet = (payload: Buffer | string = Buffer.from('x'), type = 'application/octet-stream'): Pick<Req, 'headers' | 'payload'> => ({ headers: { 'content-type': type }, payload });

// Keyed as the OpenAPI document names them (method and path template).
const routes: Record<string, RouteCase> = {
  'PUT /objects': {
    as: 'workload',
    ok: () => ({ method: 'PUT', url: '/objects?acl=OrgAMSP,OrgBMSP', ...octet(Buffer.from('contract object')) }),
    okStatus: 201,
    invalid: [
      { method: 'PUT', url: '/objects?acl=Org%20A', ...octet() },
      { method: 'PUT', url: '/objects?acl=OrgAMSP,', ...octet() },
      { method: 'PUT', url: '/objects?acl=OrgAMSP&extra=1', ...octet() },
    ],
    missing: [],
  },
  'GET /objects/{ref}': {
    as: 'workload',
    ok: () => ({ method: 'GET', url: `/objects/${ref}` }),
    okStatus: 200,
    invalid: [{ method: 'GET', url: '/objects/not-a-ref' }, { method: 'GET', url: `/objects/${'A'.repeat(64)}` }, { method: 'GET', url: `/objects/${'a'.repeat(63)}` }],
    missing: [[{ method: 'GET', url: `/objects/${UNKNOWN}` }, 'DHT_NOT_FOUND']],
  },
  'GET /objects/{ref}/manifest': {
    as: 'workload',
    ok: () => ({ method: 'GET', url: `/objects/${ref}/manifest` }),
    okStatus: 200,
    invalid: [{ method: 'GET', url: '/objects/xyz/manifest' }],
    missing: [[{ method: 'GET', url: `/objects/${UNKNOWN}/manifest` }, 'DHT_NOT_FOUND']],
  },
  'GET /objects/{ref}/acl': {
    as: 'workload',
    ok: () => ({ method: 'GET', url: `/objects/${ref}/acl` }),
    okStatus: 200,
    invalid: [{ method: 'GET', url: '/objects/xyz/acl' }],
    missing: [[{ method: 'GET', url: `/objects/${UNKNOWN}/acl` }, 'DHT_NOT_FOUND']],
  },
  'PUT /objects/{ref}/acl': {
    as: 'keyManager',
    // Adding a party: no re-key, so the fixture's ref stays readable for the other cases.
    ok: () => ({ method: 'PUT', url: `/objects/${ref}/acl`, payload: { parties: ['OrgAMSP', 'OrgBMSP', 'OrgCMSP'] } }),
    okStatus: 200,
    invalid: [
      { method: 'PUT', url: '/objects/xyz/acl', payload: { parties: ['OrgAMSP'] } },
      { method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: {} },
      { method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: { parties: [] } },
      { method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: { parties: ['Org A'] } },
      { method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: { parties: ['OrgAMSP', 'OrgAMSP'] } },
      { method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: { parties: ['OrgAMSP'], extra: 1 } },
      { method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: { parties: Array.from({ length: 65 }, (_, i) => `Org${i}MSP`) } },
    ],
    missing: [[{ method: 'PUT', url: `/objects/${UNKNOWN}/acl`, payload: { parties: ['OrgAMSP'] } }, 'DHT_NOT_FOUND']],
  },
  'GET /status': {
    as: 'workload',
    ok: () => ({ method: 'GET', url: '/status' }),
    okStatus: 200,
    invalid: [],
    missing: [],
  },
};
/** Routes every caller reaches without a token (service-kit's operations routes). */
const PUBLIC = ['/healthz', '/readyz', '/metrics'];

/** What the cases read of an answer. */
interface Answer {
  readonly statusCode: number;
  readonly body: string;
  json(): unknown;
}

function send(r: Req, token: string): Promise<Answer> {
  const headers = { ...r.headers, ...(token === '' ? {} : { authorization: `Bearer ${token}` }) };
  return gw.app.inject({ method: r.method, url: r.url, headers, ...(r.payload === undefined ? {} : { payload: r.payload }) });
}

/** What every node of the network holds: a refused request must leave it unchanged. */
function stored(): unknown {
  return gw.net.nodes.map((n) => n.status().store);
}

beforeAll(async () => {
  gw = await startGatewayUnderTest({ chunkSize: 16 * 1024, maxObjectBytes: MAX_OBJECT_BYTES });
  const { issuer } = gw;
  tokens.user = await issuer.issue({ sub: 'alice', org: 'OrgAMSP', fabricIdentity: 'User1', audience: USER_AUDIENCE });
  tokens.userWithSvc = await issuer.issue({ sub: 'alice', org: 'OrgAMSP', fabricIdentity: 'User1', audience: USER_AUDIENCE, svc: 'acl-service', roles: ['dht:key-manager'] });
  tokens.noSvc = await issuer.issue({ sub: 'alice', org: 'OrgAMSP', audience: DHT_AUD, roles: ['dht:key-manager'] });
  tokens.foreign = await issuer.issue({ sub: 'acl-service', svc: 'acl-service', roles: ['dht:key-manager'], org: 'OrgBMSP', audience: DHT_AUD });
  tokens.workload = await issuer.issue({ sub: 'spec-service', svc: 'spec-service', org: 'OrgAMSP', audience: DHT_AUD });
  tokens.keyManager = await issuer.issue({ sub: 'acl-service', svc: 'acl-service', roles: ['dht:key-manager'], org: 'OrgAMSP', audience: DHT_AUD });
  // The fixture every read case addresses: stored by a workload, readable by A and B.
  const put = await send(routes['PUT /objects']!.ok(), tokens.workload);
  expect(put.statusCode).toBe(201);
  ref = (put.json() as { ref: string }).ref;
});

afterAll(async () => {
  await gw?.close();
});

describe('dht-gateway route contract (every route of the OpenAPI document)', () => {
  it('documents exactly the routes covered here, and nothing under /feeds', async () => {
    const doc = (await gw.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, { parameters?: unknown[]; requestBody?: unknown }>> };
    const documented: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (PUBLIC.includes(path)) continue;
      for (const [method, op] of Object.entries(ops)) {
        const key = `${method.toUpperCase()} ${path}`;
        documented.push(key);
        // A route that takes input must show that malformed input is refused.
        if ((op.parameters?.length ?? 0) > 0 || op.requestBody !== undefined) expect({ key, invalidCases: (routes[key]?.invalid.length ?? 0) > 0 }).toEqual({ key, invalidCases: true });
      }
    }
    expect(documented.sort()).toEqual(Object.keys(routes).sort());
    expect(documented.filter((k) => k.includes('/feeds'))).toEqual([]);
  });

  it('refuses every route without a workload credential of this org, before any DHT work', async () => {
    const before = stored();
    const refusals: Array<[string, number, string, string | undefined]> = [
      [tokens.none, 401, 'UNAUTHENTICATED', 'missing'],
      [tokens.user, 401, 'UNAUTHENTICATED', 'invalid'],
      [tokens.userWithSvc, 401, 'UNAUTHENTICATED', 'invalid'],
      [tokens.noSvc, 403, 'SERVICE_CREDENTIAL_REQUIRED', undefined],
      [tokens.foreign, 403, 'FOREIGN_ORGANIZATION', 'foreign_org'],
    ];
    for (const [key, c] of Object.entries(routes)) {
      for (const [token, status, code, reason] of refusals) {
        const res = await send(c.ok(), token);
        const body = res.json() as { code: string; details?: { reason?: string } };
        expect({ key, status: res.statusCode, code: body.code, reason: body.details?.reason }).toEqual({ key, status, code, reason });
      }
    }
    expect(stored()).toEqual(before);
    // The ACL change of the success case was refused every time: still version 1.
    expect((await send(routes['GET /objects/{ref}/acl']!.ok(), tokens.workload)).json()).toMatchObject({ version: 1, parties: ['OrgAMSP', 'OrgBMSP'] });
  });

  it('answers every route with its documented success status for the org\'s workload', async () => {
    for (const [key, c] of Object.entries(routes)) {
      const res = await send(c.ok(), c.as === 'keyManager' ? tokens.keyManager : tokens.workload);
      expect({ key, status: res.statusCode }).toEqual({ key, status: c.okStatus });
    }
    expect((await send(routes['GET /objects/{ref}']!.ok(), tokens.workload)).body).toBe('contract object');
    expect((await send(routes['GET /objects/{ref}/acl']!.ok(), tokens.workload)).json()).toMatchObject({ version: 2, parties: ['OrgAMSP', 'OrgBMSP', 'OrgCMSP'] });
    expect((await send(routes['GET /status']!.ok(), tokens.workload)).json()).toMatchObject({ mspId: 'OrgAMSP', peerId: gw.net.nodes[0]!.peerId });
  });

  it('refuses malformed input on every route with 400 VALIDATION_FAILED, nothing stored', async () => {
    const before = stored();
    for (const [key, c] of Object.entries(routes)) {
      for (const r of c.invalid) {
        const res = await send(r, tokens.keyManager);
        expect({ key, url: r.url, payload: r.payload, status: res.statusCode, code: (res.json() as { code: string }).code }).toEqual({ key, url: r.url, payload: r.payload, status: 400, code: 'VALIDATION_FAILED' });
      }
    }
    expect(stored()).toEqual(before);
  });

  it('answers object bodies the route does not take with 413 and 415, and unknown parties with 403', async () => {
    const cases: Array<[Req, number, string]> = [
      [{ method: 'PUT', url: '/objects', ...octet(Buffer.alloc(MAX_OBJECT_BYTES + 1)) }, 413, 'PAYLOAD_TOO_LARGE'],
      [{ method: 'PUT', url: '/objects', ...octet('{}', 'application/json') }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [{ method: 'PUT', url: '/objects', ...octet('x', 'text/plain') }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [{ method: 'PUT', url: '/objects?acl=NoSuchMSP', ...octet() }, 403, 'DHT_UNKNOWN_PARTY'],
      [{ method: 'PUT', url: `/objects/${ref}/acl`, payload: { parties: ['OrgAMSP', 'NoSuchMSP'] } }, 403, 'DHT_UNKNOWN_PARTY'],
    ];
    for (const [r, status, code] of cases) {
      const res = await send(r, tokens.keyManager);
      expect({ url: r.url, status: res.statusCode, code: (res.json() as { code: string }).code }).toEqual({ url: r.url, status, code });
    }
  });

  it('answers 404 for items nobody stored and for routes that do not exist', async () => {
    for (const [key, c] of Object.entries(routes)) {
      for (const [r, code] of c.missing) {
        const res = await send(r, tokens.keyManager);
        expect({ key, status: res.statusCode, code: (res.json() as { code: string }).code }).toEqual({ key, status: 404, code });
      }
    }
    for (const r of [{ method: 'GET', url: '/nothing-here' }, { method: 'DELETE', url: `/objects/${ref}` }] as const) {
      const res = await send(r, tokens.workload);
      expect({ url: r.url, status: res.statusCode, code: (res.json() as { code: string }).code }).toEqual({ url: r.url, status: 404, code: 'NOT_FOUND' });
    }
  });

  it('writes no feeds: feed-ingest is the one feed writer (ADR-10); a workload credential creates, appends and reads nothing here', async () => {
    const before = stored();
    const feedId = 'ab'.repeat(32);
    const attempts: Req[] = [
      { method: 'POST', url: '/feeds', payload: { topic: 'twin-1/sensor-7', acl: ['OrgAMSP', 'OrgBMSP', 'OrgCMSP'] } },
      { method: 'POST', url: `/feeds/${feedId}/updates`, headers: { 'content-type': 'application/octet-stream', 'x-feed-index': '0', 'x-range-start': '0', 'x-range-end': '1' }, payload: Buffer.from('forged segment') },
      { method: 'PUT', url: `/feeds/${feedId}/acl`, payload: { parties: ['OrgAMSP', 'OrgCMSP'] } },
      { method: 'GET', url: `/feeds/${feedId}/acl` },
      { method: 'GET', url: `/feeds/${feedId}/latest` },
      { method: 'GET', url: `/feeds/${feedId}/updates?fromIndex=0&toIndex=1` },
    ];
    for (const token of [tokens.workload, tokens.keyManager]) {
      for (const r of attempts) {
        const res = await send(r, token);
        expect({ route: `${r.method} ${r.url}`, status: res.statusCode, code: (res.json() as { code: string }).code }).toEqual({ route: `${r.method} ${r.url}`, status: 404, code: 'NOT_FOUND' });
      }
    }
    // No feed ACL, head or update reached any node.
    expect(stored()).toEqual(before);
  });
});
