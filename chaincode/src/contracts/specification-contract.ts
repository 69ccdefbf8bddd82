import { createHash } from 'crypto';
import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { parseCaexDocument, parseCaexFragment } from '../aml/caex';
import { checkCall, type ProgramDefinition } from '../aml/programs';
import {
  accessOf,
  callerAccess,
  DEFAULT_READER_GRANT,
  denied,
  writeGrants,
  ledgerClock,
  makeGrant,
  nowMs,
  parseGrantSpec,
  requirePermission,
  type Grant,
  type GrantSpec,
} from '../access/grants';
import { checkAckGrant } from '../access/device-agent';
import { requireMayCreate } from '../access/namespaces';
import { docRead, docWrite, isLevel, isRole, Permissions, Roles } from '../access/roles';
import { ErrorCodes, fail } from '../errors';
import { Limits } from '../limits';
import { Events } from '../events';
import { compositeKey, KeyTypes, pad } from '../ledger/keys';
import { boundView, changeOrder, changeOrderWithLog, parseAsOf, prefixLength, type ChangePosition } from '../ledger/order';
import { pageOf, parsePage, parsePageSize } from '../ledger/paging';
import { list, type StateReader } from '../ledger/state';
import { Tx, type SpecRevision } from '../ledger/tx';
import {
  assembleSpecification,
  elementKey,
  elementView,
  getElementRecord,
  programKey,
  requireElement,
  storeNodes,
} from '../spec/elements';
import {
  applyInsert,
  applyRemove,
  feedKey,
  planInsert,
  planRemove,
  planReplace,
  refuseExistingIds,
  safetyImpact,
  touchesSafety,
  type InsertPlan,
  type RemovePlan,
  type SafetyImpact,
} from '../spec/edits';
import {
  CallStatuses,
  type CallRequest,
  ProposalStatuses,
  SafetyOperations,
  type SafetyOperation,
  type SafetyProposal,
  type CallStatus,
  type AccessRecord,
  type DocumentRecord,
  type DocumentVersion,
  type ExternalSource,
  type ProgramCall,
  type FeedAnchor,
  type SensorFeed,
  type TwinMeta,
} from '../spec/model';
import {
  documentsVisible,
  documentVersions,
  externalSources,
  grants as listGrantRecords,
  ledgerHistory,
  createdHere,
  firstAccessRecord,
  ledgerHistoryPage,
  programCalls,
  replayChanges,
  requireTwin,
  sensorFeeds,
  twinKey,
  twinView,
} from '../spec/views';
import { canonicalJson } from '../util/canonical-json';
import {
  chunkBound,
  chunkGap,
  chunkHash,
  countInternalElements,
  creationChunkKey,
  creationChunks,
  creationDigest,
  creationKey,
  missingChunks,
  parseChunkCount,
  parseChunkIndex,
  requireOwnCreation,
  type CreationChunk,
  type TwinCreation,
} from '../spec/creation';
import { checkAssembledDepth } from '../spec/whole-spec';
import { changeLogWrites, type ChangeLogChunk } from '../ledger/tx';
import { requireAnchorRange } from '../spec/feed-anchors';
import { isPlainObject, onlyKeys, optionalId, parseJsonArg, requireId, requireText, requireTwinId } from '../util/args';

const HASH = /^[0-9a-f]{64}$/;
const MAX_REF = 1024;

const docKey = (twinId: string, hash: string) => compositeKey(KeyTypes.document, [twinId, hash]);
const docVersionKey = (twinId: string, hash: string, v: number) => compositeKey(KeyTypes.docVersion, [twinId, hash, pad(v, 12)]);
const docHashKey = (twinId: string, hash: string) => compositeKey(KeyTypes.docHash, [twinId, hash]);
const docAccessKey = (twinId: string, hash: string) => compositeKey(KeyTypes.docAccess, [twinId, hash]);
const partyKey = (mspId: string) => compositeKey(KeyTypes.party, [mspId]);
const MSP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
// A positive integer in plain decimal (no sign, exponent, fraction or leading zero).
const POSITIVE_INT = /^[1-9][0-9]{0,15}$/;
const extKey = (twinId: string, uri: string) =>
  compositeKey(KeyTypes.external, [twinId, createHash('sha256').update(uri, 'utf8').digest('hex')]);
const callKey = (twinId: string, id: number) => compositeKey(KeyTypes.call, [twinId, pad(id, 12)]);
const pendingKey = (twinId: string, id: number) => compositeKey(KeyTypes.pending, [twinId, pad(id, 12)]);
const counterKey = (twinId: string) => compositeKey(KeyTypes.counter, [twinId, 'programCall']);
const callRequestKey = (twinId: string, mspId: string, requestId: string) => compositeKey(KeyTypes.callRequest, [twinId, mspId, requestId]);
// Client request IDs: UUIDs and similar tokens; no separators Fabric reserves in keys.
const REQUEST_ID = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,${Limits.MAX_REQUEST_ID_LENGTH - 1}}$`);

function requireRequestId(v: unknown): string {
  if (typeof v !== 'string' || !REQUEST_ID.test(v)) {
    fail(ErrorCodes.VALIDATION_FAILED, `requestId must be 1..${Limits.MAX_REQUEST_ID_LENGTH} characters of A-Z a-z 0-9 . _ : - (e.g. a UUID)`);
  }
  return v;
}

/** ttlSeconds: '' = the default lifetime; else a whole number of seconds up to the maximum. */
function parseTtl(v: unknown): { seconds: number; asked: string } {
  if (v === undefined || v === '') return { seconds: Limits.DEFAULT_CALL_TTL_S, asked: '' };
  const s = typeof v === 'string' ? v : '';
  const n = Number(s);
  if (!POSITIVE_INT.test(s) || n > Limits.MAX_CALL_TTL_S) {
    fail(ErrorCodes.VALIDATION_FAILED, `ttlSeconds must be a whole number of seconds from 1 to ${Limits.MAX_CALL_TTL_S}`);
  }
  return { seconds: n, asked: s };
}
const proposalKey = (twinId: string, id: number) => compositeKey(KeyTypes.safetyProposal, [twinId, pad(id, 12)]);
const proposalPendingKey = (twinId: string, id: number) => compositeKey(KeyTypes.safetyPending, [twinId, pad(id, 12)]);
const proposalCounterKey = (twinId: string) => compositeKey(KeyTypes.counter, [twinId, 'safetyProposal']);

function requireHash(name: string, v: unknown): string {
  if (typeof v !== 'string' || !HASH.test(v)) fail(ErrorCodes.VALIDATION_FAILED, `${name} must be a lowercase hex SHA-256 (64 characters)`);
  return v;
}

function requireAclVersion(v: unknown): number {
  const s = typeof v === 'string' ? v : '';
  const n = Number(s);
  if (!POSITIVE_INT.test(s) || !Number.isSafeInteger(n)) fail(ErrorCodes.VALIDATION_FAILED, 'aclVersion must be a positive safe integer in decimal');
  return n;
}

/** partiesJson: a sorted JSON array of unique MSP IDs, 1..MAX_ACL_PARTIES (registered: checked later). */
function parseAclParties(v: unknown): string[] {
  const arr = parseJsonArg('partiesJson', v);
  if (!Array.isArray(arr) || arr.length === 0) fail(ErrorCodes.VALIDATION_FAILED, 'partiesJson must be a non-empty JSON array of MSP IDs');
  if (arr.length > Limits.MAX_ACL_PARTIES) fail(ErrorCodes.TOO_LARGE, `partiesJson lists more than ${Limits.MAX_ACL_PARTIES} parties`);
  for (const [i, p] of arr.entries()) {
    if (typeof p !== 'string' || !MSP_ID.test(p)) fail(ErrorCodes.VALIDATION_FAILED, `partiesJson[${i}] is not an MSP ID`);
    // Sorted and unique, so equal party sets have one representation on the ledger.
    if (i > 0 && !((arr[i - 1] as string) < p)) fail(ErrorCodes.VALIDATION_FAILED, 'partiesJson must be sorted and without duplicates');
  }
  return arr as string[];
}

function requireUri(v: unknown): string {
  const uri = requireText('uri', v, { max: 2048 });
  let ok = false;
  try {
    const u = new URL(uri);
    ok = /^[a-z][a-z0-9+.-]*:$/.test(u.protocol) && !/\s/.test(uri);
  } catch {
    ok = false;
  }
  if (!ok) fail(ErrorCodes.VALIDATION_FAILED, 'uri must be an absolute URI');
  return uri;
}

/** grants argument of createTwin: '' , {"Org2MSP": "MANUFACTURER" | ["AUDITOR", ...]} or [GrantSpec, ...]. */
function parseCreationGrants(arg: string, now: number): GrantSpec[] {
  if (arg.trim() === '') return [];
  const v = parseJsonArg('grants', arg);
  if (Array.isArray(v)) return v.map((g, i) => parseGrantSpec(g, now, `grants[${i}]`));
  if (!isPlainObject(v)) fail(ErrorCodes.VALIDATION_FAILED, 'grants must be a JSON object or array');
  const out: GrantSpec[] = [];
  for (const [mspId, roles] of Object.entries(v)) {
    const list = Array.isArray(roles) ? roles : [roles];
    for (const role of list) {
      if (typeof role !== 'string' || !isRole(role)) fail(ErrorCodes.VALIDATION_FAILED, `grants.${mspId}: unknown role`);
      out.push(parseGrantSpec({ mspId, role }, now, `grants.${mspId}`));
    }
  }
  return out;
}

@Info({ title: 'SpecificationContract', description: 'Digital Twin specification (AML), documents, feeds, programs, history' })
export class SpecificationContract extends Contract {
  constructor() {
    super('spec');
  }

  // ---------------------------------------------------------------- twin and AML

  @Transaction()
  @Returns('string')
  async createTwin(ctx: Context, deviceId: string, deviceName: string, aml: string, grants: string): Promise<string> {
    const tx = new Tx(ctx);
    const twinId = requireTwinId(deviceId, 'deviceId');
    const name = requireText('deviceName', deviceName, { max: 256 });
    const extra = parseCreationGrants(typeof grants === 'string' ? grants : '', nowMs(tx));
    const doc = parseCaexDocument(aml);
    await requireNewTwin(tx, twinId);

    const meta: TwinMeta = {
      twinId,
      deviceId: twinId,
      deviceName: name,
      schemaVersion: doc.schemaVersion,
      header: doc.header,
      createdBy: tx.who,
      createdAt: tx.time.iso,
      txId: tx.txId,
    };
    tx.put(twinKey(twinId), meta);
    tx.touch('twin', twinId);
    const out = { ids: [] as string[], programs: [] as ProgramDefinition[] };
    storeNodes(tx, twinId, doc.hierarchies, '', 0, [null, null], out);
    await writeCreationGrants(tx, twinId, extra);
    await tx.commit({
      twinId,
      operation: 'createTwin',
      event: Events.TwinCreated,
      payload: { deviceId: twinId, deviceName: name, elements: out.ids.length },
    });
    return canonicalJson({
      twinId,
      deviceId: twinId,
      deviceName: name,
      schemaVersion: doc.schemaVersion,
      elements: out.ids.length,
      programs: out.programs.map((p) => ({ name: p.name, elementId: p.elementId })),
      txId: tx.txId,
    });
  }

  // ---------------------------------------------------------------- chunked creation (ADR-14)

  /**
   * Starts creating a twin too large for one transaction: `skeletonAml` is a whole CAEX
   * document (header, libraries, InstanceHierarchies with what fits), the rest follows in
   * `totalChunks` appendTwinChunk calls; `digest` is creationDigest of the chunk hashes
   * (0 = the skeleton) so the seal knows it got exactly what the creator split. Nothing is
   * visible to any reader until sealTwinCreation.
   */
  @Transaction()
  @Returns('string')
  async beginTwinCreation(ctx: Context, deviceId: string, deviceName: string, skeletonAml: string, grants: string, totalChunks: string, digest: string): Promise<string> {
    const tx = new Tx(ctx);
    const twinId = requireTwinId(deviceId, 'deviceId');
    const name = requireText('deviceName', deviceName, { max: 256 });
    const grantArg = typeof grants === 'string' ? grants : '';
    await writeCreationGrants(tx, twinId, parseCreationGrants(grantArg, nowMs(tx)), false);
    const total = parseChunkCount(totalChunks);
    const announced = requireHash('digest', digest);
    const doc = parseCaexDocument(skeletonAml);
    await requireNewTwin(tx, twinId);

    const out = { ids: [] as string[], programs: [] as ProgramDefinition[] };
    // Below the first chunk's bound: top-level hierarchies that chunks add come after these.
    storeNodes(tx, twinId, doc.hierarchies, '', 0, [null, chunkBound(1)], out);
    const creation: TwinCreation = {
      twinId,
      creationId: tx.txId,
      deviceName: name,
      schemaVersion: doc.schemaVersion,
      header: doc.header,
      grants: grantArg,
      totalChunks: total,
      digest: announced,
      status: 'OPEN',
      createdBy: tx.who,
      begunAt: tx.time.iso,
    };
    tx.putDerived(creationKey(twinId), creation);
    stageChunk(tx, twinId, 0, '', skeletonAml, countInternalElements(doc.hierarchies), out);
    await tx.commit({ operation: 'beginTwinCreation', event: Events.TwinCreationBegun, payload: { twinId, creationId: tx.txId, totalChunks: total }, stagedFor: twinId });
    return canonicalJson({ twinId, creationId: tx.txId, totalChunks: total, elements: out.ids.length, txId: tx.txId });
  }

  /**
   * Stages chunk `index` (1..totalChunks): InternalElements under `parentID` (an element the
   * skeleton or an earlier chunk holds), or InstanceHierarchies at the top level (`parentID`
   * ""), held to insertAML's fragment limits. Chunks take order keys by index, so they may
   * commit in any order. A retry of a staged chunk with the same content answers it again.
   */
  @Transaction()
  @Returns('string')
  async appendTwinChunk(ctx: Context, twinId: string, creationId: string, index: string, parentID: string, amlFragment: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const parentId = optionalId('parentID', parentID) ?? '';
    const creation = await requireOpenCreation(tx, twinId, creationId);
    const i = parseChunkIndex(index, creation);
    if (typeof amlFragment !== 'string') fail(ErrorCodes.VALIDATION_FAILED, 'amlFragment must be a string');
    const staged = await tx.state.get<CreationChunk>(creationChunkKey(twinId, i));
    if (staged) {
      if (staged.sha256 !== chunkHash(parentId, amlFragment)) fail(ErrorCodes.ALREADY_EXISTS, `chunk ${i} of the creation of twin ${twinId} is staged with other content`);
      return canonicalJson(chunkView(twinId, creation, staged));
    }
    const frag = parseCaexFragment(amlFragment, creation.schemaVersion);
    let depth = 0;
    if (parentId === '') {
      if (frag.kind !== 'InstanceHierarchy') fail(ErrorCodes.VALIDATION_FAILED, 'InternalElements need a parentID');
    } else {
      const parent = await requireElement(tx.state, twinId, parentId, 'parent');
      if (frag.kind !== 'InternalElement') fail(ErrorCodes.VALIDATION_FAILED, 'InstanceHierarchies go at the top level (parentID empty)');
      depth = parent.depth + 1;
    }
    // Unique across chunks: each ID's key is read here, so two chunks staging one ID
    // concurrently conflict (MVCC) and the later one, retried, is refused.
    await refuseExistingIds(tx.state, twinId, frag.nodes, new Set());
    checkAssembledDepth(frag.nodes, depth);
    const out = { ids: [] as string[], programs: [] as ProgramDefinition[] };
    storeNodes(tx, twinId, frag.nodes, parentId, depth, chunkGap(i), out);
    const chunk = stageChunk(tx, twinId, i, parentId, amlFragment, countInternalElements(frag.nodes), out);
    await tx.commit({
      operation: 'appendTwinChunk',
      event: Events.TwinChunkAppended,
      payload: { twinId, creationId: creation.creationId, index: i, elements: chunk.elements },
      stagedFor: twinId,
    });
    return canonicalJson(chunkView(twinId, creation, chunk));
  }

  /**
   * Makes the twin exist: every chunk staged, their hashes matching the digest announced at
   * begin, the whole within the document limits. Writes the twin's meta and grants; its change
   * header (operation createTwin) names the staged transactions as its parts.
   */
  @Transaction()
  @Returns('string')
  async sealTwinCreation(ctx: Context, twinId: string, creationId: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const creation = await requireOpenCreation(tx, twinId, creationId);
    const chunks = await creationChunks(tx.state, twinId);
    const missing = missingChunks(creation, chunks);
    if (missing.length > 0) {
      fail(ErrorCodes.INVALID_STATE, `chunks not staged yet: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', ...' : ''}`);
    }
    if (creationDigest(chunks.map((c) => c.sha256)) !== creation.digest) {
      fail(ErrorCodes.INVALID_STATE, 'the staged chunks do not match the digest announced at beginTwinCreation (abort and begin again)');
    }
    const elements = chunks.reduce((n, c) => n + c.elements, 0);
    if (elements > Limits.MAX_ELEMENTS_PER_TWIN) fail(ErrorCodes.TOO_LARGE, `more than ${Limits.MAX_ELEMENTS_PER_TWIN} InternalElements`);
    const bytes = chunks.reduce((n, c) => n + c.bytes, 0);
    if (bytes > Limits.MAX_AML_BYTES) fail(ErrorCodes.TOO_LARGE, `AML document is larger than ${Limits.MAX_AML_BYTES} bytes`);
    const extra = parseCreationGrants(creation.grants, nowMs(tx));

    const meta: TwinMeta = {
      twinId,
      deviceId: twinId,
      deviceName: creation.deviceName,
      schemaVersion: creation.schemaVersion,
      header: creation.header,
      createdBy: tx.who,
      createdAt: tx.time.iso,
      txId: tx.txId,
    };
    tx.put(twinKey(twinId), meta);
    tx.touch('twin', twinId);
    for (const c of chunks) for (const id of c.ids) tx.touch('element', id);
    await writeCreationGrants(tx, twinId, extra);
    tx.delDerived(creationKey(twinId));
    for (const c of chunks) tx.delDerived(creationChunkKey(twinId, c.index));
    const ids = chunks.reduce((n, c) => n + c.ids.length, 0);
    await tx.commit({
      twinId,
      operation: 'createTwin',
      event: Events.TwinCreated,
      payload: { deviceId: twinId, deviceName: creation.deviceName, elements: ids },
      parts: chunks.map((c) => ({ txId: c.txId, writes: c.writes })),
    });
    return canonicalJson({
      twinId,
      deviceId: twinId,
      deviceName: creation.deviceName,
      schemaVersion: creation.schemaVersion,
      elements: ids,
      programs: chunks.flatMap((c) => c.programs),
      creationId: creation.creationId,
      txId: tx.txId,
    });
  }

  /**
   * Undoes an unsealed creation, at most ABORT_CHUNKS_PER_CALL staged chunks per call (each
   * call a bounded transaction): answers `remainingChunks`; call again until it is 0, then the
   * twin ID is free and nothing of the attempt is left in the world state.
   */
  @Transaction()
  @Returns('string')
  async abortTwinCreation(ctx: Context, twinId: string, creationId: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const creation = await requireOwnCreation(tx, twinId, creationId);
    const chunks = await creationChunks(tx.state, twinId);
    const now = chunks.slice(-Limits.ABORT_CHUNKS_PER_CALL);
    for (const c of now) {
      // What the chunk wrote is exactly what it logged: delete those keys and the log itself.
      for (const e of await list<ChangeLogChunk>(tx.state, KeyTypes.changeWrite, [twinId, c.txId])) {
        for (const w of changeLogWrites(e.value)) if (w.value !== null) tx.del(w.key);
        tx.del(e.key);
      }
      tx.del(creationChunkKey(twinId, c.index));
    }
    const remaining = chunks.length - now.length;
    if (remaining === 0) tx.del(creationKey(twinId));
    else tx.put(creationKey(twinId), { ...creation, status: 'ABORTING' });
    await tx.commit({
      operation: 'abortTwinCreation',
      event: Events.TwinCreationAborted,
      payload: { twinId, creationId: creation.creationId, remainingChunks: remaining },
    });
    return canonicalJson({ twinId, creationId: creation.creationId, status: remaining === 0 ? 'ABORTED' : 'ABORTING', remainingChunks: remaining, txId: tx.txId });
  }

  /** The caller's creation of the twin under way: which chunks are staged, which are missing. */
  @Transaction(false)
  @Returns('string')
  async getTwinCreation(ctx: Context, twinId: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const creation = await requireOwnCreation(tx, twinId, undefined);
    const chunks = await creationChunks(tx.state, twinId);
    const { header: _header, grants: _grants, ...rest } = creation;
    return canonicalJson({
      ...rest,
      staged: chunks.map((c) => c.index),
      missing: missingChunks(creation, chunks),
      elements: chunks.reduce((n, c) => n + c.elements, 0),
      bytes: chunks.reduce((n, c) => n + c.bytes, 0),
    });
  }

  @Transaction()
  @Returns('string')
  async insertAML(ctx: Context, twinId: string, amlFragment: string, parentID: string, afterID: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const parentId = optionalId('parentID', parentID) ?? '';
    const afterId = optionalId('afterID', afterID);
    const meta = await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_WRITE);
    const plan = await planInsert(tx.state, meta, amlFragment, parentId, afterId);
    refuseSafetyEdit(await safetyImpact(tx.state, twinId, { insert: plan }));
    const out = applyInsert(tx, twinId, plan);
    await tx.commit({
      twinId,
      operation: 'insertAML',
      event: Events.AmlInserted,
      payload: { parentId, afterId: afterId ?? '', ids: out.ids },
    });
    return canonicalJson({ twinId, parentId, afterId: afterId ?? '', inserted: out.ids, programs: out.programs.map((p) => p.name), txId: tx.txId });
  }

  @Transaction()
  @Returns('string')
  async removeAML(ctx: Context, twinId: string, ID: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const id = requireId('ID', ID);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_WRITE);
    const plan = await planRemove(tx.state, twinId, id);
    refuseSafetyEdit(await safetyImpact(tx.state, twinId, { remove: plan }));
    const { removed, feedsRemoved } = await applyRemove(tx, twinId, plan);
    await tx.commit({ twinId, operation: 'removeAML', event: Events.AmlRemoved, payload: { id, removed, feedsRemoved } });
    return canonicalJson({ twinId, id, removed, feedsRemoved, txId: tx.txId });
  }

  // ---------------------------------------------------------------- safety changes (four eyes)

  /**
   * Proposes a change of safety content (README "Safety rules"): `operation` insertAML,
   * removeAML or replaceAML with `changeJson` {amlFragment, parentID?, afterID?} / {ID} /
   * {ID, amlFragment}. Planned now against the current specification (so it must be valid and
   * must touch safety content) and stored pending with that revision; nothing in the
   * specification changes until another organization approves.
   */
  @Transaction()
  @Returns('string')
  async proposeSafetyChange(ctx: Context, twinId: string, operation: string, changeJson: string, reason: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const op = parseSafetyOperation(operation);
    const change = parseSafetyChange(op, changeJson);
    const why = requireText('reason', reason ?? '', { allowEmpty: true });
    const meta = await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SAFETY_WRITE);
    const impact = await safetyImpact(tx.state, twinId, await planSafetyChange(tx.state, meta, op, change));
    if (!touchesSafety(impact)) {
      fail(ErrorCodes.VALIDATION_FAILED, 'the change touches no safety content (no program, interlock or safe state): use insertAML/removeAML');
    }
    const proposalId = ((await tx.state.get<number>(proposalCounterKey(twinId))) ?? 0) + 1;
    const proposal: SafetyProposal = {
      twinId,
      proposalId,
      operation: op,
      change,
      reason: why,
      baseRevision: await specRevision(tx, twinId),
      impact,
      status: 'PENDING',
      proposedBy: tx.who,
      proposedAt: tx.time.iso,
      txId: tx.txId,
    };
    tx.put(proposalCounterKey(twinId), proposalId);
    tx.put(proposalKey(twinId, proposalId), proposal);
    tx.put(proposalPendingKey(twinId, proposalId), { proposalId });
    tx.touch('safetyProposal', String(proposalId));
    await tx.commit({
      twinId,
      operation: 'proposeSafetyChange',
      event: Events.SafetyChangeProposed,
      payload: { proposalId, operation: op, elements: [...impact.removed, ...impact.inserted].map((e) => e.id) },
    });
    return canonicalJson(proposal);
  }

  /**
   * The second pair of eyes: a safety:write holder of another organization than the
   * proposer's applies the proposal, provided the specification is still at the revision it
   * was proposed on (else STALE_PROPOSAL: propose again against what is there now).
   */
  @Transaction()
  @Returns('string')
  async approveSafetyChange(ctx: Context, twinId: string, proposalId: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const id = parseSequenceId('proposalId', proposalId);
    const meta = await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SAFETY_WRITE);
    const proposal = await requirePendingProposal(tx, twinId, id);
    if (proposal.proposedBy.mspId === tx.caller.mspId) {
      fail(ErrorCodes.SELF_APPROVAL, `safety change ${id} was proposed by ${tx.caller.mspId}; another organization holding safety:write must approve it`);
    }
    // Two organizations must stand behind the change when it is applied, not only when it was
    // proposed: a proposer whose safety:write was revoked (say, by the approver) no longer does.
    const proposer = await accessOf(tx.state, twinId, proposal.proposedBy.mspId, proposal.proposedBy.id, nowMs(tx), ledgerClock(tx, twinId));
    if (!proposer.permissions.includes(Permissions.SAFETY_WRITE)) {
      fail(ErrorCodes.STALE_PROPOSAL, `the proposer of safety change ${id} (${proposal.proposedBy.mspId}) no longer holds safety:write on twin ${twinId}; propose again`);
    }
    // Read in this transaction: a concurrent spec write invalidates the approval (MVCC) too.
    const revision = await specRevision(tx, twinId);
    if (revision !== proposal.baseRevision) {
      fail(ErrorCodes.STALE_PROPOSAL, `the specification changed since safety change ${id} was proposed (revision ${proposal.baseRevision || '""'}, now ${revision || '""'})`);
    }
    const plan = await planSafetyChange(tx.state, meta, proposal.operation, proposal.change);
    const removed = plan.remove ? await applyRemove(tx, twinId, plan.remove) : { removed: [], feedsRemoved: [] };
    const inserted = plan.insert ? applyInsert(tx, twinId, plan.insert) : { ids: [], programs: [] };
    const done: SafetyProposal = {
      ...proposal,
      status: 'APPLIED',
      decision: { status: 'APPLIED', reason: '', by: tx.who, at: tx.time.iso, txId: tx.txId },
    };
    tx.put(proposalKey(twinId, id), done);
    tx.del(proposalPendingKey(twinId, id));
    tx.touch('safetyProposal', String(id));
    await tx.commit({
      twinId,
      operation: 'approveSafetyChange',
      event: Events.SafetyChangeApproved,
      payload: {
        proposalId: id,
        operation: proposal.operation,
        proposedBy: proposal.proposedBy.mspId,
        removed: removed.removed,
        feedsRemoved: removed.feedsRemoved,
        inserted: inserted.ids,
      },
    });
    return canonicalJson({ ...done, removed: removed.removed, feedsRemoved: removed.feedsRemoved, inserted: inserted.ids });
  }

  /** Declines a pending proposal; any safety:write holder may, the proposer's organization included (withdrawal). */
  @Transaction()
  @Returns('string')
  async rejectSafetyChange(ctx: Context, twinId: string, proposalId: string, reason: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const id = parseSequenceId('proposalId', proposalId);
    const why = requireText('reason', reason ?? '', { allowEmpty: true });
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SAFETY_WRITE);
    const proposal = await requirePendingProposal(tx, twinId, id);
    const done: SafetyProposal = {
      ...proposal,
      status: 'REJECTED',
      decision: { status: 'REJECTED', reason: why, by: tx.who, at: tx.time.iso, txId: tx.txId },
    };
    tx.put(proposalKey(twinId, id), done);
    tx.del(proposalPendingKey(twinId, id));
    tx.touch('safetyProposal', String(id));
    await tx.commit({ twinId, operation: 'rejectSafetyChange', event: Events.SafetyChangeRejected, payload: { proposalId: id } });
    return canonicalJson(done);
  }

  /**
   * Safety change proposals in id order, one page (README "Pages"); `status` '' = all, else
   * PENDING, APPLIED or REJECTED (a filtered page may hold fewer than pageSize).
   */
  @Transaction(false)
  @Returns('string')
  async listSafetyProposals(ctx: Context, twinId: string, status: string, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const want = typeof status === 'string' && status !== '' ? status : undefined;
    if (want !== undefined && !(ProposalStatuses as readonly string[]).includes(want)) {
      fail(ErrorCodes.VALIDATION_FAILED, `status must be '', ${ProposalStatuses.join(', ')}`);
    }
    const page = parsePage(pageSize, bookmark);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    if (want === 'PENDING') {
      // The pending index keeps this one range read however many proposals were decided.
      return canonicalJson(
        await pageOf<{ proposalId: number }, SafetyProposal>(tx.state, KeyTypes.safetyPending, [twinId], page, (e) =>
          tx.state.get<SafetyProposal>(proposalKey(twinId, e.value.proposalId)),
        ),
      );
    }
    return canonicalJson(
      await pageOf<SafetyProposal>(tx.state, KeyTypes.safetyProposal, [twinId], page, (e) => (want === undefined || e.value.status === want ? e.value : undefined)),
    );
  }

  @Transaction(false)
  @Returns('string')
  async getSafetyProposal(ctx: Context, twinId: string, proposalId: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const id = parseSequenceId('proposalId', proposalId);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    const p = await tx.state.get<SafetyProposal>(proposalKey(twinId, id));
    if (!p) fail(ErrorCodes.NOT_FOUND, `safety change ${id} does not exist in twin ${twinId}`);
    return canonicalJson(p);
  }

  @Transaction(false)
  @Returns('string')
  async getTwin(ctx: Context, twinId: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const meta = await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    return canonicalJson(twinView(meta));
  }

  /**
   * The twins the caller may read (spec:read), in twin ID order, one page: for services that
   * reconcile all twins (they follow the bookmarks). A page may hold fewer than pageSize twins
   * (those the caller may not read are left out), even none, and still have a next page.
   */
  @Transaction(false)
  @Returns('string')
  async listTwins(ctx: Context, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    const page = parsePage(pageSize, bookmark);
    return canonicalJson(
      await pageOf<TwinMeta, ReturnType<typeof twinView>>(tx.state, KeyTypes.twin, [], page, async ({ value }) =>
        (await callerAccess(tx, value.twinId)).permissions.includes(Permissions.SPEC_READ) ? twinView(value) : undefined,
      ),
    );
  }

  @Transaction(false)
  @Returns('string')
  async getSpecification(ctx: Context, twinId: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const meta = await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    // Read in the same simulation as the elements, so the revision names exactly this content.
    const revision = await specRevision(tx, twinId);
    return canonicalJson({ twinId, schemaVersion: meta.schemaVersion, revision, aml: await assembleSpecification(tx.state, meta) });
  }

  /**
   * The revision of the twin's specification only: the txId of the last transaction that
   * changed it ('' for a twin whose specification was last written before revisions were
   * recorded). Checked like getSpecification, so a reader that caches the specification per
   * revision asks the ledger on every request whether this caller may read it.
   */
  @Transaction(false)
  @Returns('string')
  async getSpecificationRevision(ctx: Context, twinId: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const meta = await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    return canonicalJson({ twinId, schemaVersion: meta.schemaVersion, revision: await specRevision(tx, twinId) });
  }

  @Transaction(false)
  @Returns('string')
  async getElement(ctx: Context, twinId: string, ID: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const id = requireId('ID', ID);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    const rec = await requireElement(tx.state, twinId, id);
    return canonicalJson(await elementView(tx.state, twinId, rec));
  }

  // ---------------------------------------------------------------- documents

  @Transaction()
  @Returns('string')
  async addDocument(ctx: Context, twinId: string, docJson: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const v = parseJsonArg('docJson', docJson);
    if (!isPlainObject(v)) fail(ErrorCodes.VALIDATION_FAILED, 'docJson must be a JSON object');
    onlyKeys('docJson', v, ['hash', 'dhtRef', 'title', 'description', 'componentId', 'confidentiality']);
    const hash = requireHash('hash', v.hash);
    const dhtRef = requireText('dhtRef', v.dhtRef, { max: MAX_REF });
    const title = requireText('title', v.title, { max: 256 });
    const description = requireText('description', v.description ?? '', { allowEmpty: true });
    const componentId = optionalId('componentId', v.componentId);
    const level = v.confidentiality;
    if (typeof level !== 'string' || !isLevel(level)) {
      fail(ErrorCodes.VALIDATION_FAILED, 'confidentiality must be public, internal, confidential or secret');
    }
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, docWrite(level));
    if (componentId !== undefined) await requireElement(tx.state, twinId, componentId, 'component');
    if (await tx.state.get(docHashKey(twinId, hash))) fail(ErrorCodes.ALREADY_EXISTS, `a document with hash ${hash} exists`);

    const doc: DocumentRecord = {
      twinId,
      hash,
      dhtRef,
      title,
      description,
      confidentiality: level,
      owner: tx.who,
      timestamp: tx.time.iso,
      txId: tx.txId,
      versionCount: 1,
      latest: { version: 1, hash, dhtRef },
    };
    if (componentId !== undefined) doc.componentId = componentId;
    const version: DocumentVersion = { twinId, originalHash: hash, version: 1, hash, dhtRef, addedBy: tx.who, timestamp: tx.time.iso, txId: tx.txId };
    tx.put(docKey(twinId, hash), doc);
    tx.put(docVersionKey(twinId, hash, 1), version);
    tx.put(docHashKey(twinId, hash), { originalHash: hash });
    tx.touch('document', hash);
    await tx.commit({
      twinId,
      operation: 'addDocument',
      event: Events.DocumentAdded,
      payload: { hash, confidentiality: level, componentId: componentId ?? '' },
    });
    return canonicalJson(doc);
  }

  @Transaction()
  @Returns('string')
  async addDocumentVersion(ctx: Context, twinId: string, originalHash: string, newHash: string, dhtRef: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const orig = requireHash('originalHash', originalHash);
    const hash = requireHash('newHash', newHash);
    const ref = requireText('dhtRef', dhtRef, { max: MAX_REF });
    await requireTwin(tx.state, twinId);
    const doc = await tx.state.get<DocumentRecord>(docKey(twinId, orig));
    if (!doc) fail(ErrorCodes.NOT_FOUND, `document ${orig} does not exist`);
    await requirePermission(tx, twinId, docWrite(doc.confidentiality));
    if (await tx.state.get(docHashKey(twinId, hash))) fail(ErrorCodes.ALREADY_EXISTS, `a document with hash ${hash} exists`);
    const n = doc.versionCount + 1;
    const version: DocumentVersion = { twinId, originalHash: orig, version: n, hash, dhtRef: ref, addedBy: tx.who, timestamp: tx.time.iso, txId: tx.txId };
    tx.put(docKey(twinId, orig), { ...doc, versionCount: n, latest: { version: n, hash, dhtRef: ref } });
    tx.put(docVersionKey(twinId, orig, n), version);
    tx.put(docHashKey(twinId, hash), { originalHash: orig });
    tx.touch('document', orig);
    await tx.commit({
      twinId,
      operation: 'addDocumentVersion',
      event: Events.DocumentVersionAdded,
      payload: { originalHash: orig, hash, version: n },
    });
    return canonicalJson(version);
  }

  @Transaction()
  @Returns('string')
  async removeDocument(ctx: Context, twinId: string, hash: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const h = requireHash('hash', hash);
    await requireTwin(tx.state, twinId);
    const idx = await tx.state.get<{ originalHash: string }>(docHashKey(twinId, h));
    const doc = idx ? await tx.state.get<DocumentRecord>(docKey(twinId, idx.originalHash)) : undefined;
    if (!doc) fail(ErrorCodes.NOT_FOUND, `document ${h} does not exist`);
    await requirePermission(tx, twinId, docWrite(doc.confidentiality));
    const versions = await documentVersions(tx.state, twinId, doc.hash);
    tx.del(docKey(twinId, doc.hash));
    for (const v of versions) {
      tx.del(docVersionKey(twinId, doc.hash, v.version));
      tx.del(docHashKey(twinId, v.hash));
    }
    tx.touch('document', doc.hash);
    await tx.commit({ twinId, operation: 'removeDocument', event: Events.DocumentRemoved, payload: { hash: doc.hash } });
    return canonicalJson({ twinId, hash: doc.hash, removedVersions: versions.map((v) => v.hash), txId: tx.txId });
  }

  @Transaction(false)
  @Returns('string')
  async listDocuments(ctx: Context, twinId: string, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const page = parsePage(pageSize, bookmark);
    await requireTwin(tx.state, twinId);
    const access = await callerAccess(tx, twinId);
    // A caller who may read no document of the twin at all is refused, like every other read of
    // a twin it holds no grant on: an empty 200 would still confirm the twin and serve its
    // route. Documents above the caller's read levels are left out rather than refused.
    if (!access.permissions.some((p) => p.startsWith('doc:read:'))) throw denied(tx.caller, twinId, docRead('public'));
    return canonicalJson(
      await pageOf<DocumentRecord>(tx.state, KeyTypes.document, [twinId], page, (e) =>
        access.permissions.includes(docRead(e.value.confidentiality)) ? e.value : undefined,
      ),
    );
  }

  /**
   * The document, its versions and one page of its key's ledger history (newest first):
   * `bookmark` is '' or what the previous page answered (a txId).
   */
  @Transaction(false)
  @Returns('string')
  async getDocumentHistory(ctx: Context, twinId: string, hash: string, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const h = requireHash('hash', hash);
    const size = parsePageSize(pageSize);
    const after = bookmark === undefined || bookmark === '' ? '' : requireHash('bookmark', bookmark);
    await requireTwin(tx.state, twinId);
    const idx = await tx.state.get<{ originalHash: string }>(docHashKey(twinId, h));
    const original = idx?.originalHash ?? h;
    const doc = await tx.state.get<DocumentRecord>(docKey(twinId, original));
    const history = await ledgerHistory(tx.stub, docKey(twinId, original), createdHere);
    const last = doc ?? (history.find((e) => !e.isDelete)?.value as DocumentRecord | undefined);
    if (!last) fail(ErrorCodes.NOT_FOUND, `document ${h} has no history in twin ${twinId}`);
    await requirePermission(tx, twinId, docRead(last.confidentiality));
    // One read of the key's history serves both the access check above and the page.
    const page = ledgerHistoryPage(history, size, after);
    return canonicalJson({
      twinId,
      hash: original,
      removed: doc === undefined,
      document: doc ?? null,
      versions: doc ? await documentVersions(tx.state, twinId, original) : [],
      ledgerHistory: page.items,
      bookmark: page.bookmark,
    });
  }

  /**
   * Records that the DHT object holding one document version now has ACL `aclVersion` with
   * `parties` (after a grant, revoke, expiry or re-key). Only a member of the organization
   * that uploaded that version may record it: in the DHT only the uploader's key may change
   * the object's ACL, so only its key manager knows the truth to record.
   */
  @Transaction()
  @Returns('string')
  async recordAccessChange(ctx: Context, twinId: string, hash: string, aclVersion: string, partiesJson: string, head: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const h = requireHash('hash', hash);
    const n = requireAclVersion(aclVersion);
    const parties = parseAclParties(partiesJson);
    const newHead = head === '' ? undefined : requireText('head', head, { max: MAX_REF });
    await requireTwin(tx.state, twinId);
    const idx = await tx.state.get<{ originalHash: string }>(docHashKey(twinId, h));
    const version = idx ? (await documentVersions(tx.state, twinId, idx.originalHash)).find((v) => v.hash === h) : undefined;
    if (!idx || !version) fail(ErrorCodes.NOT_FOUND, `document version ${h} does not exist in twin ${twinId}`);
    if (version.addedBy.mspId !== tx.caller.mspId) {
      fail(ErrorCodes.ACCESS_DENIED, `only ${version.addedBy.mspId}, which uploaded document version ${h}, may record its access changes`);
    }
    for (const p of parties) {
      if (!(await tx.state.get(partyKey(p)))) fail(ErrorCodes.VALIDATION_FAILED, `party ${p} is not registered`);
    }
    const prev = await tx.state.get<AccessRecord>(docAccessKey(twinId, h));
    if (prev && n <= prev.aclVersion) fail(ErrorCodes.INVALID_STATE, `aclVersion ${n} is not above the recorded ${prev.aclVersion}`);
    const rec: AccessRecord = {
      twinId,
      originalHash: idx.originalHash,
      hash: h,
      version: version.version,
      dhtRef: version.dhtRef,
      aclVersion: n,
      parties,
      previousTxId: prev?.txId ?? '',
      recordedBy: tx.who,
      timestamp: tx.time.iso,
      txId: tx.txId,
    };
    if (newHead !== undefined) rec.head = newHead;
    tx.put(docAccessKey(twinId, h), rec);
    tx.touch('document', idx.originalHash);
    await tx.commit({
      twinId,
      operation: 'recordAccessChange',
      event: Events.DocumentAccessChanged,
      payload: { hash: h, originalHash: idx.originalHash, aclVersion: n, parties, head: newHead ?? '' },
    });
    return canonicalJson(rec);
  }

  /** The access record of one document version and its ledger history (newest first). */
  @Transaction(false)
  @Returns('string')
  async getAccessRecord(ctx: Context, twinId: string, hash: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const h = requireHash('hash', hash);
    await requireTwin(tx.state, twinId);
    const idx = await tx.state.get<{ originalHash: string }>(docHashKey(twinId, h));
    const doc = idx ? await tx.state.get<DocumentRecord>(docKey(twinId, idx.originalHash)) : undefined;
    if (!doc) fail(ErrorCodes.NOT_FOUND, `document version ${h} does not exist in twin ${twinId}`);
    await requirePermission(tx, twinId, docRead(doc.confidentiality));
    const record = (await tx.state.get<AccessRecord>(docAccessKey(twinId, h))) ?? null;
    return canonicalJson({ twinId, hash: h, originalHash: doc.hash, record, history: await ledgerHistory(tx.stub, docAccessKey(twinId, h), firstAccessRecord) });
  }

  // ---------------------------------------------------------------- external sources

  @Transaction()
  @Returns('string')
  async addExternalSource(ctx: Context, twinId: string, uri: string, description: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const u = requireUri(uri);
    const d = requireText('description', description, { allowEmpty: true });
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_WRITE);
    if (await tx.state.get(extKey(twinId, u))) fail(ErrorCodes.ALREADY_EXISTS, `external source ${u} is already registered`);
    const src: ExternalSource = { twinId, uri: u, description: d, owner: tx.who, timestamp: tx.time.iso, txId: tx.txId };
    tx.put(extKey(twinId, u), src);
    tx.touch('externalSource', u);
    await tx.commit({ twinId, operation: 'addExternalSource', event: Events.ExternalSourceAdded, payload: { uri: u } });
    return canonicalJson(src);
  }

  @Transaction()
  @Returns('string')
  async removeExternalSource(ctx: Context, twinId: string, uri: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const u = requireText('uri', uri, { max: 2048 });
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_WRITE);
    if (!(await tx.state.get(extKey(twinId, u)))) fail(ErrorCodes.NOT_FOUND, `external source ${u} is not registered`);
    tx.del(extKey(twinId, u));
    tx.touch('externalSource', u);
    await tx.commit({ twinId, operation: 'removeExternalSource', event: Events.ExternalSourceRemoved, payload: { uri: u } });
    return canonicalJson({ twinId, uri: u, txId: tx.txId });
  }

  @Transaction(false)
  @Returns('string')
  async listExternalSources(ctx: Context, twinId: string, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const page = parsePage(pageSize, bookmark);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    return canonicalJson(await pageOf<ExternalSource>(tx.state, KeyTypes.external, [twinId], page));
  }

  // ---------------------------------------------------------------- sensor feeds

  @Transaction()
  @Returns('string')
  async addSensorFeed(ctx: Context, twinId: string, componentId: string, feedRef: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const c = requireId('componentId', componentId);
    const ref = requireText('feedRef', feedRef, { max: MAX_REF });
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.FEED_REGISTER);
    await requireElement(tx.state, twinId, c, 'component');
    if (await tx.state.get(feedKey(twinId, c))) fail(ErrorCodes.ALREADY_EXISTS, `component ${c} already has a feed`);
    const feed: SensorFeed = { twinId, componentId: c, feedRef: ref, registeredBy: tx.who, timestamp: tx.time.iso, txId: tx.txId };
    tx.put(feedKey(twinId, c), feed);
    tx.touch('feed', c);
    await tx.commit({ twinId, operation: 'addSensorFeed', event: Events.SensorFeedAdded, payload: { componentId: c, feedRef: ref } });
    return canonicalJson(feed);
  }

  @Transaction()
  @Returns('string')
  async removeSensorFeed(ctx: Context, twinId: string, componentId: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const c = requireId('componentId', componentId);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.FEED_REGISTER);
    if (!(await tx.state.get(feedKey(twinId, c)))) fail(ErrorCodes.NOT_FOUND, `component ${c} has no feed`);
    tx.del(feedKey(twinId, c));
    tx.touch('feed', c);
    await tx.commit({ twinId, operation: 'removeSensorFeed', event: Events.SensorFeedRemoved, payload: { componentId: c } });
    return canonicalJson({ twinId, componentId: c, txId: tx.txId });
  }

  @Transaction(false)
  @Returns('string')
  async listSensorFeeds(ctx: Context, twinId: string, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const page = parsePage(pageSize, bookmark);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.FEED_READ);
    return canonicalJson(await pageOf<SensorFeed>(tx.state, KeyTypes.feed, [twinId], page));
  }

  /**
   * Commits a Merkle root over the feed's update records fromIndex..toIndex (ADR-18). Only the
   * organization that registered the feed, with feed:register on the twin, and only for the
   * feed the ledger records for the component; anchors are contiguous from index 0 (fromIndex
   * is the last anchor's toIndex + 1), so no index ever gets a second root. Not a change of the
   * twin: it writes no change header (see KeyTypes.feedAnchor).
   */
  @Transaction()
  @Returns('string')
  async anchorFeedRoot(ctx: Context, twinId: string, componentId: string, feedId: string, fromIndex: string, toIndex: string, root: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const c = requireId('componentId', componentId);
    const fid = requireHash('feedId', feedId);
    const { from, to } = requireAnchorRange(fromIndex, toIndex);
    const r = requireHash('root', root);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.FEED_REGISTER);
    const feed = await tx.state.get<SensorFeed>(feedKey(twinId, c));
    if (!feed) fail(ErrorCodes.NOT_FOUND, `component ${c} has no feed`);
    if (feed.feedRef !== fid) fail(ErrorCodes.NOT_FOUND, `the feed of component ${c} is not ${fid}`);
    // feed:register is held by several roles; the root is evidence about one owner's records.
    if (feed.registeredBy.mspId !== tx.caller.mspId) {
      fail(ErrorCodes.ACCESS_DENIED, `only ${feed.registeredBy.mspId}, which registered the feed, anchors it; ${tx.caller.mspId} may not`);
    }
    const tipKey = compositeKey(KeyTypes.feedAnchorTip, [twinId, fid]);
    const tip = await tx.state.get<FeedAnchor>(tipKey);
    const next = tip ? tip.toIndex + 1 : 0;
    if (from !== next) fail(ErrorCodes.INVALID_STATE, `the next anchor of feed ${fid} starts at index ${next}, not ${from}`);
    const anchor: FeedAnchor = { twinId, componentId: c, feedId: fid, fromIndex: from, toIndex: to, root: r, anchoredBy: tx.who, timestamp: tx.time.iso, txId: tx.txId };
    tx.put(compositeKey(KeyTypes.feedAnchor, [twinId, fid, pad(from, 16)]), anchor);
    tx.put(tipKey, anchor);
    await tx.commit({ operation: 'anchorFeedRoot', event: Events.FeedRootAnchored, payload: { twinId, componentId: c, feedId: fid, fromIndex: from, toIndex: to, root: r } });
    return canonicalJson(anchor);
  }

  /** The anchors of one feed of the twin, by fromIndex ascending (needs feed:read). */
  @Transaction(false)
  @Returns('string')
  async listFeedAnchors(ctx: Context, twinId: string, feedId: string, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const fid = requireHash('feedId', feedId);
    const page = parsePage(pageSize, bookmark);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.FEED_READ);
    return canonicalJson(await pageOf<FeedAnchor>(tx.state, KeyTypes.feedAnchor, [twinId, fid], page));
  }

  /** The latest anchor of every anchored feed of the twin (needs feed:read). */
  @Transaction(false)
  @Returns('string')
  async listFeedAnchorTips(ctx: Context, twinId: string, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const page = parsePage(pageSize, bookmark);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.FEED_READ);
    return canonicalJson(await pageOf<FeedAnchor>(tx.state, KeyTypes.feedAnchorTip, [twinId], page));
  }

  // ---------------------------------------------------------------- programs

  @Transaction(false)
  @Returns('string')
  async listPrograms(ctx: Context, twinId: string, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const page = parsePage(pageSize, bookmark);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    return canonicalJson(await pageOf<ProgramDefinition>(tx.state, KeyTypes.program, [twinId], page));
  }

  /**
   * Queues a call. `requestId` (the caller's, e.g. a UUID) makes it idempotent: the same
   * organization calling again with the same ID and arguments gets the first call back and
   * nothing is queued; with other arguments, REQUEST_ID_CONFLICT. `ttlSeconds` ('' = the
   * default) sets how long the device agent may still execute it.
   */
  @Transaction()
  @Returns('string')
  async callProgram(ctx: Context, twinId: string, programName: string, parametersJson: string, requestId: string, ttlSeconds: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const name = requireId('programName', programName);
    const raw = typeof parametersJson === 'string' && parametersJson.trim() === '' ? {} : parseJsonArg('parametersJson', parametersJson);
    if (!isPlainObject(raw)) fail(ErrorCodes.VALIDATION_FAILED, 'parametersJson must be a JSON object of parameter name to value');
    const reqId = requireRequestId(requestId);
    const ttl = parseTtl(ttlSeconds);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.PROGRAM_CALL);
    // The arguments as the caller gave them (not as the program now reads them), so a retry
    // matches its first attempt even after the program's definition changed in between.
    const fingerprint = createHash('sha256').update(canonicalJson({ programName: name, parameters: raw, ttlSeconds: ttl.asked })).digest('hex');
    const reqKey = callRequestKey(twinId, tx.caller.mspId, reqId);
    const seen = await tx.state.get<CallRequest>(reqKey);
    if (seen) {
      if (seen.fingerprint !== fingerprint) {
        fail(ErrorCodes.REQUEST_ID_CONFLICT, `request ${reqId} of ${tx.caller.mspId} was call ${seen.callId}, with other arguments`);
      }
      const first = await tx.state.get<ProgramCall>(callKey(twinId, seen.callId));
      if (!first) fail(ErrorCodes.NOT_FOUND, `program call ${seen.callId} does not exist`);
      // No write and no event: the retry is answered from the ledger and queues nothing.
      return canonicalJson(first);
    }
    const program = await resolveProgram(tx.state, twinId, name);
    const parameters = checkCall(program, raw);
    const callId = ((await tx.state.get<number>(counterKey(twinId))) ?? 0) + 1;
    const expiresAt = new Date(nowMs(tx) + ttl.seconds * 1000).toISOString();
    const call: ProgramCall = {
      twinId,
      callId,
      programName: program.name,
      programElementId: program.elementId,
      parameters,
      status: 'PENDING',
      requestedBy: tx.who,
      requestedAt: tx.time.iso,
      requestId: reqId,
      expiresAt,
      txId: tx.txId,
    };
    const request: CallRequest = { callId, fingerprint };
    tx.put(counterKey(twinId), callId);
    tx.put(callKey(twinId, callId), call);
    tx.put(pendingKey(twinId, callId), { callId });
    tx.put(reqKey, request);
    tx.touch('programCall', String(callId));
    await tx.commit({
      twinId,
      operation: 'callProgram',
      event: Events.ProgramCalled,
      payload: { callId, programName: program.name, programElementId: program.elementId, parameters, requestId: reqId, expiresAt },
    });
    return canonicalJson(call);
  }

  /** The call the caller's organization queued under `requestId` (after an OUTCOME_UNKNOWN answer, say). */
  @Transaction(false)
  @Returns('string')
  async getProgramCallByRequest(ctx: Context, twinId: string, requestId: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const reqId = requireRequestId(requestId);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    const seen = await tx.state.get<CallRequest>(callRequestKey(twinId, tx.caller.mspId, reqId));
    if (!seen) fail(ErrorCodes.NOT_FOUND, `${tx.caller.mspId} queued no call with request ${reqId} on twin ${twinId}`);
    const call = await tx.state.get<ProgramCall>(callKey(twinId, seen.callId));
    if (!call) fail(ErrorCodes.NOT_FOUND, `program call ${seen.callId} does not exist`);
    return canonicalJson(call);
  }

  @Transaction()
  @Returns('string')
  async acknowledgeProgramCall(ctx: Context, twinId: string, callId: string, status: string, resultJson: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const id = parseCallId(callId);
    if (typeof status !== 'string' || status === 'PENDING' || !(CallStatuses as readonly string[]).includes(status)) {
      fail(ErrorCodes.VALIDATION_FAILED, 'status must be EXECUTED, FAILED, REJECTED or EXPIRED');
    }
    const result = typeof resultJson === 'string' && resultJson.trim() === '' ? null : parseJsonArg('resultJson', resultJson);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.PROGRAM_ACK);
    const call = await tx.state.get<ProgramCall>(callKey(twinId, id));
    if (!call) fail(ErrorCodes.NOT_FOUND, `program call ${id} does not exist`);
    if (call.status !== 'PENDING') fail(ErrorCodes.INVALID_STATE, `program call ${id} is already ${call.status}`);
    const done: ProgramCall = {
      ...call,
      status: status as CallStatus,
      acknowledgement: { status: status as CallStatus, result, by: tx.who, at: tx.time.iso, txId: tx.txId },
    };
    tx.put(callKey(twinId, id), done);
    tx.del(pendingKey(twinId, id));
    tx.touch('programCall', String(id));
    await tx.commit({
      twinId,
      operation: 'acknowledgeProgramCall',
      event: Events.ProgramCallAcknowledged,
      payload: { callId: id, status },
    });
    return canonicalJson(done);
  }

  @Transaction(false)
  @Returns('string')
  async listPendingProgramCalls(ctx: Context, twinId: string, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const page = parsePage(pageSize, bookmark);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    return canonicalJson(
      await pageOf<{ callId: number }, ProgramCall>(tx.state, KeyTypes.pending, [twinId], page, (e) => tx.state.get<ProgramCall>(callKey(twinId, e.value.callId))),
    );
  }

  @Transaction(false)
  @Returns('string')
  async getProgramCall(ctx: Context, twinId: string, callId: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const id = parseCallId(callId);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    const call = await tx.state.get<ProgramCall>(callKey(twinId, id));
    if (!call) fail(ErrorCodes.NOT_FOUND, `program call ${id} does not exist`);
    return canonicalJson(call);
  }

  // ---------------------------------------------------------------- audit

  /**
   * The twin's changes (or those touching one element) in ledger order, one page: `bookmark`
   * '' = from seq 1, else the seq the previous page answered as its bookmark; the answer's
   * bookmark is the seq where the next page starts, '' after the last change.
   */
  @Transaction(false)
  @Returns('string')
  async history(ctx: Context, twinId: string, elementId: string, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const el = optionalId('elementId', elementId);
    const size = parsePageSize(pageSize);
    const fromSeq = bookmark === undefined || bookmark === '' ? 1 : parseSequenceId('bookmark', bookmark);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    // Ledger order with sequence numbers; the recorded timestamps play no part in it.
    const headers = await changeOrder(tx.stub, twinId);
    const matching = el === undefined ? headers : headers.filter((h) => h.targets.some((t) => t.kind === 'element' && t.id === el));
    const rest = matching.filter((h) => h.seq >= fromSeq);
    const changes = rest.slice(0, size);
    const next = rest[size]?.seq;
    const page = { changes, bookmark: next === undefined ? '' : String(next) };
    if (el === undefined) return canonicalJson({ twinId, ...page });
    // The element key's own modifications, each on the page of its seq: [fromSeq, next).
    const byTx = new Map(headers.map((h) => [h.txId, h]));
    // A chunked creation's element writes carry their chunk's txId: they belong to the seal.
    for (const h of headers) for (const p of h.parts ?? []) byTx.set(p.txId, h);
    const all = (await ledgerHistory(tx.stub, elementKey(twinId, el))).map((e) => {
      const h = byTx.get(e.txId);
      return { ...e, seq: h?.seq ?? null, mspId: h?.mspId ?? null, creator: h?.creator ?? null, operation: h?.operation ?? null };
    });
    if (matching.length === 0 && all.length === 0) fail(ErrorCodes.NOT_FOUND, `element ${el} has no history in twin ${twinId}`);
    // Oldest first, like `changes`, so that pages joined in order stay in ledger order (the
    // peer answers a key history newest first). Not cut by the peer: every write of a twin's
    // key is one of its changes, so this key has at most as many modifications as the change
    // order read whole above, and the peer's query limit (one value) let that through.
    const ledger = all.filter((e) => e.seq !== null && e.seq >= fromSeq && (next === undefined || e.seq < next)).reverse();
    return canonicalJson({ twinId, elementId: el, ...page, ledgerHistory: ledger });
  }

  @Transaction(false)
  @Returns('string')
  async getTwinAsOf(ctx: Context, twinId: string, at: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const bound = parseAsOf(at);
    await requireTwin(tx.state, twinId);
    const access = await requirePermission(tx, twinId, Permissions.SPEC_READ);

    // A prefix of the ledger order, never a selection by time: see prefixLength.
    const order = await changeOrderWithLog(tx.stub, twinId);
    if (order.length === 0) {
      fail(ErrorCodes.INVALID_STATE, `twin ${twinId} has no change order (created before changes were sequenced; the ledger needs a fresh start)`);
    }
    const n = prefixLength(order, bound);
    if (n === 0) {
      if ('txId' in bound) fail(ErrorCodes.NOT_FOUND, `transaction ${bound.txId} did not change twin ${twinId}`);
      if ('seq' in bound) fail(ErrorCodes.NOT_FOUND, `twin ${twinId} has ${order.length} changes, not ${bound.seq}`);
      fail(ErrorCodes.NOT_FOUND, `twin ${twinId} did not exist at ${bound.timestamp}`);
    }
    const prefix = order.slice(0, n);
    const past = await replayChanges(tx.state, twinId, prefix);
    const meta = await past.get<TwinMeta>(twinKey(twinId));
    if (!meta) fail(ErrorCodes.NOT_FOUND, `twin ${twinId} did not exist at ${JSON.stringify(boundView(bound))}`);
    const last = prefix[n - 1] as ChangePosition;
    return canonicalJson({
      twinId,
      asOf: { ...boundView(bound), lastSeq: last.seq, lastTxId: last.txId, lastTimestamp: last.timestamp },
      twin: twinView(meta),
      specification: await assembleSpecification(past, meta),
      documents: await documentsVisible(past, twinId, access),
      externalSources: await externalSources(past, twinId),
      sensorFeeds: access.permissions.includes(Permissions.FEED_READ) ? await sensorFeeds(past, twinId) : [],
      grants: await listGrantRecords(past, twinId),
      programCalls: await programCalls(past, twinId),
    });
  }
}

function parseCallId(v: unknown): number {
  if (typeof v !== 'string' || !/^[1-9]\d{0,11}$/.test(v)) fail(ErrorCodes.VALIDATION_FAILED, 'callId must be a positive integer');
  return Number(v);
}

function parseSequenceId(name: string, v: unknown): number {
  if (typeof v !== 'string' || !/^[1-9]\d{0,11}$/.test(v)) fail(ErrorCodes.VALIDATION_FAILED, `${name} must be a positive integer`);
  return Number(v);
}

/** insertAML/removeAML never change safety content, whoever calls: that takes two organizations. */
function refuseSafetyEdit(impact: SafetyImpact): void {
  if (!touchesSafety(impact)) return;
  const ids = [...impact.removed, ...impact.inserted].map((e) => `${e.id} (${e.kind})`);
  fail(
    ErrorCodes.SAFETY_APPROVAL_REQUIRED,
    `the change touches safety content: ${[...new Set(ids)].join(', ')}; propose it with proposeSafetyChange (safety:write) for another organization's approval`,
  );
}

function parseSafetyOperation(v: unknown): SafetyOperation {
  if (typeof v !== 'string' || !(SafetyOperations as readonly string[]).includes(v)) {
    fail(ErrorCodes.VALIDATION_FAILED, `operation must be one of ${SafetyOperations.join(', ')}`);
  }
  return v as SafetyOperation;
}

/** changeJson carries a fragment, so it may be as large as an insertAML fragment (plus its envelope). */
function parseSafetyChange(op: SafetyOperation, v: unknown): SafetyProposal['change'] {
  const s = typeof v === 'string' ? v : '';
  if (Buffer.byteLength(s, 'utf8') > Limits.MAX_FRAGMENT_BYTES + 4096) fail(ErrorCodes.TOO_LARGE, 'changeJson is larger than a fragment allows');
  let raw: unknown;
  try {
    raw = JSON.parse(s) as unknown;
  } catch {
    fail(ErrorCodes.VALIDATION_FAILED, 'changeJson is not valid JSON');
  }
  if (!isPlainObject(raw)) fail(ErrorCodes.VALIDATION_FAILED, 'changeJson must be a JSON object');
  const fragment = () => {
    const f = raw.amlFragment;
    if (typeof f !== 'string' || f.trim() === '') fail(ErrorCodes.VALIDATION_FAILED, 'changeJson.amlFragment must be a non-empty string');
    return f;
  };
  switch (op) {
    case 'insertAML': {
      onlyKeys('changeJson', raw, ['amlFragment', 'parentID', 'afterID']);
      const parentID = optionalId('changeJson.parentID', raw.parentID);
      const afterID = optionalId('changeJson.afterID', raw.afterID);
      return { amlFragment: fragment(), ...(parentID !== undefined ? { parentID } : {}), ...(afterID !== undefined ? { afterID } : {}) };
    }
    case 'removeAML':
      onlyKeys('changeJson', raw, ['ID']);
      return { ID: requireId('changeJson.ID', raw.ID) };
    case 'replaceAML':
      onlyKeys('changeJson', raw, ['ID', 'amlFragment']);
      return { ID: requireId('changeJson.ID', raw.ID), amlFragment: fragment() };
  }
}

async function planSafetyChange(
  r: StateReader,
  meta: TwinMeta,
  op: SafetyOperation,
  c: SafetyProposal['change'],
): Promise<{ remove?: RemovePlan; insert?: InsertPlan }> {
  switch (op) {
    case 'insertAML':
      return { insert: await planInsert(r, meta, c.amlFragment ?? '', c.parentID ?? '', c.afterID) };
    case 'removeAML':
      return { remove: await planRemove(r, meta.twinId, c.ID ?? '') };
    case 'replaceAML':
      return planReplace(r, meta, c.ID ?? '', c.amlFragment ?? '');
  }
}

async function requirePendingProposal(tx: Tx, twinId: string, id: number): Promise<SafetyProposal> {
  const p = await tx.state.get<SafetyProposal>(proposalKey(twinId, id));
  if (!p) fail(ErrorCodes.NOT_FOUND, `safety change ${id} does not exist in twin ${twinId}`);
  if (p.status !== 'PENDING') fail(ErrorCodes.INVALID_STATE, `safety change ${id} is already ${p.status}`);
  return p;
}

/** A program is named by its element ID, or by its Name when that is unique in the twin. */
async function resolveProgram(r: StateReader, twinId: string, name: string): Promise<ProgramDefinition> {
  const byName = await list<ProgramDefinition>(r, KeyTypes.program, [twinId, name]);
  if (byName.length === 1 && byName[0]) return byName[0].value;
  if (byName.length > 1) {
    fail(
      ErrorCodes.VALIDATION_FAILED,
      `program name ${name} is ambiguous; call it by element ID (${byName.map((e) => e.value.elementId).join(', ')})`,
    );
  }
  const rec = await getElementRecord(r, twinId, name);
  if (rec?.programName !== undefined) {
    const def = await r.get<ProgramDefinition>(programKey(twinId, rec.programName, rec.id));
    if (def) return def;
  }
  fail(ErrorCodes.NOT_FOUND, `twin ${twinId} has no program ${name}`);
}

async function specRevision(tx: Tx, twinId: string): Promise<string> {
  return (await tx.state.get<SpecRevision>(compositeKey(KeyTypes.specRevision, [twinId])))?.txId ?? '';
}

/** A twin ID free for creation: no twin, no creation under way, not another organization's namespace. */
async function requireNewTwin(tx: Tx, twinId: string): Promise<void> {
  if (await tx.state.get(twinKey(twinId))) fail(ErrorCodes.ALREADY_EXISTS, `twin ${twinId} already exists`);
  if (await tx.state.get(creationKey(twinId))) fail(ErrorCodes.ALREADY_EXISTS, `a creation of twin ${twinId} is under way`);
  await requireMayCreate(tx.state, twinId, tx.caller.mspId);
}

/**
 * The grants a new twin starts with: the creator's organization owns it (paper 4.5), everyone
 * reads, the rest as asked. The creator grants these, so the device-agent rules of acl:grant
 * apply to them too. `write` false only checks them (beginTwinCreation refuses early what the
 * seal would refuse).
 */
async function writeCreationGrants(tx: Tx, twinId: string, extra: GrantSpec[], write = true): Promise<void> {
  const all: GrantSpec[] = [{ mspId: tx.caller.mspId, role: Roles.OWNER }, DEFAULT_READER_GRANT, ...extra];
  const made: Grant[] = [];
  for (const g of all) {
    checkAckGrant(g, tx.caller, made, nowMs(tx));
    made.push(makeGrant(tx, twinId, g));
    if (write) tx.touch('grant', `${g.mspId}/${g.identity ?? '*'}/${g.role ?? g.permission ?? ''}`);
  }
  if (write) await writeGrants(tx, twinId, all.map((spec, i) => ({ spec, grant: made[i] as Grant })));
}

async function requireOpenCreation(tx: Tx, twinId: string, creationId: unknown): Promise<TwinCreation> {
  const c = await requireOwnCreation(tx, twinId, creationId);
  if (c.status !== 'OPEN') fail(ErrorCodes.INVALID_STATE, `the creation of twin ${twinId} is being aborted; finish abortTwinCreation`);
  return c;
}

/** Records a staged piece (bookkeeping, out of the change log) with the writes it logs. */
function stageChunk(
  tx: Tx,
  twinId: string,
  index: number,
  parentId: string,
  aml: string,
  elements: number,
  out: { ids: string[]; programs: ProgramDefinition[] },
): CreationChunk {
  const chunk: CreationChunk = {
    index,
    parentId,
    sha256: chunkHash(parentId, aml),
    bytes: Buffer.byteLength(aml, 'utf8'),
    elements,
    ids: out.ids,
    programs: out.programs.map((p) => ({ name: p.name, elementId: p.elementId })),
    txId: tx.txId,
    writes: tx.pendingWrites,
  };
  tx.putDerived(creationChunkKey(twinId, index), chunk);
  return chunk;
}

function chunkView(twinId: string, creation: TwinCreation, c: CreationChunk) {
  return { twinId, creationId: creation.creationId, index: c.index, elements: c.elements, ids: c.ids.length, sha256: c.sha256, txId: c.txId };
}
