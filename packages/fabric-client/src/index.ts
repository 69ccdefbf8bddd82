export { createFabricClient, mapGatewayError, DEFAULT_DEADLINES } from './client.js';
export type { FabricClient, FabricClientInit, Deadlines, SubmitResult, TransactionOptions, EventStreamOptions } from './client.js';
export { createPeerConnectionPool } from './connection.js';
export type { PeerConnectionPool, PeerEndpoint } from './connection.js';
export { loadIdentity } from './identity.js';
export type { IdentityFiles, LoadedIdentity } from './identity.js';
export {
  EndorsementFailedError,
  SubmitFailedError,
  MvccConflictError,
  TransactionInvalidError,
  WriteConflictError,
  GatewayUnavailableError,
  PeerUnavailableError,
  PEER_RETRY_AFTER_SECONDS,
  CommitOutcomeUnknownError,
} from './errors.js';
export { checkpointFile, checkpointInMemory } from './checkpoint.js';
export { withWriteRetry, isReadConflict, isTransientWriteFailure, isPeerDisagreement, TRANSIENT_WRITE_RETRY, PEER_LAG_RETRY, type WriteRetryInit } from './retry.js';
export type { ChaincodeEvent, Checkpointer } from '@hyperledger/fabric-gateway';
export { createLedgerEventSource } from './event-source.js';
export { peerEnv, peerEndpointFromEnv, fabricClientFromEnv } from './env.js';
export type { LedgerEventSource, LedgerEventSourceInit } from './event-source.js';
export { createPeerHealth } from './peer-health.js';
export type { PeerHealth, PeerHealthInit } from './peer-health.js';
export { createChainInfoProbe, chainInfoHeight } from './peer-probe.js';
export type { ChainInfoProbeInit, PeerProbe } from './peer-probe.js';
