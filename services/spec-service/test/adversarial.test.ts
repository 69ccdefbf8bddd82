// Every route of the spec-service's OpenAPI document, walked with malformed input (service-kit's
// adversarial walk): never a 5xx, a hang or a crash, 4xx always with a stable code. The chaincode
// behind it answers like a working ledger holding one twin (plant-1, the fixture, one document in
// the fake DHT), so what passes validation reaches the handler code after the ledger call.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { probeUnauthenticated, walkAdversarially, type FuzzRequest } from '@twinledger/service-kit/testing';
import { FIXTURE_AML, workingSpecService } from './support/working-spec-service.js';

/** The base bodies samples cannot make: a real AML document, and its mutations. */
const examples = { 'POST /twins': { deviceId: 'plant-2', deviceName: 'Plant', aml: FIXTURE_AML } };
const b64url = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

/** The AAS API (IDTA-01002) answers errors as a Result: its stable code is the first message's. */
const codeOf = (body: unknown): unknown => (body as { code?: unknown; messages?: Array<{ code?: unknown }> } | null)?.code ?? (body as { messages?: Array<{ code?: unknown }> } | null)?.messages?.[0]?.code;
/**
 * A well-formed fence the peer has not reached (a block beyond its height, a transaction it does
 * not know) is documented to wait, then answer 504 FENCE_NOT_REACHED; any other 504 (or one for
 * a fence no ledger can reach) is a finding.
 */
const fenceNotReached = (r: FuzzRequest, status: number, code: string | undefined): string | undefined => {
  if (status !== 504) return undefined;
  const q = new URL(r.url, 'http://x').searchParams;
  const [minBlock, atLeastTx] = [q.getAll('minBlock'), q.getAll('atLeastTx')];
  const wellFormed = (minBlock.length === 1 && /^\d{1,15}$/.test(minBlock[0]!)) || (atLeastTx.length === 1 && /^[0-9a-f]{64}$/.test(atLeastTx[0]!));
  return code === 'FENCE_NOT_REACHED' && wellFormed ? undefined : `504 ${code} for a fence that is neither a block number nor a transaction ID`;
};

describe('spec-service under adversarial input (every documented route)', () => {
  let app: ServiceApp;
  let token: string;
  let pathValues: Record<string, string>;

  beforeAll(async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    const working = await workingSpecService(createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }));
    app = working.app;
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
    // Real identifiers of the twin, so the valid-ish variants find what they name.
    const submodels = await app.inject({ method: 'GET', url: '/submodels', headers: { authorization: `Bearer ${token}` } });
    const submodel = (submodels.json() as { result: Array<{ id: string; submodelElements?: Array<{ idShort: string }> }> }).result.find((s) => (s.submodelElements ?? []).length > 0)!;
    pathValues = {
      id: 'plant-1',
      twinId: 'plant-1',
      elementId: 'sensor-flow-1',
      componentId: 'sensor-flow-1',
      hash: working.chaincode.documentHash,
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
    expect(await walkAdversarially(app, { seed: 17, token, examples, pathValues, codeOf, allow5xx: [504], check: fenceNotReached })).toEqual({ findings: [], reachedHandlers: true, unreached: [], alive: true });
  }, 600_000);

  it('answers the same request lines and headers over HTTP below 500, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 17, token, examples, pathValues, codeOf, allow5xx: [504], check: fenceNotReached, overHttp: true })).toEqual({ findings: [], reachedHandlers: true, unreached: [], alive: true });
  }, 600_000);

  it('refuses every route without a valid token with 401 UNAUTHENTICATED', async () => {
    expect(await probeUnauthenticated(app, { codeOf })).toEqual([]);
  }, 60_000);
});
