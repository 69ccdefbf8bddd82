import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createIdentityRegistry } from '@twinledger/ledger-gateway';
import { type PeerConnectionPool } from '@twinledger/fabric-client';
import { ChaincodeAccessDeniedError } from '@twinledger/ledger';
import { createTwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type DevIssuer, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from '../src/app.js';
import { createEventHub } from '../src/domain/event-hub.js';
import { createLedgerJournal } from '../src/domain/ledger-journal.js';
import { FakeDht, FakeFabricClient } from './support/fakes.js';

/**
 * Issue #17: off-chain bytes are served only after the chaincode, asked as the caller's own
 * Fabric identity, allowed the read; a refusal never reaches the DHT. The DHT is asked with the
 * service's own credential (set on the DhtClient), never with the user's bearer token.
 */
const TWIN = 'plant-1';

describe('document download: the ledger decides before the DHT is asked', () => {
  let app: ServiceApp;
  let issuer: DevIssuer;
  let dht: FakeDht;
  /** One chaincode fake per Fabric identity, so an answer can depend on who asks. */
  const fabric: Record<'User1' | 'User2', FakeFabricClient> = { User1: new FakeFabricClient(), User2: new FakeFabricClient() };
  /** Every DhtClient call the routes made, with the options they passed. */
  const dhtCalls: Array<{ method: string; options: unknown }> = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    issuer = await createDevIssuer('https://idp.org1.local');
    const registry = createIdentityRegistry({
      mspId: 'Org1MSP',
      identities: { User1: { mspId: 'Org1MSP', certPath: 'User1', keyPath: 'k' }, User2: { mspId: 'Org1MSP', certPath: 'User2', keyPath: 'k' } },
      pool: {} as PeerConnectionPool,
      peer: { endpoint: '127.0.0.1:1', tlsRootCertPath: 'x' },
      channel: 'twins',
      chaincode: 'twinledger',
      // The fake of the identity the registry resolved; delegated so each test's handlers answer.
      clientFactory: async (files) => {
        const name = files.certPath as 'User1' | 'User2';
        return new Proxy({}, { get: (_t, k) => { const f = fabric[name] as unknown as Record<string | symbol, unknown>; const v = f[k]; return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(f) : v; } }) as never;
      },
    });
    const recordingDht = new Proxy({}, {
      get: (_t, k) => {
        const v = (dht as unknown as Record<string | symbol, unknown>)[k];
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          dhtCalls.push({ method: String(k), options: args[args.length - 1] });
          return (v as (...a: unknown[]) => unknown).apply(dht, args);
        };
      },
    });
    app = await buildApp({
      logger: silentLogger(),
      auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }),
      ledgerFor: async (p) => createTwinLedger(await registry.clientFor(p)),
      dht: recordingDht as never,
      hub: createEventHub(10),
      journal: createLedgerJournal(),
      limits: { amlBytes: 64 * 1024, documentBytes: 1024 },
      mvccAttempts: 1,
    });
    await app.ready();
    tokens['user1'] = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
    tokens['user2'] = await issuer.issue({ sub: 'bob', org: 'Org1MSP', fabricIdentity: 'User2', audience: 'twinledger' });
  });
  afterAll(async () => app.close());

  beforeEach(() => {
    dht = new FakeDht();
    dhtCalls.length = 0;
    fabric.User1.calls.length = 0;
    fabric.User2.calls.length = 0;
  });

  const download = (token: string, hash: string, query = '') =>
    app.inject({ method: 'GET', url: `/twins/${TWIN}/documents/${hash}/content${query}`, headers: { authorization: `Bearer ${token}` } });

  /** A stored document and the record the chaincode returns to a caller it allows. */
  async function storedDocument(): Promise<{ sha256: string; history: unknown }> {
    const stored = await dht.putObject(Buffer.from('the secret plan'), { acl: ['Org1MSP', 'Org2MSP'] });
    dhtCalls.length = 0;
    const history = { twinId: TWIN, hash: stored.sha256, removed: false, document: { hash: stored.sha256, dhtRef: stored.ref, confidentiality: 'secret' }, versions: [{ version: 2, hash: stored.sha256, dhtRef: stored.ref }], ledgerHistory: [] };
    return { sha256: stored.sha256, history };
  }

  it('answers 403 when the caller\'s organization lacks doc:read, without asking the DHT', async () => {
    const { sha256 } = await storedDocument();
    fabric.User1.on('spec:getDocumentHistory', () => {
      throw new ChaincodeAccessDeniedError('ACCESS_DENIED: doc:read:secret');
    });
    for (const q of ['', '?version=1', '?version=2']) {
      const res = await download(tokens['user1']!, sha256, q);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'ACCESS_DENIED' });
    }
    expect(fabric.User1.calls.map((c) => c.fn)).toEqual(['spec:getDocumentHistory', 'spec:getDocumentHistory', 'spec:getDocumentHistory']);
    expect(dhtCalls).toEqual([]);
  });

  it('holds an identity-scoped grant: the user it names downloads, another user of the same org gets 403 and the DHT is never asked', async () => {
    const { sha256, history } = await storedDocument();
    // The grant names the org's User1 only: the chaincode, asked as each caller, decides.
    fabric.User1.on('spec:getDocumentHistory', () => history);
    fabric.User2.on('spec:getDocumentHistory', () => {
      throw new ChaincodeAccessDeniedError('ACCESS_DENIED: doc:read:secret is granted to another identity of Org1MSP');
    });

    const refused = await download(tokens['user2']!, sha256);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'ACCESS_DENIED' });
    expect(fabric.User2.calls).toEqual([{ fn: 'spec:getDocumentHistory', args: [TWIN, sha256, '1', ''], kind: 'evaluate' }]);
    expect(dhtCalls).toEqual([]);

    const allowed = await download(tokens['user1']!, sha256);
    expect(allowed.statusCode).toBe(200);
    expect(allowed.body).toBe('the secret plan');
    // The DHT was asked after the ledger, and without the user's bearer token (the client's own service credential applies).
    expect(fabric.User1.calls.map((c) => c.fn)).toEqual(['spec:getDocumentHistory']);
    expect(dhtCalls.map((c) => c.method)).toEqual(['getObjectStream']);
    expect(JSON.stringify(dhtCalls)).not.toContain(tokens['user1']!);
    expect(dhtCalls.every((c) => (c.options as { token?: unknown } | undefined)?.token === undefined)).toBe(true);
  });

  it('stores an upload with the service credential, not the uploader\'s token', async () => {
    fabric.User1
      .on('acl:checkAccess', ([, p]) => ({ allowed: true, permission: p }))
      .on('acl:listGrants', () => [{ mspId: 'Org1MSP', role: 'OWNER' }])
      .on('acl:listParties', () => [{ mspId: 'Org1MSP' }])
      .on('spec:addDocument', ([, doc]) => ({ ...JSON.parse(doc!), versionCount: 1 }));
    const res = await app.inject({ method: 'POST', url: `/twins/${TWIN}/documents?title=r&confidentiality=internal`, payload: 'report', headers: { authorization: `Bearer ${tokens['user1']!}`, 'content-type': 'application/octet-stream' } });
    expect(res.statusCode).toBe(201);
    expect(dhtCalls.map((c) => c.method)).toEqual(['putObject']);
    expect(JSON.stringify(dhtCalls)).not.toContain(tokens['user1']!);
  });
});
