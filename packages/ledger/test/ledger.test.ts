import { describe, expect, it } from '@jest/globals';
import { EndorsementFailedError, MvccConflictError, type FabricClient, type SubmitResult } from '@twinledger/fabric-client';
import { asChaincodeRejection, ChaincodeAccessDeniedError, ChaincodeErrorCodes, ChaincodeRejectedError, createTwinLedger, LedgerResponseInvalidError, Roles } from '../src/index.js';

interface Call {
  readonly kind: 'evaluate' | 'submit';
  readonly fn: string;
  readonly args: readonly string[];
}

/** A hand-written FabricClient double: records calls and answers from a per-function table. */
function fakeClient(answers: Record<string, unknown | ((args: readonly string[]) => unknown)>): { client: FabricClient; calls: Call[] } {
  const calls: Call[] = [];
  const answer = (fn: string, args: readonly string[]): Uint8Array => {
    if (!(fn in answers)) throw new Error(`fake: no answer for ${fn}`);
    const a = answers[fn];
    const v = typeof a === 'function' ? (a as (args: readonly string[]) => unknown)(args) : a;
    if (v instanceof Error) throw v;
    return Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');
  };
  let block = 10n;
  const client: FabricClient = {
    mspId: 'Org1MSP',
    async evaluate(fn, args) {
      calls.push({ kind: 'evaluate', fn, args: [...args] });
      return answer(fn, args);
    },
    async submit(fn, args): Promise<SubmitResult> {
      calls.push({ kind: 'submit', fn, args: [...args] });
      const result = answer(fn, args);
      return { result, transactionId: `tx-${fn}`, blockNumber: block++ };
    },
    chaincodeEvents() {
      return Promise.reject(new Error('fake: no events'));
    },
    close() {},
  };
  return { client, calls };
}

const PAGE = { items: [], bookmark: '' };

describe('createTwinLedger', () => {
  it('passes "" for every omitted optional argument and JSON for structured ones', async () => {
    const ok = { twinId: 't1' };
    const { client, calls } = fakeClient({
      'spec:createTwin': ok,
      'spec:insertAML': ok,
      'spec:addExternalSource': ok,
      'spec:callProgram': ok,
      'spec:acknowledgeProgramCall': ok,
      'spec:history': { ...ok, changes: [], bookmark: '' },
    });
    const l = createTwinLedger(client);
    await l.createTwin('t1', 'Plant', '<CAEXFile/>');
    await l.createTwin('t1', 'Plant', '<CAEXFile/>', { Org2MSP: Roles.MANUFACTURER, Org3MSP: [Roles.MAINTAINER] });
    await l.insertAML('t1', '<InternalElement/>');
    await l.insertAML('t1', '<InternalElement/>', 'parent', 'after');
    await l.addExternalSource('t1', 'https://example.org/x');
    await l.callProgram('t1', 'SetConveyorSpeed');
    await l.callProgram('t1', 'SetConveyorSpeed', { speed: 1.2 }, { requestId: 'req-1', ttlSeconds: 60 });
    await l.acknowledgeProgramCall('t1', 7, 'EXECUTED');
    await l.acknowledgeProgramCall('t1', 7, 'FAILED', { reason: 'jammed' });
    await l.history('t1');
    await l.history('t1', 'el-1');
    expect(calls.map((c) => [c.kind, c.fn, c.args])).toEqual([
      ['submit', 'spec:createTwin', ['t1', 'Plant', '<CAEXFile/>', '']],
      ['submit', 'spec:createTwin', ['t1', 'Plant', '<CAEXFile/>', '{"Org2MSP":"MANUFACTURER","Org3MSP":["MAINTAINER"]}']],
      ['submit', 'spec:insertAML', ['t1', '<InternalElement/>', '', '']],
      ['submit', 'spec:insertAML', ['t1', '<InternalElement/>', 'parent', 'after']],
      ['submit', 'spec:addExternalSource', ['t1', 'https://example.org/x', '']],
      // Without a request ID the client makes a fresh one: the chaincode requires one per call.
      ['submit', 'spec:callProgram', ['t1', 'SetConveyorSpeed', '', expect.stringMatching(/^[0-9a-f-]{36}$/), '']],
      ['submit', 'spec:callProgram', ['t1', 'SetConveyorSpeed', '{"speed":1.2}', 'req-1', '60']],
      ['submit', 'spec:acknowledgeProgramCall', ['t1', '7', 'EXECUTED', '']],
      ['submit', 'spec:acknowledgeProgramCall', ['t1', '7', 'FAILED', '{"reason":"jammed"}']],
      // history() reads every page, the largest the chaincode serves.
      ['evaluate', 'spec:history', ['t1', '', '1000', '']],
      ['evaluate', 'spec:history', ['t1', 'el-1', '1000', '']],
    ]);
  });

  it('evaluates reads and submits writes, on the contract each function belongs to', async () => {
    const { client, calls } = fakeClient({
      'spec:getSpecification': { twinId: 't', schemaVersion: '3.0', aml: '<x/>' },
      'spec:getSpecificationRevision': { twinId: 't', schemaVersion: '3.0', revision: 'tx1' },
      'spec:getElement': {},
      'spec:getTwin': {},
      'spec:listDocuments': PAGE,
      'spec:getDocumentHistory': { ledgerHistory: [], bookmark: '' },
      'spec:listExternalSources': PAGE,
      'spec:listSensorFeeds': PAGE,
      'spec:listPrograms': PAGE,
      'spec:listPendingProgramCalls': PAGE,
      'spec:getProgramCall': {},
      'spec:getProgramCallByRequest': {},
      'spec:getTwinAsOf': {},
      'acl:listGrants': PAGE,
      'acl:checkAccess': {},
      'acl:checkAccessFor': {},
      'acl:getParty': {},
      'acl:listParties': PAGE,
      'spec:removeAML': {},
      'spec:addDocument': {},
      'spec:addDocumentVersion': {},
      'spec:removeDocument': {},
      'spec:removeExternalSource': {},
      'spec:addSensorFeed': {},
      'spec:removeSensorFeed': {},
      'acl:grant': {},
      'acl:revoke': {},
      'acl:registerParty': {},
    });
    const l = createTwinLedger(client);
    const d = new Date('2030-01-02T03:04:05.678Z');
    await l.getSpecification('t');
    await l.getSpecificationRevision('t');
    await l.getElement('t', 'e');
    await l.getTwin('t');
    await l.listDocuments('t');
    await l.getDocumentHistory('t', 'h');
    await l.listExternalSources('t');
    await l.listSensorFeeds('t');
    await l.listPrograms('t');
    await l.listPendingProgramCalls('t');
    await l.getProgramCall('t', 3);
    await l.getProgramCallByRequest('t', 'req-1');
    await l.getTwinAsOf('t', d);
    await l.getTwinAsOf('t', 1_700_000_000_123.9);
    await l.getTwinAsOf('t', 'a'.repeat(64));
    await l.getTwinAsOf('t', { seq: 7 });
    await l.listGrants('t');
    await l.checkAccess('t', 'doc:read:secret');
    await l.checkAccessFor('t', 'Org2MSP', 'x509::a::b', 'feed:read');
    await l.getParty('Org2MSP');
    await l.listParties();
    await l.removeAML('t', 'e');
    await l.addDocument('t', { hash: 'h', dhtRef: 'r', title: 'T', confidentiality: 'internal' });
    await l.addDocumentVersion('t', 'h', 'h2', 'r2');
    await l.removeDocument('t', 'h');
    await l.removeExternalSource('t', 'u');
    await l.addSensorFeed('t', 'c', 'f');
    await l.removeSensorFeed('t', 'c');
    await l.grant('t', { mspId: 'Org2MSP', role: 'AUDITOR' });
    await l.revoke('t', { mspId: 'Org2MSP', role: 'AUDITOR' });
    await l.registerParty(['12D3KooWx'], 'k');
    const reads = calls.filter((c) => c.kind === 'evaluate').map((c) => c.fn);
    const writes = calls.filter((c) => c.kind === 'submit').map((c) => c.fn);
    expect(reads).toHaveLength(21);
    expect(reads).toContain('spec:getSpecificationRevision');
    expect(writes).toEqual([
      'spec:removeAML',
      'spec:addDocument',
      'spec:addDocumentVersion',
      'spec:removeDocument',
      'spec:removeExternalSource',
      'spec:addSensorFeed',
      'spec:removeSensorFeed',
      'acl:grant',
      'acl:revoke',
      'acl:registerParty',
    ]);
    const args = (fn: string) => calls.filter((c) => c.fn === fn).map((c) => c.args);
    expect(args('spec:getTwinAsOf')).toEqual([
      ['t', '2030-01-02T03:04:05.678Z'],
      ['t', '1700000000123'],
      ['t', 'a'.repeat(64)],
      ['t', 'seq:7'],
    ]);
    expect(args('spec:getProgramCall')).toEqual([['t', '3']]);
    expect(args('spec:getProgramCallByRequest')).toEqual([['t', 'req-1']]);
    expect(args('spec:addDocument')).toEqual([['t', '{"hash":"h","dhtRef":"r","title":"T","confidentiality":"internal"}']]);
    expect(args('acl:registerParty')).toEqual([['["12D3KooWx"]', 'k']]);
    expect(args('acl:listParties')).toEqual([['1000', '']]);
    expect(args('spec:listDocuments')).toEqual([['t', '1000', '']]);
    expect(args('acl:checkAccessFor')).toEqual([['t', 'Org2MSP', 'x509::a::b', 'feed:read']]);
  });

  it('reads one page, or every page following the bookmarks', async () => {
    const pages: Record<string, { items: number[]; bookmark: string }> = { '': { items: [1, 2], bookmark: 'b1' }, b1: { items: [], bookmark: 'b2' }, b2: { items: [3], bookmark: '' } };
    const { client, calls } = fakeClient({ 'spec:listDocuments': (args) => pages[args[2]!] });
    const l = createTwinLedger(client);
    expect(await l.listDocumentsPage('t', { limit: 2 })).toEqual(pages['']);
    expect(await l.listDocumentsPage('t', { bookmark: 'b1' })).toEqual(pages['b1']);
    // A page may be empty and still not the last: the all-pages reader goes on.
    expect(await l.listDocuments('t')).toEqual([1, 2, 3]);
    expect(calls.map((c) => c.args)).toEqual([
      ['t', '2', ''],
      ['t', '', 'b1'],
      ['t', '1000', ''],
      ['t', '1000', 'b1'],
      ['t', '1000', 'b2'],
    ]);
  });

  it('joins history pages: changes and the element key history of every page', async () => {
    const { client } = fakeClient({
      'spec:history': (args) =>
        args[3] === ''
          ? { twinId: 't', elementId: 'e', changes: [{ seq: 2 }], ledgerHistory: [{ seq: 2 }], bookmark: '5' }
          : { twinId: 't', elementId: 'e', changes: [{ seq: 5 }], ledgerHistory: [{ seq: 5 }], bookmark: '' },
    });
    const h = await createTwinLedger(client).history('t', 'e');
    expect(h).toEqual({ twinId: 't', elementId: 'e', changes: [{ seq: 2 }, { seq: 5 }], ledgerHistory: [{ seq: 2 }, { seq: 5 }] });
  });

  it('stops on a bookmark answered twice instead of looping', async () => {
    const { client } = fakeClient({ 'acl:listGrants': { items: [1], bookmark: 'same' } });
    await expect(createTwinLedger(client).listGrants('t')).rejects.toMatchObject({ code: 'LEDGER_RESPONSE_INVALID' });
  });

  it('returns parsed results, and for writes the transaction id and block number', async () => {
    const created = { twinId: 't1', deviceId: 't1', deviceName: 'P', schemaVersion: '3.0', elements: 12, programs: [], txId: 'abc' };
    const { client } = fakeClient({ 'spec:createTwin': created, 'spec:getTwin': { twinId: 't1', deviceName: 'P' } });
    const l = createTwinLedger(client);
    const w = await l.createTwin('t1', 'P', '<CAEXFile/>');
    expect(w).toEqual({ result: created, transactionId: 'tx-spec:createTwin', blockNumber: 10n });
    await expect(l.getTwin('t1')).resolves.toEqual({ twinId: 't1', deviceName: 'P' });
    expect(l.mspId).toBe('Org1MSP');
  });

  it('refuses a result that is not JSON with LEDGER_RESPONSE_INVALID', async () => {
    const { client } = fakeClient({ 'spec:getTwin': 'not json {' });
    const err = await createTwinLedger(client).getTwin('t').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerResponseInvalidError);
    expect(err).toMatchObject({ code: 'LEDGER_RESPONSE_INVALID', httpStatus: 502, fn: 'spec:getTwin' });
  });

  it('passes typed client errors through unchanged', async () => {
    const denied = new ChaincodeAccessDeniedError('ACCESS_DENIED: no');
    const mvcc = new MvccConflictError('lost', { transactionId: 'tx9' });
    const { client } = fakeClient({ 'spec:getTwin': denied, 'spec:removeAML': mvcc });
    const l = createTwinLedger(client);
    await expect(l.getTwin('t')).rejects.toBe(denied);
    await expect(l.removeAML('t', 'e')).rejects.toBe(mvcc);
  });

  it('re-types every chaincode code to its own class with its stable HTTP status', () => {
    const status: Record<string, [string, number]> = {
      ACCESS_DENIED: ['ChaincodeAccessDeniedError', 403],
      VALIDATION_FAILED: ['ChaincodeValidationError', 400],
      NOT_FOUND: ['ChaincodeNotFoundError', 404],
      ALREADY_EXISTS: ['ChaincodeAlreadyExistsError', 409],
      OUT_OF_BOUNDS: ['ChaincodeOutOfBoundsError', 400],
      AML_INVALID: ['ChaincodeAmlInvalidError', 400],
      DOCTYPE_FORBIDDEN: ['ChaincodeDoctypeForbiddenError', 400],
      DUPLICATE_ID: ['ChaincodeDuplicateIdError', 400],
      TOO_LARGE: ['ChaincodeTooLargeError', 413],
      INVALID_STATE: ['ChaincodeInvalidStateError', 409],
      GRANT_FORBIDDEN: ['ChaincodeGrantForbiddenError', 403],
      REQUEST_ID_CONFLICT: ['ChaincodeRequestIdConflictError', 409],
      SAFETY_APPROVAL_REQUIRED: ['ChaincodeSafetyApprovalRequiredError', 403],
      SELF_APPROVAL: ['ChaincodeSelfApprovalError', 403],
      STALE_PROPOSAL: ['ChaincodeStaleProposalError', 409],
    };
    expect(Object.keys(status).sort()).toEqual(Object.values(ChaincodeErrorCodes).sort());
    for (const [code, [name, httpStatus]] of Object.entries(status)) {
      const raw = new EndorsementFailedError('endorsement failed: 10 ABORTED: failed to endorse', { transactionId: 'tx2', peerMessages: [`chaincode response 500, ${code}: why`] });
      const err = asChaincodeRejection(raw);
      expect(err).toBeInstanceOf(ChaincodeRejectedError);
      expect(err).toMatchObject({ name, code, httpStatus, transactionId: 'tx2', message: `${code}: why` });
    }
  });

  it('re-types a coded refusal found only in the message, and leaves other endorsement failures as they are', async () => {
    const raw = new EndorsementFailedError('endorsement failed: 10 ABORTED: failed to endorse | chaincode response 500, INVALID_STATE: program call 1 is already EXECUTED', {
      transactionId: 'tx1',
    });
    const other = new EndorsementFailedError('endorsement failed: creator certificate is not valid');
    const { client } = fakeClient({ 'spec:acknowledgeProgramCall': raw, 'spec:removeAML': other });
    const l = createTwinLedger(client);
    const err = await l.acknowledgeProgramCall('t', 1, 'EXECUTED').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChaincodeRejectedError);
    expect(err).toMatchObject({ code: 'INVALID_STATE', transactionId: 'tx1', message: 'INVALID_STATE: program call 1 is already EXECUTED' });
    expect((err as Error).cause).toBe(raw);
    await expect(l.removeAML('t', 'e')).rejects.toBe(other);
  });
});
