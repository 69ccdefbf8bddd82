// Every route of the console's OpenAPI document, walked with malformed input (service-kit's
// adversarial walk), dev sign-in on: never a 5xx, a hang or a crash, 4xx always with a stable
// code. The spec and feeds upstreams are the spec-service over a chaincode that answers like a
// working ledger and feed-ingest over a feed as its owner writes it (so the proxies pass real
// answers back and the audit assembles and verifies a real bundle); the others are a service-kit
// app without routes (404 with a code, and service-kit's answers to what Node's parser refuses).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '@twinledger/observability';
import { buildService, createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { probeUnauthenticated, walkAdversarially } from '@twinledger/service-kit/testing';
import { buildApp, createDevSignIn, parseDevUsers } from '../src/app.js';
import { workingFeedIngest } from '../../feed-ingest/test/support/working-feed-ingest.js';
import { workingSpecService } from '../../spec-service/test/support/working-spec-service.js';
import { webRoot } from './support/web-root.js';

const ISSUER = 'https://issuer.org1.test';
const METHODS = ['DELETE', 'GET', 'PATCH', 'POST', 'PUT'];
/** Each proxy's wildcard names the spec-service's twin list (one value for every proxy). */
const pathValues = { twinId: 'plant-1', '*': 'twins' };
/**
 * What never answers 2xx here: the proxies to the upstreams without routes (acl, agent), to the
 * roots of the others and to feed-ingest's /twins (it has none), and sign-in without an identity
 * provider configured.
 */
const unreached = [
  ...['acl', 'agent', 'feeds'].flatMap((u) => METHODS.flatMap((m) => [`${m} /api/${u}/`, `${m} /api/${u}/{*}`])),
  ...METHODS.map((m) => `${m} /api/spec/`),
  'GET /auth/callback',
  'GET /auth/login',
  'POST /auth/logout',
].sort();

describe('console under adversarial input (every documented route)', () => {
  let upstream: ServiceApp;
  let spec: ServiceApp;
  let feeds: Awaited<ReturnType<typeof workingFeedIngest>>;
  let app: ServiceApp;
  let token: string;

  beforeAll(async () => {
    const issuer = await createDevIssuer(ISSUER);
    upstream = await buildService({ name: 'upstream', logger: silentLogger() });
    await upstream.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(upstream.server.address() as { port: number }).port}`;
    // The console passes the user's own token on: the services trust the same issuer. The spec
    // ledger's sensor feed is the one feed-ingest serves, so the audit assembles its evidence.
    const auth = createJwtVerifier({ issuer: ISSUER, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' });
    feeds = await workingFeedIngest(auth);
    spec = (await workingSpecService(auth, { feedId: feeds.feed.feedId })).app;
    const specUrl = await spec.listen({ host: '127.0.0.1', port: 0 });
    const feedsUrl = await feeds.app.listen({ host: '127.0.0.1', port: 0 });
    const devSignIn = await createDevSignIn({ issuer: ISSUER, audience: 'twinledger', mspId: 'Org1MSP', privateJwk: await issuer.exportPrivate(), users: parseDevUsers(['maintainer=User1:MAINTAINER']) });
    app = await buildApp({ logger: silentLogger(), auth: createJwtVerifier({ issuer: ISSUER, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }), orgName: 'Org One', mspId: 'Org1MSP', upstreams: { spec: specUrl, acl: url, feeds: feedsUrl, agent: url }, webRoot: webRoot(), devSignIn });
    await app.ready();
    token = await issuer.issue({ sub: 'maintainer', org: 'Org1MSP', fabricIdentity: 'User1', roles: ['MAINTAINER'], audience: 'twinledger' });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await upstream?.close();
    await spec?.close();
    await feeds?.close();
  });

  it('answers every malformed request below 500, in time, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 19, token, pathValues })).toEqual({ findings: [], reachedHandlers: true, unreached, alive: true });
  }, 300_000);

  it('answers the same request lines and headers over HTTP below 500, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 19, token, pathValues, overHttp: true })).toEqual({ findings: [], reachedHandlers: true, unreached, alive: true });
  }, 300_000);

  it('refuses every route without a valid token with 401 UNAUTHENTICATED (sign-in and config are public)', async () => {
    expect(await probeUnauthenticated(app, { publicOperations: ['GET /api/console/config', 'POST /api/console/dev-token', 'GET /auth/login', 'GET /auth/callback', 'POST /auth/logout'] })).toEqual([]);
  }, 60_000);
});
