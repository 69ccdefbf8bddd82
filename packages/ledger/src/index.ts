export { createTwinLedger, allPages, collectPages } from './ledger.js';
export type { TwinLedger } from './ledger.js';
export {
  ContractNames,
  ChaincodeErrorCodes,
  LedgerEvents,
  ConfidentialityLevels,
  Roles,
  Permissions,
  docRead,
  docWrite,
  ALL_PERMISSIONS,
  ROLE_PERMISSIONS,
  CallStatuses,
  SafetyOperations,
  ProposalStatuses,
  EVERYONE,
  PROGRAM_ROLE_CLASS,
  Limits,
} from './constants.js';
export type {
  ChaincodeErrorCode,
  LedgerEventName,
  ConfidentialityLevel,
  Role,
  Permission,
  DocPermission,
  CallStatus,
  AcknowledgementStatus,
  SafetyOperation,
  ProposalStatus,
} from './constants.js';
export { parseLedgerEvent, isLedgerEventName, twinIdOf } from './events.js';
export type { LedgerEvent, LedgerEventPayloads, RawChaincodeEvent } from './events.js';
export { LedgerResponseInvalidError, LedgerEventInvalidError } from './errors.js';
export {
  ChaincodeRejectedError,
  ChaincodeAccessDeniedError,
  ChaincodeValidationError,
  ChaincodeNotFoundError,
  ChaincodeAlreadyExistsError,
  ChaincodeOutOfBoundsError,
  ChaincodeAmlInvalidError,
  ChaincodeDoctypeForbiddenError,
  ChaincodeDuplicateIdError,
  ChaincodeTooLargeError,
  ChaincodeInvalidStateError,
  ChaincodeGrantForbiddenError,
  ChaincodeRequestIdConflictError,
  ChaincodeSafetyApprovalRequiredError,
  ChaincodeSelfApprovalError,
  ChaincodeStaleProposalError,
  chaincodeRejection,
  asChaincodeRejection,
  parseChaincodeCode,
} from './chaincode-errors.js';
export { DEFAULT_CHUNK_THRESHOLD_BYTES } from './chunked-creation.js';
export { documentReaders, permissionHolders } from './document-readers.js';
export type * from './types.js';
