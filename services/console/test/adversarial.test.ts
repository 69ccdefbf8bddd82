// Every route of the console's OpenAPI document, walked with malformed input (service-kit's
// adversarial walk), dev sign-in on and every upstream a service-kit app without routes (404 with
// a code, and service-kit's answers to what Node's parser refuses, such as an oversized URL):
// never a 5xx, a hang or a crash, 4xx always with a stable code.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '@twinledger/observability';
import { buildService, createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { adversarialRequests, openApiOf, probe, probeUnauthenticated, statusTally, stillAlive, type OpenApiDocument } from '@twinledger/service-kit/testing';
import { buildApp, createDevSignIn, parseDevUsers } from '../src/app.js';
import { webRoot } from './support/web-root.js';

const ISSUER = 'https://issuer.org1.test';

describe('console under adversarial input (every documented route)', () => {
  let upstream: ServiceApp;
  let app: ServiceApp;
  let doc: OpenApiDocument;
  let token: string;

  beforeAll(async () => {
    const issuer = await createDevIssuer(ISSUER);
    upstream = await buildService({ name: 'upstream', logger: silentLogger() });
    await upstream.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(upstream.server.address() as { port: number }).port}`;
    const devSignIn = await createDevSignIn({ issuer: ISSUER, audience: 'twinledger', mspId: 'Org1MSP', privateJwk: await issuer.exportPrivate(), users: parseDevUsers(['maintainer=User1:MAINTAINER']) });
    app = await buildApp({ logger: silentLogger(), auth: createJwtVerifier({ issuer: ISSUER, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }), orgName: 'Org One', mspId: 'Org1MSP', upstreams: { spec: url, acl: url, feeds: url, agent: url }, webRoot: webRoot(), devSignIn });
    await app.ready();
    doc = await openApiOf(app);
    token = await issuer.issue({ sub: 'maintainer', org: 'Org1MSP', fabricIdentity: 'User1', roles: ['MAINTAINER'], audience: 'twinledger' });
  });
  afterAll(async () => {
    await app?.close();
    await upstream?.close();
  });

  it('answers every malformed request below 500, in time, 4xx with a code', async () => {
    const requests = adversarialRequests(doc, { seed: 19, token, pathValues: { twinId: 'plant-1' } });
    expect(requests.length).toBeGreaterThan(100);
    const tally = statusTally();
    expect(await probe(app, requests, { onAnswer: tally.onAnswer })).toEqual([]);
    // The walk reached the handlers, not only the schemas and the token check.
    expect(tally.successes()).toBeGreaterThan(0);
    if (process.env['FUZZ_SUMMARY']) process.stderr.write(`${JSON.stringify(tally.counts)}\n`);
    expect(await stillAlive(app)).toBe(true);
  }, 300_000);

  it('refuses every route without a valid token with 401 UNAUTHENTICATED (sign-in and config are public)', async () => {
    expect(await probeUnauthenticated(app, doc, { publicOperations: ['GET /api/console/config', 'POST /api/console/dev-token', 'GET /auth/login', 'GET /auth/callback', 'POST /auth/logout'] })).toEqual([]);
    expect(await stillAlive(app)).toBe(true);
  }, 60_000);
});
