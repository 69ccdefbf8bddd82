import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { DhtClient } from '@twinledger/dht-client';
import type { FabricClient } from '@twinledger/fabric-client';
import { ChaincodeAccessDeniedError, ChaincodeNotFoundError } from '@twinledger/ledger';
import { createTwinLedger } from '@twinledger/ledger';
import { createMetricsRegistry, silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type DevIssuer, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from '../src/app.js';
import { createAuthorizer, type Authorizer } from '../src/domain/authorizer.js';
import { createKeyManager } from '../src/domain/key-manager.js';
// spec-service's fake ledger serves these routes too: one home for the fake chaincode.
import { FakeFabricClient as FakeFabric, fakeIdentityRegistry } from '../../spec-service/test/support/fakes.js';

const TWIN = 'plant-1';

describe('acl-service', () => {
  let app: ServiceApp;
  let issuer: DevIssuer;
  let caller = new FakeFabric();
  let service = new FakeFabric();
  let authorizer: Authorizer;
  let token: string;

  beforeAll(async () => {
    issuer = await createDevIssuer('https://idp.org1.local');
    const delegate = (get: () => FakeFabric) =>
      new Proxy({}, { get: (_t, k) => { const f = get() as unknown as Record<string | symbol, unknown>; const v = f[k]; return typeof v === 'function' ? v.bind(get()) : v; } }) as FabricClient;
    const registry = fakeIdentityRegistry(() => caller);
    authorizer = createAuthorizer({ ledger: createTwinLedger(delegate(() => service)), ttlMs: 60_000, metrics: createMetricsRegistry({ prefix: 't_' }) });
    app = await buildApp({
      logger: silentLogger(),
      auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }),
      ledgerFor: async (p) => createTwinLedger(await registry.clientFor(p)),
      authorizer,
    });
    await app.ready();
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
  });
  afterAll(async () => app.close());
  beforeEach(() => {
    caller = new FakeFabric();
    service = new FakeFabric();
    authorizer.clear();
  });

  const call = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, t: string | null = token) =>
    app.inject({ method, url, ...(payload !== undefined ? { payload: payload as string } : {}), headers: t ? { authorization: `Bearer ${t}` } : {} });

  it('grants and revokes through the caller\'s identity, with expiry', async () => {
    caller.on('acl:grant', ([t, g]) => ({ twinId: t, ...JSON.parse(g!) }));
    caller.on('acl:revoke', ([t, g]) => ({ twinId: t, revoked: JSON.parse(g!) }));
    const res = await call('POST', `/twins/${TWIN}/grants`, { mspId: 'Org2MSP', role: 'AUDITOR', expiresAt: '2030-01-01T00:00:00Z' });
    expect(res.statusCode).toBe(201);
    expect(JSON.parse(caller.calls[0]!.args[1]!)).toEqual({ mspId: 'Org2MSP', role: 'AUDITOR', expiresAt: '2030-01-01T00:00:00Z' });
    expect((await call('POST', `/twins/${TWIN}/grants/revoke`, { mspId: 'Org2MSP', role: 'AUDITOR' })).json()).toMatchObject({ blockNumber: 12, result: { revoked: { mspId: 'Org2MSP' } } });
  });

  it('validates grants (400) and maps chaincode refusals (403, 404)', async () => {
    for (const body of [{ mspId: 'Org2MSP', role: 'KING' }, { mspId: 'bad msp', role: 'AUDITOR' }, { mspId: 'Org2MSP', permission: 'doc:read:top' }, { mspId: 'Org2MSP', role: 'AUDITOR', expiresAt: 'soon' }, { mspId: 'Org2MSP', role: 'AUDITOR', identity: 'bob' }]) {
      const res = await call('POST', `/twins/${TWIN}/grants`, body);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    expect(caller.calls).toHaveLength(0);
    caller.on('acl:grant', () => {
      throw new ChaincodeAccessDeniedError('ACCESS_DENIED: grants:manage');
    });
    caller.on('acl:listGrants', () => {
      throw new ChaincodeNotFoundError('NOT_FOUND: twin');
    });
    expect((await call('POST', `/twins/${TWIN}/grants`, { mspId: 'Org2MSP', role: 'OWNER' })).statusCode).toBe(403);
    expect((await call('GET', `/twins/${TWIN}/grants`)).statusCode).toBe(404);
    expect((await call('GET', `/twins/${TWIN}/grants`, undefined, null)).statusCode).toBe(401);
  });

  it('decides through checkAccessFor, caches, and drops the twin\'s entries on a grant change', async () => {
    let allowed = false;
    service.on('acl:checkAccessFor', ([t, m, i, p]) => ({ twinId: t, mspId: m, identity: i, permission: p, allowed, roles: allowed ? ['AUDITOR'] : [], permissions: [] }));
    const q = { twinId: TWIN, permission: 'doc:read:confidential', mspId: 'Org2MSP' };
    const first = (await call('POST', '/authorize', q)).json();
    expect(first).toMatchObject({ allowed: false, cached: false });
    expect(first.reason).toMatch(/no unexpired grant confers doc:read:confidential/);
    allowed = true;
    expect((await call('POST', '/authorize', q)).json()).toMatchObject({ allowed: false, cached: true });
    expect(service.calls).toHaveLength(1);
    expect(service.calls[0]!.args).toEqual([TWIN, 'Org2MSP', '', 'doc:read:confidential']);
    authorizer.invalidate('other-twin');
    expect((await call('POST', '/authorize', q)).json()).toMatchObject({ cached: true });
    authorizer.invalidate(TWIN);
    expect((await call('POST', '/authorize', q)).json()).toMatchObject({ allowed: true, cached: false, roles: ['AUDITOR'] });
    expect((await call('POST', '/authorize', { ...q, permission: 'doc:read:ultra' })).statusCode).toBe(400);
  });

  it('refuses party registration: it needs the Admin key, which only the admin command holds', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const res = await call('PUT', '/parties/self', { peerIds: ['12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'], x25519PublicKey: key });
    expect(res.statusCode).toBe(410);
    expect(res.json()).toMatchObject({ code: 'ADMIN_COMMAND_REQUIRED' });
    expect(caller.calls.filter((c) => c.fn === 'acl:registerParty')).toEqual([]);
  });
});

describe('key manager', () => {
  const h = (n: number) => String(n).repeat(64);
  /**
   * Org1's service: doc A is Org1's (v1 by Org1, v2 uploaded by Org2); doc B is Org2's (v1 by
   * Org2, v2 uploaded by Org1). Org1's key manager handles exactly A v1 and B v2.
   */
  function setup(now?: () => number) {
    const service = new FakeFabric('Org1MSP');
    const state = { grants: [{ mspId: 'Org1MSP', role: 'OWNER' }, { mspId: 'Org2MSP', role: 'AUDITOR' }] as unknown[] };
    const records = new Map<string, { aclVersion: number; parties: string[]; head?: string }>();
    const by = (mspId: string) => ({ mspId, id: `x509::${mspId}` });
    service.on('acl:listGrants', () => state.grants).on('acl:listParties', () => [{ mspId: 'Org1MSP' }, { mspId: 'Org2MSP' }]);
    service.on('spec:listDocuments', () => [
      { hash: h(1), dhtRef: 'a1', confidentiality: 'confidential', owner: by('Org1MSP') },
      { hash: h(3), dhtRef: 'b1', confidentiality: 'confidential', owner: by('Org2MSP') },
    ]);
    service.on('spec:getDocumentHistory', ([, doc]) => ({
      hash: doc,
      versions:
        doc === h(1)
          ? [{ version: 1, hash: h(1), dhtRef: 'a1', addedBy: by('Org1MSP') }, { version: 2, hash: h(2), dhtRef: 'a2', addedBy: by('Org2MSP') }]
          : [{ version: 1, hash: h(3), dhtRef: 'b1', addedBy: by('Org2MSP') }, { version: 2, hash: h(4), dhtRef: 'b2', addedBy: by('Org1MSP') }],
    }));
    service.on('spec:getAccessRecord', ([, hash]) => ({ record: records.get(hash!) ?? null, history: [] }));
    service.on('spec:recordAccessChange', ([, hash, version, parties, head]) => {
      records.set(hash!, { aclVersion: Number(version), parties: JSON.parse(parties!), ...(head ? { head } : {}) });
      return records.get(hash!);
    });
    const acls = new Map<string, { version: number; parties: string[]; head?: string }>([
      ['a1', { version: 1, parties: ['Org1MSP'] }],
      ['a2', { version: 1, parties: ['Org2MSP'] }],
      ['b1', { version: 1, parties: ['Org2MSP'] }],
      ['b2', { version: 1, parties: ['Org1MSP', 'Org2MSP'] }],
    ]);
    const updates: Array<[string, readonly string[]]> = [];
    const dht = {
      getAcl: async (ref: string) => ({ ref, ...acls.get(ref)! }),
      updateAcl: async (ref: string, parties: readonly string[]) => {
        // Only the owner key changes an object's ACL: Org1's gateway owns a1 and b2 only.
        if (ref === 'a2' || ref === 'b1') throw Object.assign(new Error('not the owner'), { code: 'DHT_NOT_OWNER' });
        const prev = acls.get(ref)!;
        const rekeyed = prev.parties.some((p) => !parties.includes(p));
        updates.push([ref, parties]);
        acls.set(ref, { version: prev.version + 1, parties: [...parties], ...(rekeyed ? { head: `${ref}-k${prev.version + 1}` } : prev.head ? { head: prev.head } : {}) });
        return { ref: rekeyed ? `${ref}-k${prev.version + 1}` : ref, version: prev.version + 1, rekeyed };
      },
    } as unknown as DhtClient;
    const keys = createKeyManager({ ledger: createTwinLedger(service), dht, logger: silentLogger(), ...(now ? { now } : {}) });
    return { keys, state, records, acls, updates };
  }

  it('handles exactly the versions this org uploaded, of any document, and records each ACL on the ledger', async () => {
    const { keys, state, records, acls, updates } = setup();
    expect(await keys.sync(TWIN)).toEqual({ twinId: TWIN, checked: 2, updated: 1, rekeyed: 0, recorded: 2, failures: [] });
    expect(updates).toEqual([['a1', ['Org1MSP', 'Org2MSP']]]);
    expect(records.get(h(1))).toEqual({ aclVersion: 2, parties: ['Org1MSP', 'Org2MSP'] });
    expect(records.get(h(4))).toEqual({ aclVersion: 1, parties: ['Org1MSP', 'Org2MSP'] });
    expect(records.has(h(2)) || records.has(h(3))).toBe(false); // Org2's objects: Org2's key manager
    // Nothing changed: nothing written.
    expect(await keys.sync(TWIN)).toMatchObject({ updated: 0, recorded: 0, failures: [] });
    // A revoke re-keys both of Org1's objects and records the new heads.
    state.grants = [{ mspId: 'Org1MSP', role: 'OWNER' }];
    expect(await keys.sync(TWIN)).toEqual({ twinId: TWIN, checked: 2, updated: 2, rekeyed: 2, recorded: 2, failures: [] });
    expect(records.get(h(4))).toEqual({ aclVersion: 2, parties: ['Org1MSP'], head: 'b2-k2' });
    expect(acls.get('a2')!.parties).toEqual(['Org2MSP']); // not ours: untouched
  });

  it('treats an expired grant as revoked and reports the next expiry', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const { keys, state, acls } = setup(() => now);
    state.grants = [{ mspId: 'Org1MSP', role: 'OWNER' }, { mspId: 'Org2MSP', role: 'AUDITOR', expiresAt: '2030-01-01T00:00:10Z' }];
    expect(await keys.sync(TWIN)).toMatchObject({ updated: 1, nextExpiry: Date.parse('2030-01-01T00:00:10Z') });
    expect(acls.get('a1')!.parties).toEqual(['Org1MSP', 'Org2MSP']);
    now += 11_000;
    const r = await keys.sync(TWIN);
    expect(r).toMatchObject({ updated: 2, rekeyed: 2, failures: [] });
    expect(r.nextExpiry).toBeUndefined();
    expect(acls.get('a1')!.parties).toEqual(['Org1MSP']);
    expect(acls.get('b2')!.parties).toEqual(['Org1MSP']);
  });
});
