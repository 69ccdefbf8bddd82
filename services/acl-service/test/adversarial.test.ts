// Every route of the acl-service's OpenAPI document, walked with malformed input (service-kit's
// adversarial walk) over the route tests' fake ledger: never a 5xx, a hang or a crash, 4xx always
// with a stable code. The fake chaincode lists nothing and answers NOT_FOUND to anything else.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DhtClient } from '@twinledger/dht-client';
import { ChaincodeNotFoundError, createTwinLedger } from '@twinledger/ledger';
import { createMetricsRegistry, silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { probeUnauthenticated, walkAdversarially } from '@twinledger/service-kit/testing';
import { buildApp } from '../src/app.js';
import { createAuthorizer } from '../src/domain/authorizer.js';
import { createKeyManager } from '../src/domain/key-manager.js';
import { createKeyReconciler } from '../src/domain/key-reconciler.js';
import { FakeFabricClient, fakeIdentityRegistry } from '../../spec-service/test/support/fakes.js';

const notFound = (fn: string): unknown => {
  if (fn.includes(':list')) return [];
  throw new ChaincodeNotFoundError(`NOT_FOUND: ${fn}`);
};

describe('acl-service under adversarial input (every documented route)', () => {
  let app: ServiceApp;
  let token: string;

  beforeAll(async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    const caller = new FakeFabricClient('Org1MSP', notFound);
    const registry = fakeIdentityRegistry(() => caller);
    const serviceLedger = createTwinLedger(new FakeFabricClient('Org1MSP', notFound));
    const authorizer = createAuthorizer({ ledger: serviceLedger, ttlMs: 60_000, metrics: createMetricsRegistry({ prefix: 'acl_fuzz_' }) });
    // The ledger lists no documents, so a key sync never asks the DHT anything.
    const keys = createKeyReconciler({ keys: createKeyManager({ ledger: serviceLedger, dht: {} as DhtClient, logger: silentLogger() }), intervalMs: 3_600_000, logger: silentLogger() });
    app = await buildApp({
      logger: process.env['DEBUG_TEST'] ? (await import('@twinledger/observability')).createLogger({ name: 't', level: 'error' }) : silentLogger(),
      auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }),
      ledgerFor: async (p) => createTwinLedger(await registry.clientFor(p)),
      authorizer,
      keys,
    });
    await app.ready();
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
  });
  afterAll(async () => app.close());

  it('answers every malformed request below 500, in time, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 11, token, pathValues: { id: 'plant-1', twinId: 'plant-1' } })).toEqual({ findings: [], reachedHandlers: true, alive: true });
  }, 300_000);

  it('answers the same request lines and headers over HTTP below 500, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 11, token, pathValues: { id: 'plant-1', twinId: 'plant-1' }, overHttp: true })).toEqual({ findings: [], reachedHandlers: true, alive: true });
  }, 300_000);

  it('refuses every route without a valid token with 401 UNAUTHENTICATED', async () => {
    expect(await probeUnauthenticated(app)).toEqual([]);
  }, 60_000);
});
