// Every route of feed-ingest's OpenAPI document, walked with malformed input (service-kit's
// adversarial walk): never a 5xx, a hang or a crash, 4xx always with a stable code. The app is
// the support builder's (workingFeedIngest): real registry, reader, evidence source and ingest over
// a fake DHT holding a feed as its owner writes it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { probeUnauthenticated, walkAdversarially } from '@twinledger/service-kit/testing';
import { T0, workingFeedIngest } from './support/working-feed-ingest.js';

describe('feed-ingest under adversarial input (every documented route)', () => {
  let working: Awaited<ReturnType<typeof workingFeedIngest>>;
  let app: ServiceApp;
  let token: string;
  let examples: Record<string, unknown>;
  let pathValues: Record<string, string>;

  beforeAll(async () => {
    const issuer = await createDevIssuer('https://idp.test');
    working = await workingFeedIngest(createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }));
    app = working.app;
    const A = working.feed;
    // A batch the route takes (its items are checked in the handler, so no sample passes).
    examples = { 'POST /readings': [{ feed: A.feedId, component: A.componentId, ts: T0, v: 1.5, u: 'bar' }, { feed: A.feedId, component: A.componentId, ts: T0 + 1, v: 2, u: 'bar' }] };
    pathValues = { feedId: A.feedId };
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
  }, 60_000);
  afterAll(async () => working?.close());

  it('answers every malformed request below 500, in time, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 23, token, examples, pathValues })).toEqual({ findings: [], reachedHandlers: true, unreached: [], alive: true });
  }, 300_000);

  it('answers the same request lines and headers over HTTP below 500, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 23, token, examples, pathValues, overHttp: true })).toEqual({ findings: [], reachedHandlers: true, unreached: [], alive: true });
  }, 300_000);

  it('refuses every route without a valid token with 401 UNAUTHENTICATED', async () => {
    expect(await probeUnauthenticated(app, { pathValues })).toEqual([]);
  }, 60_000);
});
