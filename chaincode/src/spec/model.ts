import type { NodeKind, SchemaVersion } from '../aml/caex';
import type { ParamValue } from '../aml/programs';
import type { Level } from '../access/roles';
import type { XmlElement } from '../aml/xml';
import type { SafetyImpact } from './edits';

export interface Principal {
  mspId: string;
  id: string;
}

export interface TwinMeta {
  twinId: string;
  deviceId: string;
  deviceName: string;
  schemaVersion: SchemaVersion;
  /** The CAEXFile element without its InstanceHierarchies (libraries, header information). */
  header: XmlElement;
  createdBy: Principal;
  createdAt: string;
  txId: string;
}

export interface ElementRecord {
  twinId: string;
  id: string;
  kind: NodeKind;
  /** '' for an InstanceHierarchy (the file is its parent). */
  parentId: string;
  order: string;
  /** InstanceHierarchy = 0. */
  depth: number;
  /** The element without nested InternalElements. */
  own: XmlElement;
  /** Set when the element is a program (its definition is under KeyTypes.program). */
  programName?: string;
  updatedBy: Principal;
  updatedAt: string;
  txId: string;
}

export interface DocumentRecord {
  twinId: string;
  hash: string;
  dhtRef: string;
  title: string;
  description: string;
  componentId?: string;
  confidentiality: Level;
  owner: Principal;
  timestamp: string;
  txId: string;
  /** Versions including the original (version 1). */
  versionCount: number;
  latest: { version: number; hash: string; dhtRef: string };
}

export interface DocumentVersion {
  twinId: string;
  originalHash: string;
  version: number;
  hash: string;
  dhtRef: string;
  addedBy: Principal;
  timestamp: string;
  txId: string;
}

/**
 * The current ACL of the DHT object that holds one document version, as its uploader's key
 * manager last set it (recordAccessChange). Auditors compare it with the DHT's own signed ACL
 * record (version + parties); the key's history (getHistoryForKey) is every change.
 */
export interface AccessRecord {
  twinId: string;
  originalHash: string;
  /** The document version's hash (the key). */
  hash: string;
  /** The document version number (1 = original). */
  version: number;
  /** The object's reference as addDocument/addDocumentVersion recorded it. */
  dhtRef: string;
  /** The DHT ACL record's version; strictly increasing per object. */
  aclVersion: number;
  /** Sorted, unique MSP IDs the data key is wrapped to. */
  parties: string[];
  /** After a re-key: the reference of the object's newest manifest (DHT head). */
  head?: string;
  /**
   * The transaction of the record this one replaced, '' for the first: the key's history is a
   * chain, so a history the peer cut short is recognized (absent in records written before).
   */
  previousTxId?: string;
  recordedBy: Principal;
  timestamp: string;
  txId: string;
}

export interface ExternalSource {
  twinId: string;
  uri: string;
  description: string;
  owner: Principal;
  timestamp: string;
  txId: string;
}

export interface SensorFeed {
  twinId: string;
  componentId: string;
  feedRef: string;
  registeredBy: Principal;
  timestamp: string;
  txId: string;
}

/**
 * A Merkle root over the update records fromIndex..toIndex of a twin's feed (ADR-18): leaves
 * are H(0x00 || canonical JSON of the owner-signed update record), RFC 6962. The chaincode
 * cannot check the root (the records live in the DHT); it checks who anchors (the feed's
 * owner organization) and that anchors are contiguous from index 0, so every index has at
 * most one root on the ledger.
 */
export interface FeedAnchor {
  twinId: string;
  componentId: string;
  feedId: string;
  fromIndex: number;
  toIndex: number;
  /** SHA-256 Merkle root, hex. */
  root: string;
  anchoredBy: Principal;
  timestamp: string;
  txId: string;
}

/** EXPIRED: the device agent found the call past its expiry and never executed it. */
export const CallStatuses = ['PENDING', 'EXECUTED', 'FAILED', 'REJECTED', 'EXPIRED'] as const;
export type CallStatus = (typeof CallStatuses)[number];

/** What KeyTypes.callRequest holds. */
export interface CallRequest {
  callId: number;
  /** SHA-256 of the request's canonical arguments (program as named, parameters, lifetime asked). */
  fingerprint: string;
}

export interface ProgramCall {
  twinId: string;
  callId: number;
  programName: string;
  programElementId: string;
  parameters: Record<string, ParamValue>;
  status: CallStatus;
  requestedBy: Principal;
  requestedAt: string;
  /** The caller's request ID; unique per twin and caller organization. */
  requestId: string;
  /**
   * requestedAt + the call's lifetime (ISO 8601). requestedAt is the proposal's timestamp,
   * which the client sets and Fabric does not check: the device agent bounds it by its own
   * clock (see README, "Program calls").
   */
  expiresAt: string;
  txId: string;
  acknowledgement?: {
    status: CallStatus;
    result: unknown;
    by: Principal;
    at: string;
    txId: string;
  };
}

export const SafetyOperations = ['insertAML', 'removeAML', 'replaceAML'] as const;
export type SafetyOperation = (typeof SafetyOperations)[number];
export const ProposalStatuses = ['PENDING', 'APPLIED', 'REJECTED'] as const;
export type ProposalStatus = (typeof ProposalStatuses)[number];

/**
 * A change of safety content waiting for (or decided by) a second organization. What applies
 * is exactly `change`, planned again at approval against the revision it was proposed on.
 */
export interface SafetyProposal {
  twinId: string;
  proposalId: number;
  operation: SafetyOperation;
  /** insertAML: amlFragment, parentID, afterID; removeAML: ID; replaceAML: ID, amlFragment. */
  change: { amlFragment?: string; parentID?: string; afterID?: string; ID?: string };
  reason: string;
  /** The specification revision the change was planned against; approval needs it unchanged. */
  baseRevision: string;
  impact: SafetyImpact;
  status: ProposalStatus;
  proposedBy: Principal;
  proposedAt: string;
  txId: string;
  decision?: { status: Exclude<ProposalStatus, 'PENDING'>; reason: string; by: Principal; at: string; txId: string };
}
