// Every route of the acl-service's OpenAPI document, walked with malformed input (service-kit's
// adversarial walk) over the route tests' fake ledger: never a 5xx, a hang or a crash, 4xx always
// with a stable code. The fake chaincode answers NOT_FOUND to whatever gets past validation.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createIdentityRegistry } from '@twinledger/ledger-gateway';
import type { PeerConnectionPool } from '@twinledger/fabric-client';
import { ChaincodeNotFoundError, createTwinLedger } from '@twinledger/ledger';
import { createMetricsRegistry, silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { adversarialRequests, openApiOf, probe, probeUnauthenticated, stillAlive, type OpenApiDocument } from '@twinledger/service-kit/testing';
import { buildApp } from '../src/app.js';
import { createAuthorizer } from '../src/domain/authorizer.js';
import { FakeFabric } from './support/fake-fabric.js';

const notFound = (fn: string): never => {
  throw new ChaincodeNotFoundError(`NOT_FOUND: ${fn}`);
};

describe('acl-service under adversarial input (every documented route)', () => {
  let app: ServiceApp;
  let doc: OpenApiDocument;
  let token: string;

  beforeAll(async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    const caller = new FakeFabric('Org1MSP', notFound);
    const registry = createIdentityRegistry({
      mspId: 'Org1MSP',
      identities: { User1: { mspId: 'Org1MSP', certPath: 'c', keyPath: 'k' } },
      pool: {} as PeerConnectionPool,
      peer: { endpoint: '127.0.0.1:1', tlsRootCertPath: 'x' },
      channel: 'twins',
      chaincode: 'twinledger',
      clientFactory: async () => caller,
    });
    const authorizer = createAuthorizer({ ledger: createTwinLedger(new FakeFabric('Org1MSP', notFound)), ttlMs: 60_000, metrics: createMetricsRegistry({ prefix: 'acl_fuzz_' }) });
    app = await buildApp({ logger: silentLogger(), auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }), ledgerFor: async (p) => createTwinLedger(await registry.clientFor(p)), authorizer });
    await app.ready();
    doc = await openApiOf(app);
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
  });
  afterAll(async () => app.close());

  it('answers every malformed request below 500, in time, 4xx with a code', async () => {
    const requests = adversarialRequests(doc, { seed: 11, token, pathValues: { id: 'plant-1', twinId: 'plant-1' } });
    expect(requests.length).toBeGreaterThan(100);
    expect(await probe(app, requests)).toEqual([]);
    expect(await stillAlive(app)).toBe(true);
  }, 300_000);

  it('refuses every route without a valid token with 401 UNAUTHENTICATED', async () => {
    expect(await probeUnauthenticated(app, doc)).toEqual([]);
    expect(await stillAlive(app)).toBe(true);
  }, 60_000);
});
