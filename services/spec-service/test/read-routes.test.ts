import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createAccessDecisions } from '@twinledger/ledger-gateway';
import { createTwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from '../src/app.js';
import { createEventHub } from '../src/domain/event-hub.js';
import { createLedgerJournal } from '../src/domain/ledger-journal.js';
import { createReadModel, type ReadModel } from '../src/domain/read-model.js';
import { FakeDht, FakeFabricClient, fakeIdentityRegistry } from './support/fakes.js';

const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
const TWIN = 'plant-1';

/** spec-service with its read model and decision cache on, the ledger a fake: which calls a read costs. */
describe('reads through the read model (routes)', () => {
  let app: ServiceApp;
  let fabric: FakeFabricClient;
  let reads: ReadModel;
  let token: string;
  let allowed = true;
  /** Permissions the fake chaincode refuses whatever `allowed` says. */
  const refused = new Set<string>();
  const state = { following: true };
  let onEvent: (e: { eventName: string; twinId?: string; blockNumber: number }) => void;

  beforeAll(async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    const registry = fakeIdentityRegistry(() => fabric);
    const journal = createLedgerJournal();
    const ledgerFor = async (p: { subject: string; mspId: string; fabricIdentity: string | undefined }) => createTwinLedger(await registry.clientFor(p));
    reads = createReadModel({ maxChars: 10_000_000, maxAgeMs: 30_000, fenceWaitMs: 20, following: () => state.following, blockOf: journal.blockOf, startBlock: 7 });
    const decisions = createAccessDecisions({
      check: async (caller, twinId, permission) => (await (await ledgerFor(caller)).checkAccess(twinId, permission)).allowed,
      grantExpiries: async () => [],
      ttlMs: 30_000,
    });
    onEvent = (e) => {
      decisions.onLedgerEvent(e);
      reads.onLedgerEvent(e);
    };
    const dht = new FakeDht();
    app = await buildApp({
      logger: silentLogger(),
      auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }),
      ledgerFor,
      dht: dht as never,
      hub: createEventHub(10),
      journal,
      reads,
      decisions,
    });
    await app.ready();
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
  });
  afterAll(async () => app.close());

  beforeEach(() => {
    fabric = new FakeFabricClient()
      .on('acl:checkAccess', ([twinId, permission]) => ({ twinId, mspId: 'Org1MSP', identity: 'x509::u', permission, allowed: allowed && !refused.has(permission!), roles: [], permissions: [] }))
      .on('spec:getDocumentHistory', ([twinId, hash]) => ({ twinId, hash, removed: false, document: { hash, confidentiality: 'confidential' }, versions: [], ledgerHistory: [], bookmark: '' }))
      .on('spec:getSpecificationRevision', () => ({ twinId: TWIN, revision: 'r1' }))
      .on('spec:getSpecification', () => ({ twinId: TWIN, schemaVersion: '3.0', aml: AML, revision: 'r1' }))
      .on('spec:getTwin', () => ({ twinId: TWIN, deviceName: 'Plant' }));
  });

  const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

  it('asks the chaincode once, then answers from the model with the block it reflects', async () => {
    const first = await get(`/twins/${TWIN}/spec`);
    expect(first.statusCode).toBe(200);
    expect(first.body).toBe(AML);
    expect(fabric.calls.map((c) => c.fn)).toEqual(['acl:checkAccess', 'spec:getSpecification']);
    const again = await get(`/twins/${TWIN}/spec?format=json`);
    expect(again.json()).toMatchObject({ twinId: TWIN, revision: 'r1', tree: { tag: 'CAEXFile' } });
    expect(again.headers).toMatchObject({ 'x-twinledger-block': '7', 'x-spec-revision': 'r1' });
    expect(again.headers['x-twinledger-stale']).toBeUndefined();
    expect(fabric.calls).toHaveLength(2);
    expect((await get(`/twins/${TWIN}`)).json()).toEqual({ twinId: TWIN, deviceName: 'Plant' });
    expect((await get(`/twins/${TWIN}`)).statusCode).toBe(200);
    expect(fabric.calls.map((c) => c.fn)).toEqual(['acl:checkAccess', 'spec:getSpecification', 'spec:getTwin']);
  });

  it('refuses a caller with 403 ACCESS_DENIED once a revoke event of the twin arrived, without reading the content', async () => {
    allowed = false;
    try {
      onEvent({ eventName: 'GrantRevoked', twinId: TWIN, blockNumber: 8 });
      const refused = await get(`/twins/${TWIN}/spec`);
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ code: 'ACCESS_DENIED', details: { twinId: TWIN, permission: 'spec:read' } });
      expect(fabric.calls.map((c) => c.fn)).toEqual(['acl:checkAccess']);
      // The denial is cached as well: a refused client does not load the peer.
      expect((await get(`/twins/${TWIN}`)).statusCode).toBe(403);
      expect(fabric.calls).toHaveLength(1);
    } finally {
      allowed = true;
      onEvent({ eventName: 'GrantAdded', twinId: TWIN, blockNumber: 9 });
    }
  });

  it('marks answers stale while the event stream is down, and answers 504 FENCE_NOT_REACHED beyond the events', async () => {
    expect((await get(`/twins/${TWIN}/spec`)).statusCode).toBe(200);
    state.following = false;
    try {
      const stale = await get(`/twins/${TWIN}/spec`);
      expect(stale.headers['x-twinledger-stale']).toBe('true');
    } finally {
      state.following = true;
    }
    const far = await get(`/twins/${TWIN}/spec?minBlock=100`);
    expect(far.statusCode).toBe(504);
    expect(far.json()).toMatchObject({ code: 'FENCE_NOT_REACHED', details: { minBlock: 100, block: 9 } });
    expect((await get(`/twins/${TWIN}/spec?minBlock=9`)).statusCode).toBe(200);
  });

  it('serves document metadata to callers holding doc:read at the document\'s own level only', async () => {
    const hash = 'b'.repeat(64);
    expect((await get(`/twins/${TWIN}/documents/${hash}`)).json()).toMatchObject({ hash, document: { confidentiality: 'confidential' } });
    expect((await get(`/twins/${TWIN}/documents/${hash}`)).statusCode).toBe(200);
    expect(fabric.calls.map((c) => c.fn)).toEqual(['spec:getDocumentHistory', 'acl:checkAccess']);
    expect(fabric.calls[1]!.args).toEqual([TWIN, 'doc:read:confidential']);
    refused.add('doc:read:confidential');
    try {
      onEvent({ eventName: 'GrantRevoked', twinId: 'other', blockNumber: 10 });
      onEvent({ eventName: 'GrantRevoked', twinId: TWIN, blockNumber: 11 });
      const denied = await get(`/twins/${TWIN}/documents/${hash}`);
      expect(denied.statusCode).toBe(403);
      expect(denied.json()).toMatchObject({ code: 'ACCESS_DENIED', details: { permission: 'doc:read:confidential' } });
    } finally {
      refused.clear();
    }
  });
});
