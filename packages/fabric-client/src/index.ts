export { createFabricClient, mapGatewayError, DEFAULT_DEADLINES } from './client.js';
export type { FabricClient, FabricClientInit, Deadlines, SubmitResult, TransactionOptions, EventStreamOptions } from './client.js';
export { createPeerConnectionPool } from './connection.js';
export type { PeerConnectionPool, PeerEndpoint } from './connection.js';
export { loadIdentity } from './identity.js';
export type { IdentityFiles, LoadedIdentity } from './identity.js';
export {
  ChaincodeRejectedError,
  EndorsementFailedError,
  SubmitFailedError,
  MvccConflictError,
  TransactionInvalidError,
  GatewayUnavailableError,
  CommitOutcomeUnknownError,
  parseChaincodeCode,
} from './errors.js';
export { checkpointFile, checkpointInMemory } from './checkpoint.js';
export type { ChaincodeEvent, Checkpointer } from '@hyperledger/fabric-gateway';
export { createLedgerEventSource } from './event-source.js';
export type { LedgerEventSource, LedgerEventSourceInit } from './event-source.js';
