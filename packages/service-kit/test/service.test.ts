import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type AddressInfo } from 'node:net';
import { AccessDeniedError, UnavailableError } from '@twinledger/errors';
import { silentLogger } from '@twinledger/observability';
import { Type, buildService, createDevIssuer, createJwtVerifier, errorResponses, type DevIssuer, type ServiceApp } from '../src/index.js';

describe('buildService', () => {
  let app: ServiceApp;
  let issuer: DevIssuer;
  let other: DevIssuer;
  let ready = true;

  beforeAll(async () => {
    issuer = await createDevIssuer('https://idp.org1.local');
    other = await createDevIssuer('https://idp.org1.local');
    app = await buildService({
      name: 'test-service',
      logger: silentLogger(),
      auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }),
      readiness: [{ name: 'dep', check: async () => ready }],
    });
    app.post(
      '/things/:id',
      {
        schema: {
          params: Type.Object({ id: Type.String({ pattern: '^[a-z]+$' }) }),
          body: Type.Object({ n: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ id: Type.String(), n: Type.Integer(), by: Type.String() }), ...errorResponses },
        },
      },
      async (req) => {
        if (req.params.id === 'secret') throw new AccessDeniedError('not yours', { details: { id: 'secret' } });
        if (req.params.id === 'busy') throw new UnavailableError('slow down', { retryAfterSeconds: 2 });
        if (req.params.id === 'boom') throw new Error('db password is hunter2');
        return { id: req.params.id, n: req.body.n, by: req.principal!.mspId };
      },
    );
    await app.ready();
  });
  afterAll(async () => app.close());

  const auth = async (t?: string) => ({ authorization: `Bearer ${t ?? (await issuer.issue({ sub: 'alice', org: 'Org1MSP', audience: 'twinledger' }))}` });

  it('serves a valid authenticated request and tags it with a request id', async () => {
    const res = await app.inject({ method: 'POST', url: '/things/abc', headers: await auth(), payload: { n: 3 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: 'abc', n: 3, by: 'Org1MSP' });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it.each([
    ['missing', undefined as string | undefined],
    ['garbage', 'Bearer not.a.jwt'],
  ])('answers 401 for a %s token', async (_n, header) => {
    const res = await app.inject({ method: 'POST', url: '/things/abc', headers: header ? { authorization: header } : {}, payload: { n: 1 } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('answers 401 with reason "missing" without a token, and 403 FOREIGN_ORGANIZATION for another org\'s token (before the handler)', async () => {
    const none = await app.inject({ method: 'POST', url: '/things/abc', payload: { n: 1 } });
    expect(none.json()).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'missing' } });
    const foreign = await issuer.issue({ sub: 'eve', org: 'Org2MSP', audience: 'twinledger' });
    const res = await app.inject({ method: 'POST', url: '/things/abc', headers: await auth(foreign), payload: { n: 1 } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'FOREIGN_ORGANIZATION', details: { reason: 'foreign_org', tokenOrg: 'Org2MSP' } });
  });

  it('answers 401 for a forged token (other key) and an expired one', async () => {
    const forged = await other.issue({ sub: 'mallory', org: 'Org1MSP', audience: 'twinledger' });
    expect((await app.inject({ method: 'POST', url: '/things/abc', headers: await auth(forged), payload: { n: 1 } })).statusCode).toBe(401);
    const expired = await issuer.issue({ sub: 'alice', org: 'Org1MSP', audience: 'twinledger', expiresIn: '-2m' });
    const res = await app.inject({ method: 'POST', url: '/things/abc', headers: await auth(expired), payload: { n: 1 } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'expired', jwtError: 'ERR_JWT_EXPIRED' } });
    const wrongAud = await issuer.issue({ sub: 'alice', org: 'Org1MSP', audience: 'elsewhere' });
    expect((await app.inject({ method: 'POST', url: '/things/abc', headers: await auth(wrongAud), payload: { n: 1 } })).statusCode).toBe(401);
  });

  it('answers 400 VALIDATION_FAILED for bad params and bodies', async () => {
    for (const [url, payload] of [['/things/ABC', { n: 1 }], ['/things/abc', { n: -1 }], ['/things/abc', { n: 1, extra: true }]] as const) {
      const res = await app.inject({ method: 'POST', url, headers: await auth(), payload });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    const bad = await app.inject({ method: 'POST', url: '/things/abc', headers: { ...(await auth()), 'content-type': 'application/json' }, payload: '{"n":' });
    expect(bad.statusCode).toBe(400);
  });

  it('maps domain errors, keeps retry hints and hides internals on 5xx', async () => {
    const denied = await app.inject({ method: 'POST', url: '/things/secret', headers: await auth(), payload: { n: 1 } });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: 'ACCESS_DENIED', details: { id: 'secret' } });
    const busy = await app.inject({ method: 'POST', url: '/things/busy', headers: await auth(), payload: { n: 1 } });
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('2');
    const boom = await app.inject({ method: 'POST', url: '/things/boom', headers: await auth(), payload: { n: 1 } });
    expect(boom.statusCode).toBe(500);
    expect(boom.body).not.toContain('hunter2');
    expect(boom.json()).toMatchObject({ code: 'INTERNAL' });
  });

  it('has public health, readiness, metrics and OpenAPI', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    ready = false;
    const notReady = await app.inject('/readyz');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({ status: 'not ready', checks: { dep: false } });
    ready = true;
    const metrics = await app.inject('/metrics');
    expect(metrics.body).toMatch(/twinledger_http_request_duration_seconds_bucket\{.*route="\/things\/:id"/);
    const doc = (await app.inject('/docs/json')).json();
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths)).toContain('/things/{id}');
    // Unknown routes reveal nothing to anonymous callers, and are 404 for authenticated ones.
    expect((await app.inject('/nope')).statusCode).toBe(401);
    expect((await app.inject({ url: '/nope', headers: await auth() })).json()).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('buildService credentials (a token from elsewhere than the Authorization header)', () => {
  it('verifies the token the credentials source finds, sets it as the header, and lets a bearer header win', async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    const fromCookie = await issuer.issue({ sub: 'carol', org: 'Org1MSP', audience: 'twinledger' });
    const forged = await (await createDevIssuer('https://idp.org1.local')).issue({ sub: 'mallory', org: 'Org1MSP', audience: 'twinledger' });
    let found: string | undefined = fromCookie;
    const app = await buildService({
      name: 'creds',
      logger: silentLogger(),
      auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }),
      credentials: async () => found,
    });
    app.get('/who', async (req) => ({ sub: req.principal!.subject, header: req.headers.authorization ?? null }));
    try {
      expect((await app.inject({ url: '/who' })).json()).toEqual({ sub: 'carol', header: `Bearer ${fromCookie}` });
      const bearer = await issuer.issue({ sub: 'dave', org: 'Org1MSP', audience: 'twinledger' });
      expect((await app.inject({ url: '/who', headers: { authorization: `Bearer ${bearer}` } })).json()).toMatchObject({ sub: 'dave' });
      // What the source finds is verified like any token: a forged one is refused, none is "missing".
      found = forged;
      expect((await app.inject({ url: '/who' })).json()).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'invalid' } });
      found = undefined;
      expect((await app.inject({ url: '/who' })).json()).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'missing' } });
    } finally {
      await app.close();
    }
  });
});

describe('buildService answers what the HTTP parser refuses in the error model', () => {
  /** One raw request over TCP; the whole answer as text (the server closes the connection). */
  const raw = (port: number, text: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(text));
      const parts: Buffer[] = [];
      socket.on('data', (d: Buffer) => parts.push(d));
      socket.on('close', () => resolve(Buffer.concat(parts).toString('utf8')));
      socket.on('error', reject);
    });

  it('431 HEADERS_TOO_LARGE for an oversized request line, 400 BAD_REQUEST for malformed HTTP', async () => {
    const app = await buildService({ name: 'parser', logger: silentLogger() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as AddressInfo;
      const big = await raw(port, `GET /healthz?${'k=1&'.repeat(10_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(big.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
      expect(JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'HEADERS_TOO_LARGE' });
      const bad = await raw(port, 'GARBAGE\r\n\r\n');
      expect(bad.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
      expect(JSON.parse(bad.slice(bad.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'BAD_REQUEST' });
    } finally {
      await app.close();
    }
  });
});
