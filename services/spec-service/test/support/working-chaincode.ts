import { createHash } from 'node:crypto';
import { ChaincodeAlreadyExistsError, ChaincodeNotFoundError } from '@twinledger/ledger';
// The chaincode's canonical form (a pure module): what createTwin stores and getSpecification serves.
import { canonicalizeDocument } from '../../../../chaincode/src/aml/caex';

/**
 * A chaincode stand-in that answers like a working ledger holding one twin: every spec: and acl:
 * function the services call answers a success shaped like the real contract's (packages/ledger
 * types), so a walk reaches the handler code after the ledger call. Other twins, unknown
 * documents, calls and proposals answer NOT_FOUND as the chaincode does. Writes are kept where a
 * later read shows them (twins created, in the chaincode's canonical AML; documents); everything
 * else answers canned values.
 * For FakeFabricClient's fallback: `new FakeFabricClient('Org1MSP', workingChaincode(...).answer)`.
 */
export interface WorkingChaincode {
  readonly answer: (fn: string, args: readonly string[]) => unknown;
  /** The hash of the document the ledger holds from the start (its content is `documentBytes`). */
  readonly documentHash: string;
}

export interface WorkingChaincodeOptions {
  readonly twinId: string;
  readonly aml: string;
  readonly mspId?: string;
  /** The stored document's content and DHT reference (put it into the fake DHT under this ref). */
  readonly document: { readonly bytes: Uint8Array; readonly dhtRef: string };
  /**
   * The twin's changes in ledger order (spec:history), e.g. transactions of blocks an audit
   * exporter can read; the feed's anchor is the last of them. Default: the creation alone.
   */
  readonly changes?: ReadonlyArray<{ readonly seq: number; readonly txId: string }>;
  /** The sensor feed's reference: a feed ID feed-ingest serves (default a placeholder). */
  readonly feedId?: string;
}

const AT = '2026-01-01T00:00:00.000Z';
const TX = 'e'.repeat(64);

export function workingChaincode(o: WorkingChaincodeOptions): WorkingChaincode {
  const msp = o.mspId ?? 'Org1MSP';
  const by = { mspId: msp, id: 'x509::/CN=User1' };
  // Twins as createTwin stored them (the chaincode's canonical AML): a twin created during a walk
  // is read back, listed and mapped (AAS) like the first.
  const twins = new Map<string, { twin: Record<string, unknown>; aml: string; revision: string }>();
  const store = (id: string, name: string, aml: string): Record<string, unknown> => {
    const twin = { twinId: id, deviceId: id, deviceName: name, schemaVersion: '3.0', createdBy: by, createdAt: AT, txId: TX };
    twins.set(id, { twin, aml, revision: createHash('sha256').update(aml).digest('hex') });
    return twin;
  };
  const of = (id: string | undefined) => twins.get(id!)!;
  store(o.twinId, 'Bottling plant', canonicalizeDocument(o.aml));
  const { revision } = of(o.twinId);
  const documentHash = createHash('sha256').update(o.document.bytes).digest('hex');
  const documents = new Map<string, Record<string, unknown>>();
  const addDocument = (doc: { hash: string; dhtRef: string; title: string; description?: string; componentId?: string; confidentiality: string }): Record<string, unknown> => {
    const record = { twinId: o.twinId, description: '', ...doc, owner: by, timestamp: AT, txId: TX, versionCount: 1, latest: { version: 1, hash: doc.hash, dhtRef: doc.dhtRef } };
    documents.set(doc.hash, record);
    return record;
  };
  addDocument({ hash: documentHash, dhtRef: o.document.dhtRef, title: 'Manual', confidentiality: 'internal' });
  const program = {
    twinId: o.twinId,
    elementId: 'prog-set-conveyor-speed',
    name: 'SetConveyorSpeed',
    parameters: [{ name: 'speed', dataType: 'xs:double', type: 'double', unit: 'm/s', required: true, min: 0, max: 2 }],
  };
  const call = { twinId: o.twinId, callId: 1, programName: program.name, programElementId: program.elementId, parameters: { speed: 1 }, status: 'PENDING', requestedBy: by, requestedAt: AT, requestId: 'req-1', expiresAt: '2026-01-01T00:05:00.000Z', txId: TX };
  const proposal = {
    twinId: o.twinId,
    proposalId: 1,
    operation: 'removeAML',
    change: { ID: program.elementId },
    reason: 'retire the program',
    baseRevision: revision,
    impact: { removed: [{ id: program.elementId, kind: 'program', name: program.name }], inserted: [], programsRemoved: [program], programsInserted: [] },
    status: 'PENDING',
    proposedBy: by,
    proposedAt: AT,
    txId: TX,
  };
  const grant = { twinId: o.twinId, mspId: msp, role: 'OWNER', grantedBy: by, grantedAt: AT, txId: TX };
  const party = { mspId: msp, peerIds: ['12D3KooWfake'], x25519PublicKey: 'a'.repeat(43), updatedBy: by.id, updatedAt: AT, txId: TX, version: 1 };
  const feed = { twinId: o.twinId, componentId: 'sensor-flow-1', feedRef: o.feedId ?? 'f'.repeat(64), registeredBy: by, timestamp: AT, txId: TX };
  const changes = (o.changes ?? [{ seq: 1, txId: TX }]).map(({ seq, txId }) => ({
    twinId: o.twinId, txId, seq, timestamp: AT, mspId: msp, creator: by.id, operation: seq === 1 ? 'createTwin' : 'insertAML', targets: [{ kind: 'twin', id: o.twinId }], writes: 3,
  }));
  const anchorTx = changes.at(-1)!.txId;
  const historyOf = (hash: string): Record<string, unknown> => {
    const document = documents.get(hash);
    if (!document) throw new ChaincodeNotFoundError(`NOT_FOUND: document ${hash}`);
    const original = { twinId: o.twinId, originalHash: hash, version: 1, hash, dhtRef: document['dhtRef'], addedBy: by, timestamp: AT, txId: TX };
    return { twinId: o.twinId, hash, removed: false, document, versions: [original], ledgerHistory: [{ txId: TX, timestamp: AT, isDelete: false, value: document }], bookmark: '' };
  };
  const element = (twinId: string, id: string): Record<string, unknown> => {
    if (!of(twinId).aml.includes(`ID="${id}"`)) throw new ChaincodeNotFoundError(`NOT_FOUND: element ${id}`);
    return { twinId, id, kind: 'InternalElement', name: id, parentId: 'plant-1', depth: 2, updatedBy: by, updatedAt: AT, txId: TX, aml: `<InternalElement Name="${id}" ID="${id}"/>` };
  };
  const one = <T>(list: readonly T[], key: keyof T, value: string | undefined, what: string): T => {
    const hit = list.find((x) => String(x[key]) === value);
    if (hit === undefined) throw new ChaincodeNotFoundError(`NOT_FOUND: ${what} ${value}`);
    return hit;
  };

  const answers: Record<string, (args: readonly string[]) => unknown> = {
    'spec:createTwin': ([id, name, aml]) => {
      if (twins.has(id!)) throw new ChaincodeAlreadyExistsError(`ALREADY_EXISTS: twin ${id}`);
      store(id!, name!, canonicalizeDocument(aml!));
      return { twinId: id, deviceId: id, deviceName: name, schemaVersion: '3.0', elements: 20, programs: [{ name: program.name, elementId: program.elementId }], txId: TX };
    },
    'spec:getTwin': ([id]) => of(id).twin,
    'spec:listTwins': () => [...twins.values()].map((t) => t.twin),
    'spec:getSpecification': ([id]) => ({ twinId: id, schemaVersion: '3.0', revision: of(id).revision, aml: of(id).aml }),
    'spec:getSpecificationRevision': ([id]) => ({ twinId: id, schemaVersion: '3.0', revision: of(id).revision }),
    'spec:getElement': ([id, elementId]) => element(id!, elementId!),
    'spec:insertAML': ([, , parentId, afterId]) => ({ twinId: o.twinId, parentId: parentId ?? '', afterId: afterId ?? '', inserted: ['fuzz-1'], programs: [], txId: TX }),
    'spec:removeAML': ([twinId, id]) => ({ ...element(twinId!, id!), removed: [id], feedsRemoved: [], txId: TX }),
    'spec:addDocument': ([, doc]) => addDocument(JSON.parse(doc!) as Parameters<typeof addDocument>[0]),
    'spec:addDocumentVersion': ([, original, hash, dhtRef]) => ({ twinId: o.twinId, originalHash: original, version: 2, hash, dhtRef, addedBy: by, timestamp: AT, txId: TX }),
    'spec:removeDocument': ([, hash]) => (historyOf(hash!), { twinId: o.twinId, hash, removedVersions: [], txId: TX }),
    'spec:listDocuments': () => [...documents.values()],
    'spec:getAccessRecord': ([, hash]) => (historyOf(hash!), { twinId: o.twinId, hash, originalHash: hash, record: null, history: [] }),
    'spec:recordAccessChange': ([, hash, aclVersion, parties, head]) => {
      const d = documents.get(hash!);
      if (!d) throw new ChaincodeNotFoundError(`NOT_FOUND: document ${hash}`);
      return { twinId: o.twinId, originalHash: hash, hash, version: 1, dhtRef: d['dhtRef'], aclVersion: Number(aclVersion), parties: JSON.parse(parties!) as unknown, ...(head ? { head } : {}), recordedBy: by, timestamp: AT, txId: TX };
    },
    'spec:getDocumentHistory': ([, hash]) => historyOf(hash!),
    'spec:listExternalSources': () => [{ twinId: o.twinId, uri: 'https://example.org/a', description: 'vendor page', owner: by, timestamp: AT, txId: TX }],
    'spec:addExternalSource': ([, uri]) => ({ twinId: o.twinId, uri, description: '', owner: by, timestamp: AT, txId: TX }),
    'spec:removeExternalSource': ([, uri]) => ({ twinId: o.twinId, uri, txId: TX }),
    'spec:listSensorFeeds': () => [feed],
    'spec:addSensorFeed': ([, componentId, feedRef]) => ({ ...feed, componentId, feedRef }),
    'spec:removeSensorFeed': ([, componentId]) => ({ twinId: o.twinId, componentId, txId: TX }),
    // Not among FakeFabricClient's paged functions: answered as the chaincode's one page.
    'spec:listFeedAnchors': ([, feedId]) => ({ items: [{ twinId: o.twinId, componentId: feed.componentId, feedId, fromIndex: 0, toIndex: 3, root: 'c'.repeat(64), anchoredBy: by, timestamp: AT, txId: anchorTx }], bookmark: '' }),
    'spec:listFeedAnchorTips': () => ({ items: [], bookmark: '' }),
    'spec:listPrograms': () => [program],
    'spec:callProgram': ([, name, params, requestId]) => ({ ...call, programName: name, parameters: params ? (JSON.parse(params) as unknown) : {}, requestId: requestId || call.requestId }),
    'spec:getProgramCall': ([, id]) => one([call], 'callId', id, 'program call'),
    'spec:getProgramCallByRequest': ([, id]) => one([call], 'requestId', id, 'program call request'),
    'spec:listPendingProgramCalls': () => [call],
    'spec:proposeSafetyChange': ([, operation, change, reason]) => ({ ...proposal, operation, change: JSON.parse(change!) as unknown, reason: reason ?? '' }),
    'spec:approveSafetyChange': ([, id]) => ({ ...one([proposal], 'proposalId', id, 'proposal'), status: 'APPLIED', removed: [program.elementId], feedsRemoved: [], inserted: [] }),
    'spec:rejectSafetyChange': ([, id, reason]) => ({ ...one([proposal], 'proposalId', id, 'proposal'), status: 'REJECTED', decision: { status: 'REJECTED', reason: reason ?? '', by, at: AT, txId: TX } }),
    'spec:listSafetyProposals': () => [proposal],
    'spec:getSafetyProposal': ([, id]) => one([proposal], 'proposalId', id, 'proposal'),
    'spec:history': ([, elementId]) =>
      elementId
        ? { twinId: o.twinId, elementId, changes, ledgerHistory: [{ txId: TX, timestamp: AT, isDelete: false, value: {}, seq: 1, mspId: msp, creator: by.id, operation: 'createTwin' }] }
        : { twinId: o.twinId, changes },
    'spec:getTwinAsOf': ([id]) => ({
      twinId: id,
      asOf: { seq: 1, lastSeq: 1, lastTxId: changes[0]!.txId, lastTimestamp: AT },
      twin: of(id).twin,
      specification: of(id).aml,
      documents: [...documents.values()],
      externalSources: [],
      sensorFeeds: [feed],
      grants: [grant],
      programCalls: [call],
    }),
    'acl:checkAccess': ([, permission]) => ({ twinId: o.twinId, mspId: msp, identity: by.id, permission, allowed: true, roles: ['OWNER'], permissions: [permission] }),
    'acl:checkAccessFor': ([, mspId, identity, permission]) => ({ twinId: o.twinId, mspId, identity, permission, allowed: true, roles: ['OWNER'], permissions: [permission] }),
    'acl:listGrants': () => [grant],
    'acl:grant': ([, g]) => ({ ...grant, ...(JSON.parse(g!) as object) }),
    'acl:revoke': ([, g]) => ({ twinId: o.twinId, revoked: { ...grant, ...(JSON.parse(g!) as object) }, txId: TX }),
    'acl:listParties': () => [party],
    'acl:getParty': ([mspId]) => one([party], 'mspId', mspId, 'party'),
    'acl:registerParty': ([peerIds, key]) => ({ ...party, peerIds: JSON.parse(peerIds!) as unknown, x25519PublicKey: key }),
    'acl:listDeviceNamespaces': () => [{ prefix: 'plant-', mspId: msp, claimedBy: by.id, claimedAt: AT, txId: TX }],
    'acl:claimDeviceNamespace': ([prefix]) => ({ prefix, mspId: msp, claimedBy: by.id, claimedAt: AT, txId: TX }),
    'acl:releaseDeviceNamespace': ([prefix]) => ({ prefix, mspId: msp, txId: TX }),
  };
  // Functions whose first argument is a twin id: other twins do not exist.
  const global = new Set(['spec:createTwin', 'spec:listTwins', 'acl:listParties', 'acl:getParty', 'acl:registerParty', 'acl:listDeviceNamespaces', 'acl:claimDeviceNamespace', 'acl:releaseDeviceNamespace']);
  return {
    documentHash,
    answer: (fn, args) => {
      const a = answers[fn];
      if (a === undefined) throw new Error(`working chaincode: no answer for ${fn}`);
      if (!global.has(fn) && !twins.has(args[0]!)) throw new ChaincodeNotFoundError(`NOT_FOUND: twin ${args[0]}`);
      return a(args);
    },
  };
}
