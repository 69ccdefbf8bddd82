// Every route of the acl-service's OpenAPI document, walked with malformed input (service-kit's
// adversarial walk): never a 5xx, a hang or a crash, 4xx always with a stable code. The chaincode
// behind it answers like a working ledger holding one twin with one document of this organization,
// whose object the fake DHT holds, so grants, parties and key syncs reach the code after the call.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTwinLedger } from '@twinledger/ledger';
import { createMetricsRegistry, silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { probeUnauthenticated, walkAdversarially } from '@twinledger/service-kit/testing';
import { buildApp } from '../src/app.js';
import { createAuthorizer } from '../src/domain/authorizer.js';
import { createKeyManager } from '../src/domain/key-manager.js';
import { createKeyReconciler } from '../src/domain/key-reconciler.js';
import { FakeDht, FakeFabricClient, fakeIdentityRegistry } from '../../spec-service/test/support/fakes.js';
import { workingChaincode } from '../../spec-service/test/support/working-chaincode.js';

const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
const DOCUMENT = Buffer.from('operating manual, revision 3');
const DOCUMENT_REF = 'd'.repeat(64);

/** Moved to admin-cli (the Admin identity signs a party registration): documented to answer 410 always. */
const unreached = ['PUT /parties/self'];

describe('acl-service under adversarial input (every documented route)', () => {
  let app: ServiceApp;
  let token: string;

  beforeAll(async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    const chaincode = workingChaincode({ twinId: 'plant-1', aml: AML, document: { bytes: DOCUMENT, dhtRef: DOCUMENT_REF } });
    const dht = new FakeDht();
    dht.objects.set(DOCUMENT_REF, { bytes: DOCUMENT, acl: ['Org1MSP'], sha256: chaincode.documentHash });
    const caller = new FakeFabricClient('Org1MSP', chaincode.answer);
    const registry = fakeIdentityRegistry(() => caller);
    const serviceLedger = createTwinLedger(new FakeFabricClient('Org1MSP', chaincode.answer));
    const authorizer = createAuthorizer({ ledger: serviceLedger, ttlMs: 60_000, metrics: createMetricsRegistry({ prefix: 'acl_fuzz_' }) });
    const keys = createKeyReconciler({ keys: createKeyManager({ ledger: serviceLedger, dht: dht.asClient(), logger: silentLogger() }), intervalMs: 3_600_000, logger: silentLogger() });
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
    expect(await walkAdversarially(app, { seed: 11, token, pathValues: { id: 'plant-1', twinId: 'plant-1', mspId: 'Org1MSP' } })).toEqual({ findings: [], reachedHandlers: true, unreached, alive: true });
  }, 300_000);

  it('answers the same request lines and headers over HTTP below 500, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 11, token, pathValues: { id: 'plant-1', twinId: 'plant-1', mspId: 'Org1MSP' }, overHttp: true })).toEqual({ findings: [], reachedHandlers: true, unreached, alive: true });
  }, 300_000);

  it('refuses every route without a valid token with 401 UNAUTHENTICATED', async () => {
    expect(await probeUnauthenticated(app)).toEqual([]);
  }, 60_000);
});
