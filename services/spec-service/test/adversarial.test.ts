// Every route of the spec-service's OpenAPI document, walked with malformed input (service-kit's
// adversarial walk): never a 5xx, a hang or a crash, 4xx always with a stable code. The chaincode
// behind it answers like a working ledger holding one twin (plant-1, the fixture, one document in
// the fake DHT), so what passes validation reaches the handler code after the ledger call.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NotFoundError } from '@twinledger/errors';
import { createTwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { probeUnauthenticated, walkAdversarially, type FuzzRequest } from '@twinledger/service-kit/testing';
import { buildApp } from '../src/app.js';
import { createEventHub } from '../src/domain/event-hub.js';
import { createLedgerJournal } from '../src/domain/ledger-journal.js';
import { createReadModel } from '../src/domain/read-model.js';
import { FakeDht, FakeFabricClient, fakeIdentityRegistry } from './support/fakes.js';
import { workingChaincode } from './support/working-chaincode.js';

const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
/** The base bodies samples cannot make: a real AML document, and its mutations. */
const examples = { 'POST /twins': { deviceId: 'plant-2', deviceName: 'Plant', aml: AML } };
const DOCUMENT = Buffer.from('operating manual, revision 3');
const DOCUMENT_REF = 'd'.repeat(64);
const b64url = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

/** The AAS API (IDTA-01002) answers errors as a Result: its stable code is the first message's. */
const codeOf = (body: unknown): unknown => (body as { code?: unknown; messages?: Array<{ code?: unknown }> } | null)?.code ?? (body as { messages?: Array<{ code?: unknown }> } | null)?.messages?.[0]?.code;
/**
 * A well-formed fence beyond the peer's height is documented to wait, then answer 504
 * FENCE_NOT_REACHED; any other 504 (or one for a block number no ledger can reach) is a finding.
 */
const fenceNotReached = (r: FuzzRequest, status: number, code: string | undefined): string | undefined => {
  if (status !== 504) return undefined;
  const minBlock = new URL(r.url, 'http://x').searchParams.getAll('minBlock');
  const wellFormed = minBlock.length === 1 && /^\d{1,15}$/.test(minBlock[0]!);
  return code === 'FENCE_NOT_REACHED' && wellFormed ? undefined : `504 ${code} for a fence that is not a block number`;
};

describe('spec-service under adversarial input (every documented route)', () => {
  let app: ServiceApp;
  let token: string;
  let pathValues: Record<string, string>;

  beforeAll(async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    const chaincode = workingChaincode({ twinId: 'plant-1', aml: AML, document: { bytes: DOCUMENT, dhtRef: DOCUMENT_REF } });
    const fabric = new FakeFabricClient('Org1MSP', chaincode.answer);
    const dht = new FakeDht();
    dht.objects.set(DOCUMENT_REF, { bytes: DOCUMENT, acl: ['Org1MSP'], sha256: chaincode.documentHash });
    const registry = fakeIdentityRegistry(() => fabric);
    const journal = createLedgerJournal();
    app = await buildApp({
      logger: silentLogger(),
      auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }),
      ledgerFor: async (p) => createTwinLedger(await registry.clientFor(p)),
      dht: dht.asClient(),
      hub: createEventHub(10),
      journal,
      // The peer is at block 100 and knows no transaction: fences below are reached at once,
      // fences above answer their documented 504 after a short wait.
      reads: createReadModel({ maxChars: 0, maxAgeMs: 0, fenceWaitMs: 50, following: () => false, blockOf: journal.blockOf, chain: { height: async () => 100n, hasTransaction: async () => false } }),
      auditBundles: {
        export: async () => {
          throw new NotFoundError('the fake ledger has no blocks');
        },
      },
      limits: { amlBytes: 256 * 1024, documentBytes: 1024 },
      mvccAttempts: 3,
    });
    await app.ready();
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
    // Real identifiers of the twin, so the valid-ish variants find what they name.
    const submodels = await app.inject({ method: 'GET', url: '/submodels', headers: { authorization: `Bearer ${token}` } });
    const submodel = (submodels.json() as { result: Array<{ id: string; submodelElements?: Array<{ idShort: string }> }> }).result.find((s) => (s.submodelElements ?? []).length > 0)!;
    pathValues = {
      id: 'plant-1',
      twinId: 'plant-1',
      elementId: 'sensor-flow-1',
      componentId: 'sensor-flow-1',
      hash: chaincode.documentHash,
      callId: '1',
      proposalId: '1',
      requestId: 'req-1',
      aasIdentifier: b64url('urn:twinledger:plant-1'),
      submodelIdentifier: b64url(submodel.id),
      idShortPath: submodel.submodelElements![0]!.idShort,
    };
  }, 60_000);
  afterAll(async () => app.close());

  it('answers every malformed request below 500, in time, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 17, token, examples, pathValues, codeOf, allow5xx: [504], check: fenceNotReached })).toEqual({ findings: [], reachedHandlers: true, alive: true });
  }, 600_000);

  it('answers the same request lines and headers over HTTP below 500, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 17, token, examples, pathValues, codeOf, allow5xx: [504], check: fenceNotReached, overHttp: true })).toEqual({ findings: [], reachedHandlers: true, alive: true });
  }, 600_000);

  it('refuses every route without a valid token with 401 UNAUTHENTICATED', async () => {
    expect(await probeUnauthenticated(app, { codeOf })).toEqual([]);
  }, 60_000);
});
