/** The chaincode's results, as the contracts return them (canonical JSON). See chaincode/README.md. */
import type { AcknowledgementStatus, CallStatus, ConfidentialityLevel, Permission, ProposalStatus, Role, SafetyOperation } from './constants.js';

/** `{mspId, id}` where id is the identity's `x509::<subject DN>::<issuer DN>`. */
export interface Principal {
  readonly mspId: string;
  readonly id: string;
}

export type SchemaVersion = '3.0' | '2.15';
export type ParamValue = number | boolean | string;

/** A committed write: the parsed result plus where it landed. */
export interface Committed<T> {
  readonly result: T;
  readonly transactionId: string;
  readonly blockNumber: bigint;
}

// ------------------------------------------------------------------ grants

/** One grant as passed to grant/revoke and in createTwin's array form. */
export interface GrantSpec {
  /** An MSP ID, or '*' (every MSP; reading only). */
  readonly mspId: string;
  /** One identity (`x509::...`); absent = every identity of the MSP. */
  readonly identity?: string;
  /** Exactly one of role and permission. */
  readonly role?: Role;
  readonly permission?: Permission;
  /** ISO 8601 with zone; the grant stops counting at this transaction time. */
  readonly expiresAt?: string;
}

/** createTwin's extra grants: `{"Org2MSP": "MANUFACTURER"}`, or grant objects. */
export type InitialGrants = Readonly<Record<string, Role | readonly Role[]>> | readonly GrantSpec[];

export interface Grant extends GrantSpec {
  readonly twinId: string;
  readonly grantedBy: Principal;
  readonly grantedAt: string;
  readonly txId: string;
}

export interface RevokeResult {
  readonly twinId: string;
  readonly revoked: Grant;
  readonly txId: string;
}

export interface AccessAnswer {
  readonly twinId: string;
  readonly mspId: string;
  readonly identity: string;
  readonly permission: Permission;
  readonly allowed: boolean;
  readonly roles: readonly Role[];
  readonly permissions: readonly Permission[];
}

/** A device-ID namespace: only `mspId` creates twins whose device ID starts with `prefix`. */
export interface DeviceNamespace {
  readonly prefix: string;
  readonly mspId: string;
  /** The claiming admin's identity ID. */
  readonly claimedBy: string;
  readonly claimedAt: string;
  readonly txId: string;
}

export interface Party {
  readonly mspId: string;
  /** Sorted libp2p peer IDs. */
  readonly peerIds: readonly string[];
  /** Base64 of the 32-byte X25519 key. */
  readonly x25519PublicKey: string;
  /** The registering admin's identity ID. */
  readonly updatedBy: string;
  readonly updatedAt: string;
  readonly txId: string;
  readonly version: number;
}

// ------------------------------------------------------------------ specification

export interface ProgramRef {
  readonly name: string;
  readonly elementId: string;
}

export interface CreateTwinResult {
  readonly twinId: string;
  readonly deviceId: string;
  readonly deviceName: string;
  readonly schemaVersion: SchemaVersion;
  readonly elements: number;
  readonly programs: readonly ProgramRef[];
  readonly txId: string;
}

/** createTwin's choices for documents too large for one transaction (ADR-14). */
export interface CreateTwinOptions {
  /** Documents above this many UTF-8 bytes are created in chunks (default 128 KiB). */
  readonly chunkThresholdBytes?: number;
  /** Largest chunk in UTF-8 bytes (default 128 KiB; at most the fragment limit, 512 KiB). */
  readonly chunkBytes?: number;
  /**
   * Attempts per chunk transaction on a read conflict, an unavailable peer or an unknown outcome
   * (default 8, pausing as the error asks or 0.25 s doubling up to 5 s). Each attempt runs under
   * the FabricClient's per-call deadlines.
   */
  readonly attempts?: number;
  /** Chunk transactions in flight at once (default 4). */
  readonly concurrency?: number;
}

/** getTwinCreation: the caller's chunked creation under way. */
export interface TwinCreationStatus {
  readonly twinId: string;
  readonly creationId: string;
  readonly deviceName: string;
  readonly schemaVersion: SchemaVersion;
  readonly totalChunks: number;
  readonly digest: string;
  readonly status: 'OPEN' | 'ABORTING';
  readonly createdBy: Principal;
  readonly begunAt: string;
  readonly staged: readonly number[];
  readonly missing: readonly number[];
  readonly elements: number;
  readonly bytes: number;
}

export interface BeginTwinCreationResult {
  readonly twinId: string;
  readonly creationId: string;
  readonly totalChunks: number;
  readonly elements: number;
  readonly txId: string;
}

export interface AppendTwinChunkResult {
  readonly twinId: string;
  readonly creationId: string;
  readonly index: number;
  readonly elements: number;
  readonly ids: number;
  readonly sha256: string;
  readonly txId: string;
}

export interface AbortTwinCreationResult {
  readonly twinId: string;
  readonly creationId: string;
  readonly status: 'ABORTING' | 'ABORTED';
  readonly remainingChunks: number;
  readonly txId: string;
}

export interface InsertAmlResult {
  readonly twinId: string;
  readonly parentId: string;
  readonly afterId: string;
  /** Inserted element IDs, depth first. */
  readonly inserted: readonly string[];
  readonly programs: readonly string[];
  readonly txId: string;
}

export interface RemoveAmlResult {
  readonly twinId: string;
  readonly id: string;
  readonly removed: readonly string[];
  readonly feedsRemoved: readonly string[];
  readonly txId: string;
}

export interface Twin {
  readonly twinId: string;
  readonly deviceId: string;
  readonly deviceName: string;
  readonly schemaVersion: SchemaVersion;
  readonly createdBy: Principal;
  readonly createdAt: string;
  readonly txId: string;
}

export interface Specification {
  readonly twinId: string;
  readonly schemaVersion: SchemaVersion;
  /**
   * The txId of the last transaction that changed the specification, read in the same
   * simulation as `aml`: the key to cache it under. '' when the twin's specification was last
   * written by a chaincode without revisions (such a result must not be cached). Absent from
   * older chaincodes.
   */
  readonly revision?: string;
  /** The whole CAEX document in canonical form, identical on every peer. */
  readonly aml: string;
}

/** getSpecificationRevision: the revision alone, checked for spec:read like the specification. */
export interface SpecificationRevision {
  readonly twinId: string;
  readonly schemaVersion: SchemaVersion;
  /** See Specification.revision. */
  readonly revision: string;
}

export interface Element {
  readonly twinId: string;
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly parentId: string;
  readonly depth: number;
  readonly programName?: string;
  readonly updatedBy: Principal;
  readonly updatedAt: string;
  readonly txId: string;
  /** The element with its subtree, canonical. */
  readonly aml: string;
}

// ------------------------------------------------------------------ documents

export interface NewDocument {
  /** Lowercase hex SHA-256 of the plaintext. */
  readonly hash: string;
  readonly dhtRef: string;
  readonly title: string;
  readonly description?: string;
  readonly componentId?: string;
  readonly confidentiality: ConfidentialityLevel;
}

export interface DocumentRecord {
  readonly twinId: string;
  readonly hash: string;
  readonly dhtRef: string;
  readonly title: string;
  readonly description: string;
  readonly componentId?: string;
  readonly confidentiality: ConfidentialityLevel;
  readonly owner: Principal;
  readonly timestamp: string;
  readonly txId: string;
  readonly versionCount: number;
  readonly latest: { readonly version: number; readonly hash: string; readonly dhtRef: string };
}

export interface DocumentVersion {
  readonly twinId: string;
  readonly originalHash: string;
  readonly version: number;
  readonly hash: string;
  readonly dhtRef: string;
  readonly addedBy: Principal;
  readonly timestamp: string;
  readonly txId: string;
}

/**
 * The ledger's record of the current ACL of the DHT object holding one document version
 * (spec:recordAccessChange, written by the uploader's key manager). Compare `aclVersion` and
 * `parties` with the DHT's ACL record (`GET /objects/:ref/acl`).
 */
export interface AccessRecord {
  readonly twinId: string;
  readonly originalHash: string;
  readonly hash: string;
  readonly version: number;
  readonly dhtRef: string;
  readonly aclVersion: number;
  readonly parties: readonly string[];
  /** After a re-key: the object's newest manifest reference. */
  readonly head?: string;
  /** The transaction of the record this one replaced ('' for the first; absent in older records). */
  readonly previousTxId?: string;
  readonly recordedBy: Principal;
  readonly timestamp: string;
  readonly txId: string;
}

/** Argument of recordAccessChange. */
export interface AccessChange {
  /** The DHT ACL record's version after the change (must exceed the recorded one). */
  readonly aclVersion: number;
  /** MSP IDs the data key is wrapped to (sorted before sending). */
  readonly parties: readonly string[];
  readonly head?: string;
}

export interface AccessRecordHistory {
  readonly twinId: string;
  readonly hash: string;
  readonly originalHash: string;
  /** null while the uploader's key manager has recorded nothing for this version. */
  readonly record: AccessRecord | null;
  /** Every recorded change, newest first (getHistoryForKey). */
  readonly history: readonly LedgerHistoryEntry[];
}

export interface RemoveDocumentResult {
  readonly twinId: string;
  readonly hash: string;
  readonly removedVersions: readonly string[];
  readonly txId: string;
}

export interface LedgerHistoryEntry {
  readonly txId: string;
  readonly timestamp: string;
  readonly isDelete: boolean;
  /** The key's value after the transaction (parsed), null for a delete. */
  readonly value: unknown;
}

export interface DocumentHistory {
  readonly twinId: string;
  readonly hash: string;
  readonly removed: boolean;
  readonly document: DocumentRecord | null;
  readonly versions: readonly DocumentVersion[];
  /** The document key's modifications, newest first (one page of them in a DocumentHistoryPage). */
  readonly ledgerHistory: readonly LedgerHistoryEntry[];
}

/** getDocumentHistoryPage: `ledgerHistory` holds one page; `bookmark` continues it. */
export interface DocumentHistoryPage extends DocumentHistory {
  /** '' = the oldest modification is on this page. */
  readonly bookmark: string;
}

// ------------------------------------------------------------------ pages

/** Which page of a list or history to read. */
export interface PageOptions {
  /** Items per page, 1..Limits.MAX_PAGE_SIZE; omitted = Limits.DEFAULT_PAGE_SIZE. */
  readonly limit?: number;
  /** The `bookmark` of the previous page; omitted or '' = the first page. */
  readonly bookmark?: string;
}

/**
 * One page of a list, in key order. A page may hold fewer than `limit` items (entries the
 * caller may not read are left out) and still not be the last: continue while `bookmark` is
 * not ''.
 */
export interface Page<T> {
  // Not readonly: a fresh array parsed from the answer, passed on as is (REST routes).
  readonly items: T[];
  /** Opaque; '' = this was the last page. */
  readonly bookmark: string;
}

// ------------------------------------------------------------------ sources and feeds

export interface ExternalSource {
  readonly twinId: string;
  readonly uri: string;
  readonly description: string;
  readonly owner: Principal;
  readonly timestamp: string;
  readonly txId: string;
}

export interface RemoveExternalSourceResult {
  readonly twinId: string;
  readonly uri: string;
  readonly txId: string;
}

export interface SensorFeed {
  readonly twinId: string;
  readonly componentId: string;
  readonly feedRef: string;
  readonly registeredBy: Principal;
  readonly timestamp: string;
  readonly txId: string;
}

/** A Merkle root over a feed's update records fromIndex..toIndex on the ledger (ADR-18). */
export interface FeedAnchor {
  readonly twinId: string;
  readonly componentId: string;
  readonly feedId: string;
  readonly fromIndex: number;
  readonly toIndex: number;
  /** RFC 6962 SHA-256 root, hex. */
  readonly root: string;
  readonly anchoredBy: Principal;
  readonly timestamp: string;
  readonly txId: string;
}

export interface RemoveSensorFeedResult {
  readonly twinId: string;
  readonly componentId: string;
  readonly txId: string;
}

// ------------------------------------------------------------------ programs

export interface ProgramParameter {
  readonly name: string;
  readonly dataType: string;
  readonly type: 'double' | 'int' | 'boolean' | 'string';
  readonly unit?: string;
  readonly required: boolean;
  readonly default?: ParamValue;
  readonly min?: number;
  readonly max?: number;
  readonly allowed?: readonly ParamValue[];
}

export interface Program {
  readonly twinId: string;
  readonly elementId: string;
  readonly name: string;
  readonly parameters: readonly ProgramParameter[];
}

/** Options of callProgram. */
export interface CallOptions {
  /**
   * The caller's ID for this request (1..128 of A-Z a-z 0-9 . _ : -; e.g. a UUID). A second call
   * with the same ID and arguments by the same organization returns the first call; with other
   * arguments it is refused (REQUEST_ID_CONFLICT). Default: a fresh UUID (no retry safety).
   */
  readonly requestId?: string;
  /** How long the call may still be executed, seconds (1..3600); default: the chaincode's 300. */
  readonly ttlSeconds?: number;
}

export interface ProgramCall {
  readonly twinId: string;
  readonly callId: number;
  readonly programName: string;
  readonly programElementId: string;
  readonly parameters: Readonly<Record<string, ParamValue>>;
  readonly status: CallStatus;
  readonly requestedBy: Principal;
  /** The proposal's timestamp: set by the caller's client, not checked by Fabric. */
  readonly requestedAt: string;
  /** The caller's request ID (unique per twin and caller organization). */
  readonly requestId: string;
  /** requestedAt + the call's lifetime; the device agent never executes the call after it. */
  readonly expiresAt: string;
  readonly txId: string;
  readonly acknowledgement?: {
    readonly status: AcknowledgementStatus;
    readonly result: unknown;
    readonly by: Principal;
    readonly at: string;
    readonly txId: string;
  };
}

// ------------------------------------------------------------------ safety changes

/**
 * What a safety change proposal carries (chaincode README "Safety rules"): the arguments of the
 * operation it stands for. replaceAML puts the fragment where element ID was, in one step.
 */
export type SafetyChange =
  | { readonly operation: 'insertAML'; readonly amlFragment: string; readonly parentID?: string; readonly afterID?: string }
  | { readonly operation: 'removeAML'; readonly ID: string }
  | { readonly operation: 'replaceAML'; readonly ID: string; readonly amlFragment: string };

export interface SafetyElement {
  readonly id: string;
  readonly kind: 'program' | 'interlock' | 'safeState';
  readonly name: string;
}

export interface SafetyProposal {
  readonly twinId: string;
  readonly proposalId: number;
  readonly operation: SafetyOperation;
  readonly change: { readonly amlFragment?: string; readonly parentID?: string; readonly afterID?: string; readonly ID?: string };
  readonly reason: string;
  /** The specification revision it was planned against; approval needs it unchanged. */
  readonly baseRevision: string;
  /** Mutable arrays so REST schemas (TypeBox) describe them field by field. */
  readonly impact: {
    readonly removed: SafetyElement[];
    readonly inserted: SafetyElement[];
    readonly programsRemoved: Program[];
    readonly programsInserted: Program[];
  };
  readonly status: ProposalStatus;
  readonly proposedBy: Principal;
  readonly proposedAt: string;
  readonly txId: string;
  readonly decision?: { readonly status: Exclude<ProposalStatus, 'PENDING'>; readonly reason: string; readonly by: Principal; readonly at: string; readonly txId: string };
}

/** approveSafetyChange: the proposal, now APPLIED, and what the specification change did. */
export interface SafetyApproval extends SafetyProposal {
  readonly removed: readonly string[];
  readonly feedsRemoved: readonly string[];
  readonly inserted: readonly string[];
}

// ------------------------------------------------------------------ history

export type ChangeTargetKind = 'twin' | 'element' | 'document' | 'externalSource' | 'feed' | 'grant' | 'programCall' | 'safetyProposal';

export interface ChangeHeader {
  readonly twinId: string;
  readonly txId: string;
  /** 1-based position in the twin's ledger order (block, then position in it); createTwin is 1. */
  readonly seq: number;
  /** The submitter's proposal timestamp: recorded information, not the order. */
  readonly timestamp: string;
  readonly mspId: string;
  readonly creator: string;
  readonly operation: string;
  readonly targets: readonly { readonly kind: ChangeTargetKind; readonly id: string }[];
  readonly writes: number;
}

export interface TwinHistory {
  readonly twinId: string;
  readonly changes: readonly ChangeHeader[];
}

/** historyPage: one page of changes (seq ascending); `bookmark` is the seq where the next starts, '' after the last. */
export interface TwinHistoryPage extends TwinHistory {
  readonly bookmark: string;
}

/** historyPage of one element: its key's modifications whose seq falls on this page. */
export interface ElementHistoryPage extends ElementHistory {
  readonly bookmark: string;
}

/** Options of historyPage. */
export interface HistoryPageOptions extends PageOptions {
  /** Only the changes that touched this element (and its key's modifications). */
  readonly elementId?: string;
}

export interface ElementHistory extends TwinHistory {
  readonly elementId: string;
  readonly ledgerHistory: readonly (LedgerHistoryEntry & {
    readonly seq: number | null;
    readonly mspId: string | null;
    readonly creator: string | null;
    readonly operation: string | null;
  })[];
}

export interface TwinAsOf {
  readonly twinId: string;
  /**
   * The bound as given (one of txId, seq, timestamp) and the last change the answer includes.
   * The answer is always a prefix of the ledger order: by time, the longest prefix whose
   * recorded times are all at or before the bound.
   */
  readonly asOf: {
    readonly txId?: string;
    readonly seq?: number;
    readonly timestamp?: string;
    readonly lastSeq: number;
    readonly lastTxId: string;
    readonly lastTimestamp: string;
  };
  readonly twin: Twin;
  /** The whole CAEX document as it was, canonical. */
  readonly specification: string;
  readonly documents: readonly DocumentRecord[];
  readonly externalSources: readonly ExternalSource[];
  readonly sensorFeeds: readonly SensorFeed[];
  readonly grants: readonly Grant[];
  readonly programCalls: readonly ProgramCall[];
}
