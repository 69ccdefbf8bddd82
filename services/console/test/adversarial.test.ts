// Every route of the console's OpenAPI document, walked with malformed input (service-kit's
// adversarial walk), dev sign-in on: never a 5xx, a hang or a crash, 4xx always with a stable
// code. The spec upstream is the spec-service over a chaincode that answers like a working ledger
// (so the proxy passes real answers back); the others are a service-kit app without routes (404
// with a code, and service-kit's answers to what Node's parser refuses, such as an oversized URL).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '@twinledger/observability';
import { buildService, createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { probeUnauthenticated, walkAdversarially } from '@twinledger/service-kit/testing';
import { buildApp, createDevSignIn, parseDevUsers } from '../src/app.js';
import { workingSpecService } from '../../spec-service/test/support/working-spec-service.js';
import { webRoot } from './support/web-root.js';

const ISSUER = 'https://issuer.org1.test';
const METHODS = ['DELETE', 'GET', 'PATCH', 'POST', 'PUT'];
/**
 * What never answers 2xx here: the proxies to the upstreams without routes (acl, feeds, agent;
 * spec at its root), sign-in without an identity provider configured, and the audit, whose feed
 * evidence comes from the feeds upstream.
 */
const unreached = [
  ...['acl', 'agent', 'feeds'].flatMap((u) => METHODS.flatMap((m) => [`${m} /api/${u}/`, `${m} /api/${u}/{*}`])),
  ...METHODS.map((m) => `${m} /api/spec/`),
  'GET /api/console/twins/{twinId}/audit',
  'GET /auth/callback',
  'GET /auth/login',
  'POST /auth/logout',
].sort();

describe('console under adversarial input (every documented route)', () => {
  let upstream: ServiceApp;
  let spec: ServiceApp;
  let app: ServiceApp;
  let token: string;

  beforeAll(async () => {
    const issuer = await createDevIssuer(ISSUER);
    upstream = await buildService({ name: 'upstream', logger: silentLogger() });
    await upstream.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(upstream.server.address() as { port: number }).port}`;
    // The console passes the user's own token on: the spec-service trusts the same issuer.
    spec = (await workingSpecService(createJwtVerifier({ issuer: ISSUER, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }))).app;
    const specUrl = await spec.listen({ host: '127.0.0.1', port: 0 });
    const devSignIn = await createDevSignIn({ issuer: ISSUER, audience: 'twinledger', mspId: 'Org1MSP', privateJwk: await issuer.exportPrivate(), users: parseDevUsers(['maintainer=User1:MAINTAINER']) });
    app = await buildApp({ logger: silentLogger(), auth: createJwtVerifier({ issuer: ISSUER, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }), orgName: 'Org One', mspId: 'Org1MSP', upstreams: { spec: specUrl, acl: url, feeds: url, agent: url }, webRoot: webRoot(), devSignIn });
    await app.ready();
    token = await issuer.issue({ sub: 'maintainer', org: 'Org1MSP', fabricIdentity: 'User1', roles: ['MAINTAINER'], audience: 'twinledger' });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await upstream?.close();
    await spec?.close();
  });

  it('answers every malformed request below 500, in time, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 19, token, pathValues: { twinId: 'plant-1', '*': 'twins' } })).toEqual({ findings: [], reachedHandlers: true, unreached, alive: true });
  }, 300_000);

  it('answers the same request lines and headers over HTTP below 500, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 19, token, pathValues: { twinId: 'plant-1', '*': 'twins' }, overHttp: true })).toEqual({ findings: [], reachedHandlers: true, unreached, alive: true });
  }, 300_000);

  it('refuses every route without a valid token with 401 UNAUTHENTICATED (sign-in and config are public)', async () => {
    expect(await probeUnauthenticated(app, { publicOperations: ['GET /api/console/config', 'POST /api/console/dev-token', 'GET /auth/login', 'GET /auth/callback', 'POST /auth/logout'] })).toEqual([]);
  }, 60_000);
});
