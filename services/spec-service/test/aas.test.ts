import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { environmentFromJson, readAasx, verificationErrors } from '@twinledger/aas';
import { ChaincodeAccessDeniedError, ChaincodeNotFoundError } from '@twinledger/ledger';
import { createTwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from '../src/app.js';
import { createEventHub } from '../src/domain/event-hub.js';
import { createLedgerJournal } from '../src/domain/ledger-journal.js';
import { FakeDht, FakeFabricClient, fakeIdentityRegistry } from './support/fakes.js';

const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
const REV = 'e'.repeat(64);
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');
const SHELL = b64('urn:twinledger:plant-1');
const PLANT_SM = b64('urn:twinledger:plant-1/submodels/plant-1');
const principal = { mspId: 'Org1MSP', id: 'x509::CN=User1::CN=ca' };
const twinRecord = (twinId: string) => ({ twinId, deviceId: twinId, deviceName: `Device ${twinId}`, schemaVersion: '3.0', createdBy: principal, createdAt: '2026-01-01T00:00:00Z', txId: `${twinId}-created` });

type Result = { messages: { messageType: string; text: string; code: string; correlationId?: string; timestamp: string }[] };

/**
 * The AAS API and the AASX export through app.inject, on our FabricClient and DhtClient fakes
 * acting as a chaincode: `plant-1` and `plant-2` readable, `hidden` refused (ACCESS_DENIED),
 * anything else unknown (NOT_FOUND), exactly the chaincode's answers to the twin routes.
 */
describe('spec-service AAS routes', () => {
  let app: ServiceApp;
  let fabric: FakeFabricClient;
  let dht: FakeDht;
  let token: string;
  /** doc:read levels the caller holds on plant-1. */
  let levels: Set<string>;
  let docs: Record<string, unknown>[];

  const refuse = (twinId: string): void => {
    if (twinId === 'hidden') throw new ChaincodeAccessDeniedError('ACCESS_DENIED: spec:read is not granted');
    if (!twinId.startsWith('plant-')) throw new ChaincodeNotFoundError(`NOT_FOUND: twin ${twinId}`);
  };

  beforeAll(async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    const registry = fakeIdentityRegistry(() => fabric);
    const journal = createLedgerJournal();
    journal.record({ txId: REV, blockNumber: 17, eventName: 'AmlInserted', twinId: 'plant-1' });
    app = await buildApp({
      logger: silentLogger(),
      auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }),
      ledgerFor: async (p) => createTwinLedger(await registry.clientFor(p)),
      dht: new Proxy({}, { get: (_t, k) => { const v = (dht as unknown as Record<string | symbol, unknown>)[k]; return typeof v === 'function' ? v.bind(dht) : v; } }) as never,
      hub: createEventHub(10),
      journal,
      limits: { documentBytes: 1024 },
      specCacheChars: 0,
    });
    await app.ready();
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
  });
  afterAll(async () => app.close());

  beforeEach(async () => {
    fabric = new FakeFabricClient();
    dht = new FakeDht();
    levels = new Set(['doc:read:public', 'doc:read:internal']);
    const stored = await Promise.all(['the public manual', 'internal notes', 'the secret recipe'].map((t) => dht.putObject(Buffer.from(t))));
    docs = (['public', 'internal', 'secret'] as const).map((level, i) => ({
      twinId: 'plant-1',
      hash: stored[i]!.sha256,
      dhtRef: stored[i]!.ref,
      title: `${level} document`,
      description: '',
      componentId: 'filler-1',
      confidentiality: level,
      owner: principal,
      timestamp: '2026-01-01T00:00:00Z',
      txId: `doc-${i}`,
      versionCount: 1,
      latest: { version: 1, hash: stored[i]!.sha256, dhtRef: stored[i]!.ref },
    }));
    fabric
      .on('spec:listTwins', () => [twinRecord('plant-1'), twinRecord('plant-2')])
      .on('spec:getTwin', ([t]) => (refuse(t!), twinRecord(t!)))
      .on('spec:getSpecification', ([t]) => (refuse(t!), { twinId: t, schemaVersion: '3.0', revision: REV, aml: AML }))
      .on('spec:getSpecificationRevision', ([t]) => (refuse(t!), { twinId: t, schemaVersion: '3.0', revision: REV }))
      // The chaincode lists only the documents of levels the caller may read.
      .on('spec:listDocuments', ([t]) => (refuse(t!), t === 'plant-1' ? docs.filter((d) => levels.has(`doc:read:${String(d['confidentiality'])}`)) : []))
      .on('spec:listSensorFeeds', ([t]) => {
        refuse(t!);
        if (t === 'plant-2') throw new ChaincodeAccessDeniedError('ACCESS_DENIED: feed:read');
        return [{ twinId: t, componentId: 'sensor-flow-1', feedRef: 'feed-1', registeredBy: principal, timestamp: '2026-01-01T00:00:00Z', txId: 'feed-tx' }];
      })
      .on('acl:checkAccess', ([t, permission]) => ({ twinId: t, mspId: 'Org1MSP', identity: principal.id, permission, allowed: levels.has(permission!), roles: [], permissions: [] }))
      .on('spec:getTwinAsOf', ([t, at]) => {
        refuse(t!);
        return {
          twinId: t,
          asOf: { seq: 1, lastSeq: 1, lastTxId: `${t}-created`, lastTimestamp: '2026-01-01T00:00:00Z', ...(at ? {} : {}) },
          twin: twinRecord(t!),
          specification: AML.replace('ACME Bottling Systems', 'ACME (as created)'),
          // The past state lists every document; the export keeps those the caller may read now.
          documents: docs,
          externalSources: [],
          sensorFeeds: [{ twinId: t, componentId: 'sensor-flow-1', feedRef: 'feed-past', registeredBy: principal, timestamp: '2026-01-01T00:00:00Z', txId: 'feed-tx' }],
          grants: [],
          programCalls: [],
        };
      });
  });

  const get = (url: string, t: string | null = token) => app.inject({ method: 'GET', url, headers: t ? { authorization: `Bearer ${t}` } : {} });
  const ledgerCalls = () => fabric.calls.length;

  describe('shells', () => {
    it('lists the shells of the twins the caller may read, one page at a time', async () => {
      const first = await get('/shells?limit=1');
      expect(first.statusCode).toBe(200);
      const p1 = first.json() as { paging_metadata: { cursor?: string }; result: { id: string }[] };
      expect(p1.result.map((s) => s.id)).toEqual(['urn:twinledger:plant-1']);
      expect(p1.paging_metadata.cursor).toBeDefined();
      const p2 = (await get(`/shells?limit=1&cursor=${p1.paging_metadata.cursor}`)).json() as typeof p1;
      expect(p2.result.map((s) => s.id)).toEqual(['urn:twinledger:plant-2']);
      expect(p2.paging_metadata.cursor).toBeUndefined();
      const all = (await get('/shells')).json() as typeof p1;
      expect(all.result.map((s) => s.id)).toEqual(['urn:twinledger:plant-1', 'urn:twinledger:plant-2']);
      expect(all.paging_metadata).toEqual({});
    });

    it('leaves out a listed twin that is refused a moment later, and never names one the ledger does not list', async () => {
      fabric.on('spec:listTwins', () => [twinRecord('plant-1'), twinRecord('hidden')]);
      const res = (await get('/shells')).json() as { result: { id: string }[] };
      expect(res.result.map((s) => s.id)).toEqual(['urn:twinledger:plant-1']);
    });

    it('answers one shell with the transaction and block it was derived from', async () => {
      const res = await get(`/shells/${SHELL}`);
      expect(res.statusCode).toBe(200);
      const shell = res.json() as { id: string; extensions: { name: string; value: string }[]; assetInformation: { globalAssetId: string } };
      expect(shell.id).toBe('urn:twinledger:plant-1');
      expect(shell.assetInformation.globalAssetId).toBe('urn:twinledger:device:plant-1');
      expect(Object.fromEntries(shell.extensions.map((e) => [e.name, e.value]))).toMatchObject({ 'twinledger:txId': REV, 'twinledger:block': '17' });
    });

    it('pages the submodel references', async () => {
      const p1 = (await get(`/shells/${SHELL}/submodel-refs?limit=1`)).json() as { paging_metadata: { cursor?: string }; result: { keys: { value: string }[] }[] };
      expect(p1.result[0]!.keys[0]!.value).toBe('urn:twinledger:plant-1/submodels/plant-1');
      // The secret document is not readable, the public and internal ones are on the filler: one submodel only.
      expect(p1.paging_metadata.cursor).toBeUndefined();
      fabric.on('spec:listSensorFeeds', () => [{ twinId: 'plant-1', componentId: 'gone', feedRef: 'f', registeredBy: principal, timestamp: 't', txId: 'x' }]);
      const q1 = (await get(`/shells/${SHELL}/submodel-refs?limit=1`)).json() as typeof p1;
      const q2 = (await get(`/shells/${SHELL}/submodel-refs?limit=1&cursor=${q1.paging_metadata.cursor}`)).json() as typeof p1;
      expect(q2.result[0]!.keys[0]!.value).toBe('urn:twinledger:plant-1/attachments');
      expect(q2.paging_metadata.cursor).toBeUndefined();
    });
  });

  describe('authorization: exactly the twin routes\' answers', () => {
    it.each([
      ['hidden', 403, 'ACCESS_DENIED'],
      ['nope', 404, 'NOT_FOUND'],
    ])('a twin %s: the twin route and every AAS route answer %i %s', async (twinId, status, code) => {
      expect((await get(`/twins/${twinId}`)).statusCode).toBe(status);
      const urls = [
        `/shells/${b64(`urn:twinledger:${twinId}`)}`,
        `/shells/${b64(`urn:twinledger:${twinId}`)}/submodel-refs`,
        `/submodels/${b64(`urn:twinledger:${twinId}/submodels/plant-1`)}`,
        `/submodels/${b64(`urn:twinledger:${twinId}/submodels/plant-1`)}/submodel-elements/Filler`,
        `/submodels/${b64(`urn:twinledger:${twinId}/submodels/plant-1`)}/submodel-elements/Filler/$value`,
      ];
      for (const url of urls) {
        const res = await get(url);
        expect(res.statusCode).toBe(status);
        const body = res.json() as Result;
        expect(body.messages).toEqual([expect.objectContaining({ messageType: 'Error', code, text: expect.any(String), timestamp: expect.any(String), correlationId: expect.any(String) })]);
      }
      const aasx = await get(`/twins/${twinId}/aasx`);
      expect([aasx.statusCode, aasx.json().code]).toEqual([status, code]);
    });

    it('answers a readable twin\'s missing submodel like an unknown one: 404 AAS_NOT_FOUND', async () => {
      const res = await get(`/submodels/${b64('urn:twinledger:plant-1/submodels/nothing')}`);
      expect([res.statusCode, (res.json() as Result).messages[0]!.code]).toEqual([404, 'AAS_NOT_FOUND']);
    });

    it('answers 401 in the Result format without a token, before any ledger call', async () => {
      const res = await get('/shells', null);
      expect(res.statusCode).toBe(401);
      expect((res.json() as Result).messages[0]!.code).toMatch(/^TOKEN_MISSING|UNAUTHENTICATED$/);
      expect(ledgerCalls()).toBe(0);
    });
  });

  describe('bad input: a 4xx with a stable code, before any ledger call', () => {
    it.each([
      ['an identifier that is not base64url', '/shells/not+base64', 'AAS_IDENTIFIER_INVALID', 400],
      ['an identifier with bits base64url drops', '/shells/QR', 'AAS_IDENTIFIER_INVALID', 400],
      ['a submodel identifier that is not base64url', '/submodels/%25%25', 'AAS_IDENTIFIER_INVALID', 400],
      ['an identifier that is not ours', `/shells/${b64('https://example.com/aas/1')}`, 'AAS_NOT_FOUND', 404],
      ['a submodel identifier of another form', `/submodels/${b64('urn:twinledger:plant-1')}`, 'AAS_NOT_FOUND', 404],
      ['an idShortPath with an empty segment', `/submodels/${PLANT_SM}/submodel-elements/Filler..Speed`, 'AAS_ID_SHORT_PATH_INVALID', 400],
      ['an idShortPath with a list index', `/submodels/${PLANT_SM}/submodel-elements/Filler%5B0%5D`, 'AAS_ID_SHORT_PATH_INVALID', 400],
      ['a cursor this service did not issue', '/shells?cursor=abc', 'AAS_CURSOR_INVALID', 400],
      ['a forged cursor', `/submodels?cursor=${b64(JSON.stringify({ b: '', k: -1, n: 5 }))}`, 'AAS_CURSOR_INVALID', 400],
      ['a limit out of range', '/shells?limit=0', 'VALIDATION_FAILED', 400],
    ])('%s', async (_name, url, code, status) => {
      const res = await get(url);
      expect(res.statusCode).toBe(status);
      expect((res.json() as Result).messages[0]!.code).toBe(code);
      expect(ledgerCalls()).toBe(0);
    });

    it('an as-of bound the chaincode would refuse', async () => {
      const res = await get('/twins/plant-1/aasx?asOf=yesterday');
      expect([res.statusCode, res.json().code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(ledgerCalls()).toBe(0);
    });
  });

  describe('submodels and their elements', () => {
    it('lists every submodel across twins, the same with any page size', async () => {
      const all = (await get('/submodels?limit=100')).json() as { result: { id: string }[] };
      expect(all.result.map((s) => s.id)).toEqual(['urn:twinledger:plant-1/submodels/plant-1', 'urn:twinledger:plant-2/submodels/plant-1']);
      const walked: string[] = [];
      let cursor: string | undefined;
      do {
        const page = (await get(`/submodels?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json() as { paging_metadata: { cursor?: string }; result: { id: string }[] };
        walked.push(...page.result.map((s) => s.id));
        cursor = page.paging_metadata.cursor;
      } while (cursor !== undefined);
      expect(walked).toEqual(all.result.map((s) => s.id));
    });

    it('answers one submodel, one element and its value', async () => {
      const sm = await get(`/submodels/${PLANT_SM}`);
      expect([sm.statusCode, sm.json().idShort]).toEqual([200, 'Plant']);
      const el = await get(`/submodels/${PLANT_SM}/submodel-elements/Filler.NominalThroughput`);
      expect(el.json()).toMatchObject({ modelType: 'Property', valueType: 'xs:double', value: '12000', qualifiers: [{ type: 'AML:Unit', value: 'bottles/h' }] });
      expect((await get(`/submodels/${PLANT_SM}/submodel-elements/Filler.NominalThroughput/$value`)).json()).toEqual({ NominalThroughput: 12000 });
      expect((await get(`/submodels/${PLANT_SM}/submodel-elements/Filler.FlowSensor.SensorFeed/$value`)).json()).toEqual({ SensorFeed: { Endpoint: 'feed-1' } });
      const op = await get(`/submodels/${PLANT_SM}/submodel-elements/Conveyor.SetConveyorSpeed`);
      expect(op.json()).toMatchObject({ modelType: 'Operation', inputVariables: [{ value: { idShort: 'speed', valueType: 'xs:double' } }] });
      const missing = await get(`/submodels/${PLANT_SM}/submodel-elements/Filler.Nothing`);
      expect([missing.statusCode, (missing.json() as Result).messages[0]!.code]).toEqual([404, 'AAS_NOT_FOUND']);
    });

    it('lists only the documents the caller may read, as File elements on the verified download route', async () => {
      const filler = (await get(`/submodels/${PLANT_SM}/submodel-elements/Filler`)).json() as { value: { idShort: string; modelType: string; value?: string }[] };
      const files = filler.value.filter((e) => e.modelType === 'File');
      expect(files.map((f) => f.idShort)).toEqual(['public_document', 'internal_document']);
      expect(files[0]!.value).toBe(`/twins/plant-1/documents/${String(docs[0]!['hash'])}/content`);
      expect(JSON.stringify(filler)).not.toContain(String(docs[2]!['hash']));
    });

    it('every served environment passes the library\'s verification', async () => {
      const shell = (await get(`/shells/${SHELL}`)).json();
      const submodels = ((await get('/submodels?limit=100')).json() as { result: unknown[] }).result.filter((s) => (s as { id: string }).id.startsWith('urn:twinledger:plant-1'));
      expect(verificationErrors(environmentFromJson({ assetAdministrationShells: [shell], submodels }))).toEqual([]);
    });
  });

  describe('AASX export', () => {
    it('packs the shell, the submodels, the AML and the readable documents, verified', async () => {
      const res = await get('/twins/plant-1/aasx');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/asset-administration-shell-package');
      expect(res.headers['content-disposition']).toBe('attachment; filename="plant-1.aasx"');
      expect(res.headers['x-twinledger-txid']).toBe(REV);
      const content = readAasx(res.rawPayload);
      const env = environmentFromJson(content.specs[0]!.json);
      expect(verificationErrors(env)).toEqual([]);
      expect(env.assetAdministrationShells?.[0]?.id).toBe('urn:twinledger:plant-1');
      expect(Buffer.from(content.supplementary.get('/aasx/files/plant-1.aml')!).toString('utf8')).toBe(AML);
      expect(Buffer.from(content.supplementary.get(`/aasx/documents/${String(docs[0]!['hash'])}`)!).toString()).toBe('the public manual');
      expect(Buffer.from(content.supplementary.get(`/aasx/documents/${String(docs[1]!['hash'])}`)!).toString()).toBe('internal notes');
      expect([...content.parts.keys()].some((p) => p.includes(String(docs[2]!['hash'])))).toBe(false);
      expect(JSON.stringify(content.specs[0]!.json)).toContain(`"value":"/aasx/documents/${String(docs[0]!['hash'])}"`);
    });

    it('as of a past state: that specification, the documents the caller may read now', async () => {
      const res = await get('/twins/plant-1/aasx?asOf=seq:1');
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-twinledger-txid']).toBe('plant-1-created');
      const content = readAasx(res.rawPayload);
      expect(Buffer.from(content.supplementary.get('/aasx/files/plant-1.aml')!).toString()).toContain('ACME (as created)');
      expect(verificationErrors(environmentFromJson(content.specs[0]!.json))).toEqual([]);
      expect([...content.supplementary.keys()].filter((k) => k.startsWith('/aasx/documents/'))).toHaveLength(2);
      expect(fabric.calls.find((c) => c.fn === 'spec:getTwinAsOf')?.args).toEqual(['plant-1', 'seq:1']);
      // The past state's feed is shown only to a caller who may read feeds now.
      expect(JSON.stringify(content.specs[0]!.json)).not.toContain('feed-past');
      levels.add('feed:read');
      expect(JSON.stringify(readAasx((await get('/twins/plant-1/aasx?asOf=seq:1')).rawPayload).specs[0]!.json)).toContain('feed-past');
    });

    it('serves nothing when a document does not match the ledger\'s hash (502 DOCUMENT_INTEGRITY)', async () => {
      dht.tamper(String(docs[1]!['dhtRef']));
      const res = await get('/twins/plant-1/aasx');
      expect([res.statusCode, res.json().code]).toEqual([502, 'DOCUMENT_INTEGRITY']);
    });
  });

  it('documents every AAS route in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, unknown> };
    for (const p of [
      '/shells',
      '/shells/{aasIdentifier}',
      '/shells/{aasIdentifier}/submodel-refs',
      '/submodels',
      '/submodels/{submodelIdentifier}',
      '/submodels/{submodelIdentifier}/submodel-elements/{idShortPath}',
      '/submodels/{submodelIdentifier}/submodel-elements/{idShortPath}/$value',
      '/twins/{twinId}/aasx',
    ]) {
      expect(doc.paths[p]).toBeDefined();
    }
  });
});
