import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type DevIssuer, type ServiceApp } from '@twinledger/service-kit';
import { buildApp, createDevSignIn, parseDevUsers } from '../src/app.js';
import { webRoot } from './support/web-root.js';

const ISSUER = 'https://issuer.org1.test';


/** A real upstream on an ephemeral port: echoes what it received and streams SSE in steps. */
async function startUpstream(): Promise<{ app: FastifyInstance; url: string; release: () => void }> {
  const app = Fastify();
  let release: () => void = () => {};
  app.get('/twins/:id', async (req) => ({ path: req.url, authorization: req.headers.authorization ?? null }));
  app.post('/grants', async (req, reply) => reply.code(403).send({ code: 'ACCESS_DENIED', message: 'no grants:manage', requestId: 'r1' }));
  app.get('/events', (req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    reply.raw.write('id: 1:tx1\nevent: TwinCreated\ndata: {"n":1}\n\n');
    release = () => {
      reply.raw.write('id: 2:tx2\nevent: TwinUpdated\ndata: {"n":2}\n\n');
      reply.raw.end();
    };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  return { app, url: `http://127.0.0.1:${addr.port}`, release: () => release() };
}

describe('console server', () => {
  let issuer: DevIssuer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let app: ServiceApp;
  let withDev: ServiceApp;

  beforeAll(async () => {
    issuer = await createDevIssuer(ISSUER);
    upstream = await startUpstream();
    const auth = createJwtVerifier({ issuer: ISSUER, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' });
    const root = webRoot();
    app = await buildApp({ logger: silentLogger(), auth, orgName: 'Org One', mspId: 'Org1MSP', upstreams: { spec: upstream.url, acl: upstream.url, feeds: 'http://127.0.0.1:9' }, webRoot: root });
    const devSignIn = await createDevSignIn({
      issuer: ISSUER,
      audience: 'twinledger',
      mspId: 'Org1MSP',
      privateJwk: await issuer.exportPrivate(),
      users: parseDevUsers(['maintainer=User1:MAINTAINER', 'auditor=User2:AUDITOR+READER']),
    });
    withDev = await buildApp({ logger: silentLogger(), auth, orgName: 'Org One', mspId: 'Org1MSP', upstreams: {}, webRoot: root, devSignIn });
  });

  afterAll(async () => {
    await app?.close();
    await withDev?.close();
    await upstream?.app.close();
  });

  it('serves the app with a strict CSP and health endpoints', async () => {
    const index = await app.inject({ url: '/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toMatch(/text\/html/);
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    expect(index.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(index.headers['cache-control']).toBe('no-cache');
    const asset = await app.inject({ url: '/assets/app-abc.js' });
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ url: '/metrics' })).body).toContain('twinledger_http_request_duration_seconds');
  });

  it('has dev sign-in off unless configured', async () => {
    const cfg = (await app.inject({ url: '/api/console/config' })).json();
    expect(cfg).toEqual({ orgName: 'Org One', mspId: 'Org1MSP', oidc: { enabled: false }, devSignIn: { enabled: false, users: [] }, upstreams: { spec: true, acl: true, feeds: true, agent: false } });
    const res = await app.inject({ method: 'POST', url: '/api/console/dev-token', payload: { user: 'maintainer' } });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'DEV_SIGNIN_DISABLED' });
  });

  it('mints dev tokens the services accept, for listed users only', async () => {
    const cfg = (await withDev.inject({ url: '/api/console/config' })).json();
    expect(cfg.devSignIn.users).toEqual([
      { name: 'maintainer', fabricIdentity: 'User1', roles: ['MAINTAINER'] },
      { name: 'auditor', fabricIdentity: 'User2', roles: ['AUDITOR', 'READER'] },
    ]);
    const res = await withDev.inject({ method: 'POST', url: '/api/console/dev-token', payload: { user: 'auditor' } });
    expect(res.statusCode).toBe(200);
    const { token, expiresInSeconds } = res.json();
    expect(expiresInSeconds).toBe(3600);
    // Verified by an independent verifier, as every service verifies it.
    const principal = await createJwtVerifier({ issuer: ISSUER, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }).verify(token);
    expect(principal).toEqual({ subject: 'auditor', mspId: 'Org1MSP', fabricIdentity: 'User2', roles: ['AUDITOR', 'READER'] });
    const session = await withDev.inject({ url: '/api/console/session', headers: { authorization: `Bearer ${token}` } });
    expect(session.json()).toEqual({ subject: 'auditor', mspId: 'Org1MSP', fabricIdentity: 'User2', roles: ['AUDITOR', 'READER'], csrfToken: null, accessTokenExpiresAt: null });
    const unknown = await withDev.inject({ method: 'POST', url: '/api/console/dev-token', payload: { user: 'root' } });
    expect(unknown.statusCode).toBe(403);
    expect(unknown.json()).toMatchObject({ code: 'UNKNOWN_DEV_USER' });
    const bad = await withDev.inject({ method: 'POST', url: '/api/console/dev-token', payload: { user: 'auditor', extra: 1 } });
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('refuses a session for a missing or forged token', async () => {
    expect((await app.inject({ url: '/api/console/session' })).json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const other = await createDevIssuer(ISSUER);
    const forged = await other.issue({ sub: 'x', org: 'Org1MSP', audience: 'twinledger' });
    const res = await app.inject({ url: '/api/console/session', headers: { authorization: `Bearer ${forged}` } });
    expect(res.statusCode).toBe(401);
  });

  const userToken = (org = 'Org1MSP'): Promise<string> => issuer.issue({ sub: 'alice', org, fabricIdentity: 'User1', audience: 'twinledger' });

  it('proxies to the service with the path rewritten and the token passed through', async () => {
    const token = await userToken();
    const res = await app.inject({ url: '/api/spec/twins/t1?format=json', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ path: '/twins/t1?format=json', authorization: `Bearer ${token}` });
  });

  it('proxies for its own organization only: no token 401, another org\'s token 403, the service never asked', async () => {
    const none = await app.inject({ url: '/api/spec/twins/t1' });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'missing' } });
    const foreign = await app.inject({ url: '/api/spec/twins/t1', headers: { authorization: `Bearer ${await userToken('Org2MSP')}` } });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json()).toMatchObject({ code: 'FOREIGN_ORGANIZATION' });
    // The upstream echoes `path`: neither answer came from it.
    expect(none.json().path).toBeUndefined();
    expect(foreign.json().path).toBeUndefined();
  });

  it('has no route to the dht-gateway: /api/dht/* answers 404 for any method, even with a valid token', async () => {
    const token = await userToken();
    for (const [method, url] of [['GET', '/api/dht/objects/ab'], ['PUT', '/api/dht/objects/ab/acl'], ['GET', '/api/dht/status'], ['POST', '/api/dht/feeds']] as const) {
      const res = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(method === 'GET' ? {} : { payload: { parties: ['Org1MSP', 'Org2MSP'] } }) });
      expect({ url, status: res.statusCode, code: res.json().code }).toEqual({ url, status: 404, code: 'NOT_FOUND' });
    }
  });

  it('passes refusals through unchanged', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/acl/grants', headers: { authorization: `Bearer ${await userToken()}` }, payload: { mspId: 'Org2MSP' } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ code: 'ACCESS_DENIED', message: 'no grants:manage', requestId: 'r1' });
  });

  it('answers 502 UPSTREAM_UNAVAILABLE when a service is down and 404 when it is not configured', async () => {
    const down = await app.inject({ url: '/api/feeds/feeds', headers: { authorization: `Bearer ${await userToken()}` } });
    expect(down.statusCode).toBe(502);
    expect(down.json()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', details: { upstream: 'feeds' } });
    const none = await app.inject({ url: '/api/agent/status' });
    expect(none.statusCode).toBe(404);
    expect(none.json()).toMatchObject({ code: 'UPSTREAM_NOT_CONFIGURED', details: { upstream: 'agent' } });
  });

  it('streams Server-Sent Events through as they come', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    const chunks: string[] = [];
    const authorization = `Bearer ${await userToken()}`;
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/spec/events', headers: { authorization } }, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream');
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          chunks.push(c);
          // The first event arrives while the upstream still holds the stream open.
          if (chunks.join('').includes('"n":1') && !chunks.join('').includes('"n":2')) upstream.release();
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    const text = chunks.join('');
    expect(text).toContain('event: TwinCreated');
    expect(text).toContain('event: TwinUpdated');
    expect(text.indexOf('"n":1')).toBeLessThan(text.indexOf('"n":2'));
  });
});

describe('parseDevUsers', () => {
  it('parses names, identities and roles and rejects malformed entries', () => {
    expect(parseDevUsers(['a=User1', 'b=Admin:OWNER+AUDITOR'])).toEqual([
      { name: 'a', fabricIdentity: 'User1', roles: [] },
      { name: 'b', fabricIdentity: 'Admin', roles: ['OWNER', 'AUDITOR'] },
    ]);
    for (const bad of [['nouser'], ['a='], ['a b=User1'], ['a=User1', 'a=User2'], ['a=User1:RO LE']]) {
      expect(() => parseDevUsers(bad)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });
});
