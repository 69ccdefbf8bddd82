// Every route of the dht-gateway's OpenAPI document, walked with malformed input (service-kit's
// adversarial walk) over the route tests' in-memory node holding one object of this organization
// (the valid-ish variants name it, so reads and ACL changes reach the code after the node call):
// never a 5xx, a hang or a crash, 4xx always with a stable code.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { probeUnauthenticated, walkAdversarially } from '@twinledger/service-kit/testing';
import { buildApp } from '../src/app.js';
import { FakeNode, MSP } from './support/fake-node.js';

const AUD = 'twinledger-dht';

describe('dht-gateway under adversarial input (every documented route)', () => {
  let app: ServiceApp;
  let token: string;
  let node: FakeNode;
  /** Stores the walked object afresh (the same bytes and ACL, so the same ref): a walk changes its ACL. */
  const stored = async (): Promise<Record<string, string>> => ({ ref: (await node.putObject((async function* () { yield new TextEncoder().encode('operating manual'); })(), { acl: [MSP, 'OrgBMSP'] })).ref });

  beforeAll(async () => {
    const issuer = await createDevIssuer('https://issuer.test');
    node = new FakeNode();
    app = await buildApp({ node, logger: silentLogger(), auth: createJwtVerifier({ issuer: issuer.issuer, audience: AUD, jwks: issuer.jwks, expectedOrg: MSP }), maxObjectBytes: 1024 });
    // The key manager may call every route.
    token = await issuer.issue({ sub: 'acl-service', svc: 'acl-service', roles: ['dht:key-manager'], org: MSP, audience: AUD });
  });
  afterAll(async () => app.close());

  it('answers every malformed request below 500, in time, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 13, token, pathValues: await stored() })).toEqual({ findings: [], reachedHandlers: true, unreached: [], alive: true });
  }, 300_000);

  it('answers the same request lines and headers over HTTP below 500, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 13, token, pathValues: await stored(), overHttp: true })).toEqual({ findings: [], reachedHandlers: true, unreached: [], alive: true });
  }, 300_000);

  it('refuses every route without a valid token with 401 UNAUTHENTICATED', async () => {
    expect(await probeUnauthenticated(app)).toEqual([]);
  }, 60_000);
});
