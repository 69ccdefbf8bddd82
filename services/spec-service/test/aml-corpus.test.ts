import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createTwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { AmlLimits, assembleAmlSplit, isAmlError, readAmlDocument, readSpecification, toAmlNode } from '@twinledger/aml';
// The chaincode's canonical form (a pure module): what createTwin stores and getSpecification
// serves for a document (chaincode/test/public-corpus.test.ts checks that on its ledger fake).
import { canonicalizeDocument } from '../../../chaincode/src/aml/caex';
import { AML_CASES, doc, ie, nestedAttributes } from '../../../packages/aml/test/corpus.js';
import { PUBLIC_AML_FILES } from '../../../packages/aml/test/public-corpus.js';
import { readReferenceXml, semanticDifferences } from '../../../packages/aml/test/reference-xml.js';
import { buildApp } from '../src/app.js';
import { createEventHub } from '../src/domain/event-hub.js';
import { createLedgerJournal } from '../src/domain/ledger-journal.js';
import { FakeFabricClient, fakeIdentityRegistry } from './support/fakes.js';

/**
 * Every bad AML through every route that takes or serves AML answers a 4xx with the
 * chaincode's code, never a 5xx, and reaches no transaction; every good one reaches the
 * ledger. The routes run with the production limits (8 MiB documents, 512 KiB fragments).
 */
describe('spec-service and the bad-AML corpus', () => {
  let app: ServiceApp;
  let fabric: FakeFabricClient;
  let token: string;

  beforeAll(async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    const registry = fakeIdentityRegistry(() => fabric);
    app = await buildApp({
      logger: silentLogger(),
      auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }),
      ledgerFor: async (p) => createTwinLedger(await registry.clientFor(p)),
      dht: {} as never,
      hub: createEventHub(10),
      journal: createLedgerJournal(),
      limits: { amlBytes: AmlLimits.MAX_AML_BYTES, documentBytes: 1024 },
      mvccAttempts: 1,
    });
    await app.ready();
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
  });
  afterAll(async () => app.close());
  beforeEach(() => {
    fabric = new FakeFabricClient()
      .on('spec:createTwin', () => ({ twinId: 't', txId: 'x' }))
      .on('spec:insertAML', () => ({ inserted: [], txId: 'x' }));
  });

  const post = (url: string, payload: unknown) =>
    app.inject({ method: 'POST', url, payload: payload as string, headers: { authorization: `Bearer ${token}` } });

  const over = (code: string | undefined): number => (code === 'TOO_LARGE' ? 413 : 400);
  // A body far over the route's byte limit is refused before it is read (PAYLOAD_TOO_LARGE); both are 413.
  const same = (code: string | undefined, got: string): string => (code === 'TOO_LARGE' && got === 'PAYLOAD_TOO_LARGE' ? 'TOO_LARGE' : got);

  it.each(AML_CASES.filter((c) => c.kind === 'document').map((c) => [c.name, c] as const))('POST /twins with %s', async (_n, c) => {
    const res = await post('/twins', { deviceId: 'plant-1', deviceName: 'Plant', aml: c.xml() });
    if (c.code === undefined) {
      expect(res.statusCode).toBe(201);
      expect(fabric.calls.map((x) => x.fn)).toEqual(['spec:createTwin']);
    } else {
      expect({ status: res.statusCode, code: same(c.code, res.json<{ code: string }>().code) }).toEqual({ status: over(c.code), code: c.code });
      expect(fabric.calls).toHaveLength(0);
    }
  });

  it.each(AML_CASES.filter((c) => c.kind === 'fragment').map((c) => [c.name, c] as const))('POST /twins/:twinId/elements with %s', async (_n, c) => {
    const res = await post('/twins/plant-1/elements', { aml: c.xml(), parentId: 'line' });
    if (c.code === undefined) {
      expect(res.statusCode).toBe(201);
    } else {
      expect({ status: res.statusCode, code: same(c.code, res.json<{ code: string }>().code) }).toEqual({ status: over(c.code), code: c.code });
      expect(fabric.calls).toHaveLength(0);
    }
  });

  it('a specification or element the ledger serves deeper than the limit is a 4xx, not a 500', async () => {
    // What the ledger held before insertAML checked the assembled depth: two accepted inserts.
    const deep = doc(ie('a', nestedAttributes(200)));
    fabric.on('spec:getSpecificationRevision', () => ({ twinId: 'deep', schemaVersion: '3.0', revision: 'r1' }));
    fabric.on('spec:getSpecification', () => ({ twinId: 'deep', schemaVersion: '3.0', revision: 'r1', aml: deep }));
    fabric.on('spec:getElement', () => ({ twinId: 'deep', id: 'a', aml: ie('a', nestedAttributes(200)) }));
    const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    const spec = await get('/twins/deep/spec?format=json');
    expect({ status: spec.statusCode, code: spec.json<{ code: string }>().code }).toEqual({ status: 400, code: 'AML_INVALID' });
    const el = await get('/twins/deep/elements/a?format=json');
    expect({ status: el.statusCode, code: el.json<{ code: string }>().code }).toEqual({ status: 400, code: 'AML_INVALID' });
  });

  const refusalOf = (aml: string) => {
    try {
      readAmlDocument(aml);
      return undefined;
    } catch (e) {
      return isAmlError(e) ? e : undefined;
    }
  };

  // The real files, and the synthetic documents of what no public file has yet: CAEX 2.15 values holding elements.
  const roundTrips = [
    ...PUBLIC_AML_FILES,
    ...AML_CASES.filter((c) => c.kind === 'document' && c.code === undefined && c.name.startsWith('a 2.15 ') && c.xml().length < 64 * 1024).map((c) => ({ name: c.name, xml: c.xml, external: false })),
  ];
  it.each(roundTrips.map((f) => [f.name, f] as const))('POST /twins then GET /twins/:id/spec with %s', async (name, f) => {
    const aml = f.xml();
    // A ledger of one twin: createTwin stores the canonical form, the reads serve it. Above
    // 128 KiB the ledger client creates in chunks: the seal stores the assembled chunks'
    // canonical form (the chaincode's seal is tested on its fake in creation.test.ts).
    let stored: string | undefined;
    let skeleton = '';
    const chunks: { index: number; parentId: string; aml: string }[] = [];
    fabric
      .on('spec:createTwin', (a) => {
        stored = canonicalizeDocument(String(a[2]));
        return { twinId: a[0], deviceId: a[0], elements: 0, programs: [], txId: 'c' };
      })
      .on('spec:beginTwinCreation', (a) => {
        skeleton = String(a[2]);
        return { twinId: a[0], creationId: 'c1', totalChunks: Number(a[4]), elements: 0, txId: 'b' };
      })
      .on('spec:appendTwinChunk', (a) => {
        chunks.push({ index: Number(a[2]), parentId: String(a[3]), aml: String(a[4]) });
        return { twinId: a[0], creationId: a[1], index: Number(a[2]), txId: 'a' };
      })
      .on('spec:sealTwinCreation', (a) => {
        stored = canonicalizeDocument(assembleAmlSplit({ skeleton, chunks: [...chunks].sort((x, y) => x.index - y.index) as never }));
        return { twinId: a[0], deviceId: a[0], elements: 0, programs: [], txId: 's' };
      })
      .on('spec:getSpecificationRevision', (a) => ({ twinId: a[0], schemaVersion: '3.0', revision: 'r1' }))
      .on('spec:getSpecification', (a) => ({ twinId: a[0], schemaVersion: '3.0', revision: 'r1', aml: stored }));
    const twinId = `corpus-${roundTrips.indexOf(f)}`;
    const created = await post('/twins', { deviceId: twinId, deviceName: 'Corpus', aml });
    // An outside file (AML_CORPUS_DIR) the reader refuses by a rule is refused here the same way, before the ledger.
    const refusal = f.external ? refusalOf(aml) : undefined;
    if (refusal) {
      expect({ name, status: created.statusCode, code: created.json<{ code: string }>().code }).toEqual({ name, status: refusal.httpStatus, code: refusal.code });
      expect(fabric.calls).toHaveLength(0);
      return;
    }
    expect(created.statusCode).toBe(201);
    const get = (format: string) => app.inject({ method: 'GET', url: `/twins/${twinId}/spec?format=${format}`, headers: { authorization: `Bearer ${token}` } });
    const served = await get('aml');
    expect(served.statusCode).toBe(200);
    expect(served.body).toBe(canonicalizeDocument(aml));
    expect(semanticDifferences(readReferenceXml(aml), readReferenceXml(served.body))).toEqual([]);
    // The JSON tree of the same specification is served too (a reader crash would be a 500), all of it.
    const json = await get('json');
    expect(json.statusCode).toBe(200);
    expect(json.json<{ tree: unknown }>().tree).toEqual(toAmlNode(readSpecification(served.body)));
  });

  /** A plant of n components, each with two attributes: about 5 MB at 20,000. */
  const plant = (n: number): string =>
    `<CAEXFile SchemaVersion="3.0" FileName="plant.aml"><InstanceHierarchy Name="Plant" ID="plant">${Array.from(
      { length: n },
      (_, i) => `<InternalElement Name="Component ${i}" ID="component-${i}"><Attribute Name="SerialNumber" AttributeDataType="xs:string"><Value>SN-${i}</Value></Attribute><Attribute Name="Rating" AttributeDataType="xs:double" Unit="kW"><Value>${i % 100}.5</Value></Attribute></InternalElement>`,
    ).join('')}</InstanceHierarchy></CAEXFile>`;

  // About 5 s of AML work alone (the default timeout): generous, as the unit project runs suites
  // in parallel on 2 cores.
  it('creates a 20,000-component twin through the chunked path, and refuses one more with 413 before any transaction', async () => {
    fabric
      .on('spec:beginTwinCreation', (a) => ({ twinId: a[0], creationId: 'c1', totalChunks: Number(a[4]), elements: 1, txId: 'b' }))
      .on('spec:appendTwinChunk', (a) => ({ twinId: a[0], creationId: a[1], index: Number(a[2]), txId: 'a' }))
      .on('spec:sealTwinCreation', (a) => ({ twinId: a[0], deviceId: a[0], elements: 20_001, programs: [], txId: 's' }));
    const aml = plant(AmlLimits.MAX_ELEMENTS_PER_TWIN);
    expect(Buffer.byteLength(aml)).toBeGreaterThan(4 * 1024 * 1024);
    const res = await post('/twins', { deviceId: 'plant-20k', deviceName: 'Plant', aml });
    expect(res.statusCode).toBe(201);
    const fns = fabric.calls.map((c) => c.fn);
    expect(fns[0]).toBe('spec:beginTwinCreation');
    expect(fns.at(-1)).toBe('spec:sealTwinCreation');
    expect(fns.filter((f) => f === 'spec:appendTwinChunk').length).toBeGreaterThan(30);

    fabric.calls.length = 0;
    const over = await post('/twins', { deviceId: 'plant-20k', deviceName: 'Plant', aml: plant(AmlLimits.MAX_ELEMENTS_PER_TWIN + 1) });
    expect({ status: over.statusCode, code: over.json<{ code: string }>().code }).toEqual({ status: 413, code: 'TOO_LARGE' });
    expect(fabric.calls).toHaveLength(0);
  }, 60_000);
});
