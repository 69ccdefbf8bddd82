import { randomUUID } from 'node:crypto';
import type { FabricClient } from '@twinledger/fabric-client';
import { asChaincodeRejection } from './chaincode-errors.js';
import { Limits, type AcknowledgementStatus, type Permission, type ProposalStatus } from './constants.js';
import { LedgerResponseInvalidError } from './errors.js';
import { createTwinInChunks, DEFAULT_CHUNK_THRESHOLD_BYTES, type CreationCalls } from './chunked-creation.js';
import type {
  DeviceNamespace,
  AccessChange,
  AccessRecord,
  CallOptions,
  AccessRecordHistory,
  AccessAnswer,
  Committed,
  CreateTwinResult,
  CreateTwinOptions,
  BeginTwinCreationResult,
  AppendTwinChunkResult,
  AbortTwinCreationResult,
  TwinCreationStatus,
  DocumentHistory,
  DocumentHistoryPage,
  ElementHistoryPage,
  HistoryPageOptions,
  Page,
  PageOptions,
  TwinHistoryPage,
  DocumentRecord,
  DocumentVersion,
  Element,
  ElementHistory,
  ExternalSource,
  Grant,
  GrantSpec,
  InitialGrants,
  InsertAmlResult,
  NewDocument,
  ParamValue,
  Party,
  Program,
  ProgramCall,
  RemoveAmlResult,
  RemoveDocumentResult,
  RemoveExternalSourceResult,
  RemoveSensorFeedResult,
  RevokeResult,
  SafetyApproval,
  SafetyChange,
  SafetyProposal,
  SensorFeed,
  FeedAnchor,
  Specification,
  SpecificationRevision,
  Twin,
  TwinAsOf,
  TwinHistory,
} from './types.js';

/**
 * Typed access to the `twinledger` chaincode through one Fabric identity. Reads are evaluated
 * on the client's peer; writes are endorsed, ordered and awaited until committed. Refusals
 * arrive as one ChaincodeRejectedError subclass per chaincode code (ChaincodeAccessDeniedError,
 * ChaincodeNotFoundError, ...: chaincode-errors.ts);
 * lost read conflicts as MvccConflictError (retry them).
 */
export interface TwinLedger {
  /** The MSP of the identity that signs. */
  readonly mspId: string;

  // spec: specification
  /**
   * One transaction up to `options.chunkThresholdBytes` (128 KiB); above it chunked creation
   * (begin, chunks, seal: ADR-14), which no reader sees before the seal. The answer's
   * transactionId is the seal's.
   */
  createTwin(deviceId: string, deviceName: string, aml: string, grants?: InitialGrants, options?: CreateTwinOptions): Promise<Committed<CreateTwinResult>>;
  /** Chunked creation step by step (createTwin does all of it): see the chaincode README. */
  beginTwinCreation(deviceId: string, deviceName: string, skeletonAml: string, grants: InitialGrants | undefined, totalChunks: number, digest: string): Promise<Committed<BeginTwinCreationResult>>;
  appendTwinChunk(twinId: string, creationId: string, index: number, parentId: string, aml: string): Promise<Committed<AppendTwinChunkResult>>;
  sealTwinCreation(twinId: string, creationId: string): Promise<Committed<CreateTwinResult>>;
  /** Removes up to ABORT_CHUNKS_PER_CALL staged chunks; call until remainingChunks is 0. */
  abortTwinCreation(twinId: string, creationId: string): Promise<Committed<AbortTwinCreationResult>>;
  getTwinCreation(twinId: string): Promise<TwinCreationStatus>;
  /** `parentId` omitted = top level (InstanceHierarchies); `afterId` omitted = first child. */
  insertAML(twinId: string, fragment: string, parentId?: string, afterId?: string): Promise<Committed<InsertAmlResult>>;
  removeAML(twinId: string, id: string): Promise<Committed<RemoveAmlResult>>;
  getSpecification(twinId: string): Promise<Specification>;
  /** The specification's revision only (a cheap read that still checks the caller's spec:read). */
  getSpecificationRevision(twinId: string): Promise<SpecificationRevision>;
  getElement(twinId: string, id: string): Promise<Element>;
  getTwin(twinId: string): Promise<Twin>;
  /** Every twin the caller may read (spec:read): all pages, read one after the other. */
  listTwins(): Promise<Twin[]>;
  /** One page of the twins the caller may read. */
  listTwinsPage(page?: PageOptions): Promise<Page<Twin>>;

  // spec: documents
  addDocument(twinId: string, doc: NewDocument): Promise<Committed<DocumentRecord>>;
  addDocumentVersion(twinId: string, originalHash: string, newHash: string, dhtRef: string): Promise<Committed<DocumentVersion>>;
  removeDocument(twinId: string, hash: string): Promise<Committed<RemoveDocumentResult>>;
  /** Only the documents the caller may read (all pages). */
  listDocuments(twinId: string): Promise<DocumentRecord[]>;
  listDocumentsPage(twinId: string, page?: PageOptions): Promise<Page<DocumentRecord>>;
  /** The document with its whole key history (all pages). */
  getDocumentHistory(twinId: string, hash: string): Promise<DocumentHistory>;
  /** The document with one page of its key history (newest first). */
  getDocumentHistoryPage(twinId: string, hash: string, page?: PageOptions): Promise<DocumentHistoryPage>;
  /**
   * Records the new ACL (DHT ACL record version, sorted parties, head after a re-key) of the
   * DHT object holding document version `hash`; only the version's uploader org may.
   */
  recordAccessChange(twinId: string, hash: string, change: AccessChange): Promise<Committed<AccessRecord>>;
  /** The access record of a document version and its history (needs doc:read of its level). */
  getAccessRecord(twinId: string, hash: string): Promise<AccessRecordHistory>;

  // spec: external sources and sensor feeds
  addExternalSource(twinId: string, uri: string, description?: string): Promise<Committed<ExternalSource>>;
  removeExternalSource(twinId: string, uri: string): Promise<Committed<RemoveExternalSourceResult>>;
  listExternalSources(twinId: string): Promise<ExternalSource[]>;
  listExternalSourcesPage(twinId: string, page?: PageOptions): Promise<Page<ExternalSource>>;
  addSensorFeed(twinId: string, componentId: string, feedRef: string): Promise<Committed<SensorFeed>>;
  removeSensorFeed(twinId: string, componentId: string): Promise<Committed<RemoveSensorFeedResult>>;
  listSensorFeeds(twinId: string): Promise<SensorFeed[]>;
  listSensorFeedsPage(twinId: string, page?: PageOptions): Promise<Page<SensorFeed>>;
  /** Commits a Merkle root over the feed's update records fromIndex..toIndex (the feed's owner organization only; contiguous from 0). */
  anchorFeedRoot(twinId: string, componentId: string, feedId: string, fromIndex: number, toIndex: number, root: string): Promise<Committed<FeedAnchor>>;
  /** The anchors of one feed, by fromIndex ascending. */
  listFeedAnchorsPage(twinId: string, feedId: string, page?: PageOptions): Promise<Page<FeedAnchor>>;
  /** The latest anchor of every anchored feed of the twin. */
  listFeedAnchorTips(twinId: string): Promise<FeedAnchor[]>;

  // spec: programs
  listPrograms(twinId: string): Promise<Program[]>;
  listProgramsPage(twinId: string, page?: PageOptions): Promise<Page<Program>>;
  /**
   * `programName`: the program's element ID, or its Name when unique in the twin. With the same
   * `options.requestId` as an earlier call of this organization, the result is that call (its
   * `txId` differs from the transaction's), nothing is queued.
   */
  callProgram(twinId: string, programName: string, parameters?: Readonly<Record<string, ParamValue>>, options?: CallOptions): Promise<Committed<ProgramCall>>;
  /** The call this organization queued with `requestId` (NOT_FOUND if none). */
  getProgramCallByRequest(twinId: string, requestId: string): Promise<ProgramCall>;
  /** Only a DEVICE_AGENT grant holds program:ack. `result` is any JSON value. */
  acknowledgeProgramCall(twinId: string, callId: number, status: AcknowledgementStatus, result?: unknown): Promise<Committed<ProgramCall>>;
  listPendingProgramCalls(twinId: string): Promise<ProgramCall[]>;
  listPendingProgramCallsPage(twinId: string, page?: PageOptions): Promise<Page<ProgramCall>>;
  getProgramCall(twinId: string, callId: number): Promise<ProgramCall>;

  // spec: safety changes (four eyes: a safety:write holder proposes, one of another organization approves)
  /** Needs safety:write; the change must touch safety content. Nothing changes until approved. */
  proposeSafetyChange(twinId: string, change: SafetyChange, reason?: string): Promise<Committed<SafetyProposal>>;
  /** Needs safety:write in another organization than the proposer's; applies the change. */
  approveSafetyChange(twinId: string, proposalId: number): Promise<Committed<SafetyApproval>>;
  rejectSafetyChange(twinId: string, proposalId: number, reason?: string): Promise<Committed<SafetyProposal>>;
  /** `status` omitted = every proposal. */
  listSafetyProposals(twinId: string, status?: ProposalStatus): Promise<SafetyProposal[]>;
  listSafetyProposalsPage(twinId: string, status?: ProposalStatus, page?: PageOptions): Promise<Page<SafetyProposal>>;
  getSafetyProposal(twinId: string, proposalId: number): Promise<SafetyProposal>;

  // spec: audit
  /** Every change in ledger order (all pages). */
  history(twinId: string): Promise<TwinHistory>;
  history(twinId: string, elementId: string): Promise<ElementHistory>;
  /** One page of changes from the seq the bookmark names. */
  historyPage(twinId: string, options?: HistoryPageOptions & { readonly elementId?: undefined }): Promise<TwinHistoryPage>;
  historyPage(twinId: string, options: HistoryPageOptions & { readonly elementId: string }): Promise<ElementHistoryPage>;
  historyPage(twinId: string, options?: HistoryPageOptions): Promise<TwinHistoryPage | ElementHistoryPage>;
  /**
   * `at`: a 64-hex transaction ID, `{ seq }` (a position in the twin's ledger order, 1 =
   * creation; also as the string `seq:<n>`), an ISO 8601 timestamp with zone, a Date or
   * epoch ms.
   */
  getTwinAsOf(twinId: string, at: string | Date | number | { readonly seq: number }): Promise<TwinAsOf>;

  // acl
  grant(twinId: string, grant: GrantSpec): Promise<Committed<Grant>>;
  revoke(twinId: string, grant: GrantSpec): Promise<Committed<RevokeResult>>;
  listGrants(twinId: string): Promise<Grant[]>;
  listGrantsPage(twinId: string, page?: PageOptions): Promise<Page<Grant>>;
  checkAccess(twinId: string, permission: Permission): Promise<AccessAnswer>;
  checkAccessFor(twinId: string, mspId: string, identity: string, permission: Permission): Promise<AccessAnswer>;
  /** Admin identities only (OU=admin); writes the caller's own MSP's entry. */
  registerParty(peerIds: readonly string[], x25519PublicKeyB64: string): Promise<Committed<Party>>;
  getParty(mspId: string): Promise<Party>;
  listParties(): Promise<Party[]>;
  listPartiesPage(page?: PageOptions): Promise<Page<Party>>;
  /** Admin identities only: only the caller's organization then creates twins under the prefix. */
  claimDeviceNamespace(prefix: string): Promise<Committed<DeviceNamespace>>;
  releaseDeviceNamespace(prefix: string): Promise<Committed<DeviceNamespace>>;
  listDeviceNamespaces(): Promise<DeviceNamespace[]>;
  listDeviceNamespacesPage(page?: PageOptions): Promise<Page<DeviceNamespace>>;
}

/** The most pages allPages follows before it concludes the ledger keeps answering the same bookmark. */
const MAX_PAGES = 100_000;

/**
 * Every item of a paged list, page after page (each page is its own read, so a list that
 * changes meanwhile may show an item added or removed between pages, never an item twice).
 * For services that need everything: none of them may stop after one page.
 */
export async function* allPages<T>(read: (bookmark: string) => Promise<{ readonly items: readonly T[]; readonly bookmark: string }>): AsyncGenerator<T, void, undefined> {
  let bookmark = '';
  for (let n = 0; n < MAX_PAGES; n++) {
    const page = await read(bookmark);
    // An older chaincode answers whole arrays: say so rather than fail on a missing field.
    if (!Array.isArray(page?.items) || typeof page.bookmark !== 'string') {
      throw new LedgerResponseInvalidError('page', 'the answer is not a page ({items, bookmark}); is the chaincode older than this client?');
    }
    yield* page.items;
    if (page.bookmark === '') return;
    if (page.bookmark === bookmark) throw new LedgerResponseInvalidError('page', `the ledger answered bookmark ${bookmark} twice`);
    bookmark = page.bookmark;
  }
  throw new LedgerResponseInvalidError('page', `more than ${MAX_PAGES} pages`);
}

/** allPages collected into an array. */
export async function collectPages<T>(read: (bookmark: string) => Promise<{ readonly items: readonly T[]; readonly bookmark: string }>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of allPages(read)) out.push(item);
  return out;
}

function parse<T>(fn: string, bytes: Uint8Array): T {
  const text = Buffer.from(bytes).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new LedgerResponseInvalidError(fn, `the result is not JSON (${text.length} characters)`, { cause });
  }
}

const json = (v: unknown): string => JSON.stringify(v);
/** The all-pages readers ask for the largest page: fewer round trips. */
const MAX_PAGE = Limits.MAX_PAGE_SIZE;
const optional = (v: string | undefined): string => v ?? '';

const pageArgs = (page: PageOptions | undefined): [string, string] => [page?.limit === undefined ? '' : String(page.limit), page?.bookmark ?? ''];

function asOfArg(at: string | Date | number | { readonly seq: number }): string {
  if (at instanceof Date) return at.toISOString();
  if (typeof at === 'object') return `seq:${at.seq}`;
  if (typeof at === 'number') return String(Math.trunc(at));
  return at;
}

/** Wraps a FabricClient (one identity, one peer) in the typed API; closing stays with the caller. */
export function createTwinLedger(client: FabricClient): TwinLedger {
  async function read<T>(fn: string, args: readonly string[]): Promise<T> {
    let bytes: Uint8Array;
    try {
      bytes = await client.evaluate(fn, args);
    } catch (err) {
      throw asChaincodeRejection(err);
    }
    return parse<T>(fn, bytes);
  }

  /** A list function's pages: `page` reads one, `all` every one. */
  function paged<T>(fn: string, args: readonly string[]) {
    const page = (p?: PageOptions): Promise<Page<T>> => read<Page<T>>(fn, [...args, ...pageArgs(p)]);
    return { page, all: (): Promise<T[]> => collectPages((bookmark) => page({ limit: MAX_PAGE, bookmark })) };
  }

  async function write<T>(fn: string, args: readonly string[]): Promise<Committed<T>> {
    let res;
    try {
      res = await client.submit(fn, args);
    } catch (err) {
      throw asChaincodeRejection(err);
    }
    return { result: parse<T>(fn, res.result), transactionId: res.transactionId, blockNumber: res.blockNumber };
  }

  const creationCalls: CreationCalls = {
    createTwin: (deviceId, deviceName, aml, grants) => write<CreateTwinResult>('spec:createTwin', [deviceId, deviceName, aml, grants]),
    begin: (deviceId, deviceName, skeleton, grants, totalChunks, digest) =>
      write<{ creationId: string }>('spec:beginTwinCreation', [deviceId, deviceName, skeleton, grants, String(totalChunks), digest]),
    append: (twinId, creationId, index, parentId, aml) => write('spec:appendTwinChunk', [twinId, creationId, String(index), parentId, aml]),
    seal: (twinId, creationId) => write<CreateTwinResult>('spec:sealTwinCreation', [twinId, creationId]),
    abort: (twinId, creationId) => write<{ remainingChunks: number }>('spec:abortTwinCreation', [twinId, creationId]),
    status: (twinId) => read<TwinCreationStatus>('spec:getTwinCreation', [twinId]),
    twin: (twinId) => read<Twin>('spec:getTwin', [twinId]),
  };

  return {
    mspId: client.mspId,

    createTwin: (deviceId, deviceName, aml, grants, options) => {
      const grantArg = grants === undefined ? '' : json(grants);
      if (Buffer.byteLength(aml, 'utf8') <= (options?.chunkThresholdBytes ?? DEFAULT_CHUNK_THRESHOLD_BYTES)) {
        return creationCalls.createTwin(deviceId, deviceName, aml, grantArg);
      }
      return createTwinInChunks(creationCalls, deviceId, deviceName, aml, grantArg, options);
    },
    beginTwinCreation: (deviceId, deviceName, skeletonAml, grants, totalChunks, digest) =>
      write('spec:beginTwinCreation', [deviceId, deviceName, skeletonAml, grants === undefined ? '' : json(grants), String(totalChunks), digest]),
    appendTwinChunk: (twinId, creationId, index, parentId, aml) => write('spec:appendTwinChunk', [twinId, creationId, String(index), parentId, aml]),
    sealTwinCreation: (twinId, creationId) => write('spec:sealTwinCreation', [twinId, creationId]),
    abortTwinCreation: (twinId, creationId) => write('spec:abortTwinCreation', [twinId, creationId]),
    getTwinCreation: (twinId) => read('spec:getTwinCreation', [twinId]),
    insertAML: (twinId, fragment, parentId, afterId) => write('spec:insertAML', [twinId, fragment, optional(parentId), optional(afterId)]),
    removeAML: (twinId, id) => write('spec:removeAML', [twinId, id]),
    getSpecification: (twinId) => read('spec:getSpecification', [twinId]),
    getSpecificationRevision: (twinId) => read('spec:getSpecificationRevision', [twinId]),
    getElement: (twinId, id) => read('spec:getElement', [twinId, id]),
    getTwin: (twinId) => read('spec:getTwin', [twinId]),
    listTwins: () => paged<Twin>('spec:listTwins', []).all(),
    listTwinsPage: (page) => paged<Twin>('spec:listTwins', []).page(page),

    addDocument: (twinId, doc) => write('spec:addDocument', [twinId, json(doc)]),
    addDocumentVersion: (twinId, originalHash, newHash, dhtRef) => write('spec:addDocumentVersion', [twinId, originalHash, newHash, dhtRef]),
    removeDocument: (twinId, hash) => write('spec:removeDocument', [twinId, hash]),
    listDocuments: (twinId) => paged<DocumentRecord>('spec:listDocuments', [twinId]).all(),
    listDocumentsPage: (twinId, page) => paged<DocumentRecord>('spec:listDocuments', [twinId]).page(page),
    getDocumentHistory: async (twinId, hash) => {
      let first: DocumentHistoryPage | undefined;
      const ledgerHistory = await collectPages(async (bookmark) => {
        const p = await read<DocumentHistoryPage>('spec:getDocumentHistory', [twinId, hash, ...pageArgs({ limit: MAX_PAGE, bookmark })]);
        first ??= p;
        return { items: p.ledgerHistory, bookmark: p.bookmark };
      });
      const { bookmark: _b, ...rest } = first as DocumentHistoryPage;
      return { ...rest, ledgerHistory };
    },
    getDocumentHistoryPage: (twinId, hash, page) => read('spec:getDocumentHistory', [twinId, hash, ...pageArgs(page)]),
    recordAccessChange: (twinId, hash, c) =>
      write('spec:recordAccessChange', [twinId, hash, String(c.aclVersion), json([...c.parties].sort()), optional(c.head)]),
    getAccessRecord: (twinId, hash) => read('spec:getAccessRecord', [twinId, hash]),

    addExternalSource: (twinId, uri, description) => write('spec:addExternalSource', [twinId, uri, optional(description)]),
    removeExternalSource: (twinId, uri) => write('spec:removeExternalSource', [twinId, uri]),
    listExternalSources: (twinId) => paged<ExternalSource>('spec:listExternalSources', [twinId]).all(),
    listExternalSourcesPage: (twinId, page) => paged<ExternalSource>('spec:listExternalSources', [twinId]).page(page),
    addSensorFeed: (twinId, componentId, feedRef) => write('spec:addSensorFeed', [twinId, componentId, feedRef]),
    removeSensorFeed: (twinId, componentId) => write('spec:removeSensorFeed', [twinId, componentId]),
    listSensorFeeds: (twinId) => paged<SensorFeed>('spec:listSensorFeeds', [twinId]).all(),
    listSensorFeedsPage: (twinId, page) => paged<SensorFeed>('spec:listSensorFeeds', [twinId]).page(page),
    anchorFeedRoot: (twinId, componentId, feedId, fromIndex, toIndex, root) =>
      write('spec:anchorFeedRoot', [twinId, componentId, feedId, String(fromIndex), String(toIndex), root]),
    listFeedAnchorsPage: (twinId, feedId, page) => paged<FeedAnchor>('spec:listFeedAnchors', [twinId, feedId]).page(page),
    listFeedAnchorTips: (twinId) => paged<FeedAnchor>('spec:listFeedAnchorTips', [twinId]).all(),

    listPrograms: (twinId) => paged<Program>('spec:listPrograms', [twinId]).all(),
    listProgramsPage: (twinId, page) => paged<Program>('spec:listPrograms', [twinId]).page(page),
    callProgram: (twinId, programName, parameters, options) =>
      write('spec:callProgram', [
        twinId,
        programName,
        parameters === undefined ? '' : json(parameters),
        options?.requestId ?? randomUUID(),
        options?.ttlSeconds === undefined ? '' : String(options.ttlSeconds),
      ]),
    getProgramCallByRequest: (twinId, requestId) => read('spec:getProgramCallByRequest', [twinId, requestId]),
    acknowledgeProgramCall: (twinId, callId, status, result) =>
      write('spec:acknowledgeProgramCall', [twinId, String(callId), status, result === undefined ? '' : json(result)]),
    listPendingProgramCalls: (twinId) => paged<ProgramCall>('spec:listPendingProgramCalls', [twinId]).all(),
    listPendingProgramCallsPage: (twinId, page) => paged<ProgramCall>('spec:listPendingProgramCalls', [twinId]).page(page),
    getProgramCall: (twinId, callId) => read('spec:getProgramCall', [twinId, String(callId)]),

    proposeSafetyChange: (twinId, change, reason) => {
      const { operation, ...args } = change;
      return write('spec:proposeSafetyChange', [twinId, operation, json(args), optional(reason)]);
    },
    approveSafetyChange: (twinId, proposalId) => write('spec:approveSafetyChange', [twinId, String(proposalId)]),
    rejectSafetyChange: (twinId, proposalId, reason) => write('spec:rejectSafetyChange', [twinId, String(proposalId), optional(reason)]),
    listSafetyProposals: (twinId, status) => paged<SafetyProposal>('spec:listSafetyProposals', [twinId, optional(status)]).all(),
    listSafetyProposalsPage: (twinId, status, page) => paged<SafetyProposal>('spec:listSafetyProposals', [twinId, optional(status)]).page(page),
    getSafetyProposal: (twinId, proposalId) => read('spec:getSafetyProposal', [twinId, String(proposalId)]),

    history: (async (twinId: string, elementId?: string) => {
      let first: ElementHistoryPage | undefined;
      const ledgerHistory: ElementHistoryPage['ledgerHistory'][number][] = [];
      const changes = await collectPages(async (bookmark) => {
        const p = await read<ElementHistoryPage>('spec:history', [twinId, optional(elementId), ...pageArgs({ limit: MAX_PAGE, bookmark })]);
        first ??= p;
        ledgerHistory.push(...(p.ledgerHistory ?? []));
        return { items: p.changes, bookmark: p.bookmark };
      });
      const { bookmark: _b, ...rest } = first as ElementHistoryPage;
      return elementId === undefined ? { twinId: rest.twinId, changes } : { ...rest, changes, ledgerHistory };
    }) as TwinLedger['history'],
    historyPage: ((twinId: string, options?: HistoryPageOptions) =>
      read('spec:history', [twinId, optional(options?.elementId), ...pageArgs(options)])) as TwinLedger['historyPage'],
    getTwinAsOf: (twinId, at) => read('spec:getTwinAsOf', [twinId, asOfArg(at)]),

    grant: (twinId, grant) => write('acl:grant', [twinId, json(grant)]),
    revoke: (twinId, grant) => write('acl:revoke', [twinId, json(grant)]),
    listGrants: (twinId) => paged<Grant>('acl:listGrants', [twinId]).all(),
    listGrantsPage: (twinId, page) => paged<Grant>('acl:listGrants', [twinId]).page(page),
    checkAccess: (twinId, permission) => read('acl:checkAccess', [twinId, permission]),
    checkAccessFor: (twinId, mspId, identity, permission) => read('acl:checkAccessFor', [twinId, mspId, identity, permission]),
    registerParty: (peerIds, key) => write('acl:registerParty', [json(peerIds), key]),
    getParty: (mspId) => read('acl:getParty', [mspId]),
    listParties: () => paged<Party>('acl:listParties', []).all(),
    listPartiesPage: (page) => paged<Party>('acl:listParties', []).page(page),
    claimDeviceNamespace: (prefix) => write('acl:claimDeviceNamespace', [prefix]),
    releaseDeviceNamespace: (prefix) => write('acl:releaseDeviceNamespace', [prefix]),
    listDeviceNamespaces: () => paged<DeviceNamespace>('acl:listDeviceNamespaces', []).all(),
    listDeviceNamespacesPage: (page) => paged<DeviceNamespace>('acl:listDeviceNamespaces', []).page(page),
  };
}
