/**
 * Constants of the `twinledger` chaincode, mirrored here because the chaincode is a separate
 * package the peer builds alone and cannot be imported. test/constants-sync.test.ts reads the
 * chaincode's source files and fails when the two lists drift apart.
 */

/** Contract names: functions are addressed as `${contract}:${function}`. */
export const ContractNames = { spec: 'spec', acl: 'acl', diag: 'diag' } as const;

/** Codes at the start of every chaincode refusal (`CODE: detail`). */
export const ChaincodeErrorCodes = {
  ACCESS_DENIED: 'ACCESS_DENIED',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  OUT_OF_BOUNDS: 'OUT_OF_BOUNDS',
  AML_INVALID: 'AML_INVALID',
  DOCTYPE_FORBIDDEN: 'DOCTYPE_FORBIDDEN',
  DUPLICATE_ID: 'DUPLICATE_ID',
  TOO_LARGE: 'TOO_LARGE',
  INVALID_STATE: 'INVALID_STATE',
  GRANT_FORBIDDEN: 'GRANT_FORBIDDEN',
  REQUEST_ID_CONFLICT: 'REQUEST_ID_CONFLICT',
  /** insertAML/removeAML would change safety content: propose it (proposeSafetyChange) instead. */
  SAFETY_APPROVAL_REQUIRED: 'SAFETY_APPROVAL_REQUIRED',
  /** The proposer's own organization tried to approve its safety change. */
  SELF_APPROVAL: 'SELF_APPROVAL',
  /** The specification changed since the safety change was proposed. */
  STALE_PROPOSAL: 'STALE_PROPOSAL',
} as const;
export type ChaincodeErrorCode = (typeof ChaincodeErrorCodes)[keyof typeof ChaincodeErrorCodes];

/** Chaincode event names; every write transaction emits exactly one. */
export const LedgerEvents = {
  TwinCreated: 'TwinCreated',
  /** Chunked creation (ADR-14): begun, a chunk staged, aborted; the twin exists only at its TwinCreated. */
  TwinCreationBegun: 'TwinCreationBegun',
  TwinChunkAppended: 'TwinChunkAppended',
  TwinCreationAborted: 'TwinCreationAborted',
  AmlInserted: 'AmlInserted',
  AmlRemoved: 'AmlRemoved',
  DocumentAdded: 'DocumentAdded',
  DocumentVersionAdded: 'DocumentVersionAdded',
  DocumentRemoved: 'DocumentRemoved',
  /** recordAccessChange: a DHT object's party set changed (grant, revoke, expiry, re-key). */
  DocumentAccessChanged: 'DocumentAccessChanged',
  ExternalSourceAdded: 'ExternalSourceAdded',
  ExternalSourceRemoved: 'ExternalSourceRemoved',
  SensorFeedAdded: 'SensorFeedAdded',
  SensorFeedRemoved: 'SensorFeedRemoved',
  FeedRootAnchored: 'FeedRootAnchored',
  ProgramCalled: 'ProgramCalled',
  ProgramCallAcknowledged: 'ProgramCallAcknowledged',
  SafetyChangeProposed: 'SafetyChangeProposed',
  /** The approval applied the change: the specification changed in this transaction. */
  SafetyChangeApproved: 'SafetyChangeApproved',
  SafetyChangeRejected: 'SafetyChangeRejected',
  GrantAdded: 'GrantAdded',
  GrantRevoked: 'GrantRevoked',
  PartyRegistered: 'PartyRegistered',
  DeviceNamespaceChanged: 'DeviceNamespaceChanged',
  DiagPut: 'DiagPut',
} as const;
export type LedgerEventName = (typeof LedgerEvents)[keyof typeof LedgerEvents];

/** Document confidentiality levels, lowest first; a role holding level L holds every lower one. */
export const ConfidentialityLevels = ['public', 'internal', 'confidential', 'secret'] as const;
export type ConfidentialityLevel = (typeof ConfidentialityLevels)[number];

export const Roles = {
  MANUFACTURER: 'MANUFACTURER',
  OWNER: 'OWNER',
  MAINTAINER: 'MAINTAINER',
  AUDITOR: 'AUDITOR',
  DEVICE_AGENT: 'DEVICE_AGENT',
  READER: 'READER',
} as const;
export type Role = (typeof Roles)[keyof typeof Roles];

/** Permissions without a level; document permissions come from docRead/docWrite. */
export const Permissions = {
  SPEC_READ: 'spec:read',
  SPEC_WRITE: 'spec:write',
  FEED_READ: 'feed:read',
  FEED_REGISTER: 'feed:register',
  PROGRAM_CALL: 'program:call',
  PROGRAM_ACK: 'program:ack',
  GRANTS_MANAGE: 'grants:manage',
  /** Proposing, approving and rejecting changes of safety content (programs, interlocks, safe states). */
  SAFETY_WRITE: 'safety:write',
} as const;

export type DocPermission = `doc:read:${ConfidentialityLevel}` | `doc:write:${ConfidentialityLevel}`;
export type Permission = (typeof Permissions)[keyof typeof Permissions] | DocPermission;

export const docRead = (level: ConfidentialityLevel): DocPermission => `doc:read:${level}`;
export const docWrite = (level: ConfidentialityLevel): DocPermission => `doc:write:${level}`;

/** Every permission the chaincode knows. */
export const ALL_PERMISSIONS: readonly Permission[] = [
  ...Object.values(Permissions),
  ...ConfidentialityLevels.map(docRead),
  ...ConfidentialityLevels.map(docWrite),
];

/** What each role confers (the chaincode's ROLE_PERMISSIONS). */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  OWNER: [
    Permissions.SPEC_READ,
    Permissions.SPEC_WRITE,
    ...ConfidentialityLevels.map(docRead),
    ...ConfidentialityLevels.map(docWrite),
    Permissions.FEED_READ,
    Permissions.FEED_REGISTER,
    Permissions.PROGRAM_CALL,
    Permissions.GRANTS_MANAGE,
    Permissions.SAFETY_WRITE,
  ],
  MAINTAINER: [
    Permissions.SPEC_READ,
    Permissions.SPEC_WRITE,
    ...ConfidentialityLevels.slice(0, 3).map(docRead),
    ...ConfidentialityLevels.slice(0, 3).map(docWrite),
    Permissions.FEED_READ,
    Permissions.FEED_REGISTER,
    Permissions.PROGRAM_CALL,
  ],
  MANUFACTURER: [Permissions.SPEC_READ, ...ConfidentialityLevels.slice(0, 3).map(docRead), Permissions.FEED_READ, Permissions.SAFETY_WRITE],
  AUDITOR: [Permissions.SPEC_READ, ...ConfidentialityLevels.slice(0, 3).map(docRead), Permissions.FEED_READ],
  DEVICE_AGENT: [
    Permissions.SPEC_READ,
    Permissions.SPEC_WRITE,
    docRead('public'),
    Permissions.FEED_READ,
    Permissions.FEED_REGISTER,
    Permissions.PROGRAM_ACK,
  ],
  READER: [Permissions.SPEC_READ, docRead('public'), Permissions.FEED_READ],
};

/**
 * Program-call states; the device agent acknowledges with one of the final four (EXPIRED: the
 * call's expiry had passed, it was never executed).
 */
export const CallStatuses = ['PENDING', 'EXECUTED', 'FAILED', 'REJECTED', 'EXPIRED'] as const;
export type CallStatus = (typeof CallStatuses)[number];
export type AcknowledgementStatus = Exclude<CallStatus, 'PENDING'>;

/** Safety change proposals: the change they carry, and their states. */
export const SafetyOperations = ['insertAML', 'removeAML', 'replaceAML'] as const;
export type SafetyOperation = (typeof SafetyOperations)[number];
export const ProposalStatuses = ['PENDING', 'APPLIED', 'REJECTED'] as const;
export type ProposalStatus = (typeof ProposalStatuses)[number];

/** A grant to every MSP of the channel (reading only). */
export const EVERYONE = '*';

/** The AML role class that marks an InternalElement as a program. */
export const PROGRAM_ROLE_CLASS = 'TwinLedgerRoleClassLib/Program';

/** Size limits the chaincode enforces (TOO_LARGE above them). */
export const Limits = {
  MAX_AML_BYTES: 8 * 1024 * 1024,
  MAX_ELEMENTS_PER_TWIN: 20_000,
  /** Chunked creation: chunks after the skeleton (TOO_LARGE above). */
  MAX_CREATION_CHUNKS: 4096,
  /** abortTwinCreation: staged chunks removed per call. */
  ABORT_CHUNKS_PER_CALL: 8,
  MAX_FRAGMENT_BYTES: 512 * 1024,
  MAX_ELEMENTS_PER_FRAGMENT: 2_000,
  MAX_XML_DEPTH: 128,
  MAX_ELEMENT_DEPTH: 64,
  MAX_JSON_ARG_BYTES: 64 * 1024,
  MAX_ID_LENGTH: 256,
  MAX_TEXT_LENGTH: 4096,
  /** Parties in one DHT ACL (recordAccessChange). */
  MAX_ACL_PARTIES: 64,
  /** callProgram request IDs. */
  MAX_REQUEST_ID_LENGTH: 128,
  /** callProgram: a call's lifetime when none is asked, seconds. */
  DEFAULT_CALL_TTL_S: 300,
  /** callProgram: the longest lifetime a caller may ask for, seconds. */
  MAX_CALL_TTL_S: 3600,
  /** Lists and history: items per page when none is asked. */
  DEFAULT_PAGE_SIZE: 100,
  /** Lists and history: the largest page (VALIDATION_FAILED above). */
  MAX_PAGE_SIZE: 1000,
  /** Filtered lists (documents, twins): records read per call to fill a page. */
  MAX_PAGE_SCAN: 10_000,
  /** Bookmarks: the longest a list answers or accepts (VALIDATION_FAILED above). */
  MAX_BOOKMARK_CHARS: 12_288,
  /** Modifications of one key's history read per call (history, as-of, document history): TOO_LARGE above. */
  MAX_KEY_HISTORY: 10_000,
  /** getTwinAsOf: writes replayed for one past state (TOO_LARGE above). */
  MAX_ASOF_WRITES: 200_000,
  /** anchorFeedRoot: most feed updates one anchor covers (TOO_LARGE above). */
  MAX_ANCHOR_UPDATES: 1_000_000,
} as const;
