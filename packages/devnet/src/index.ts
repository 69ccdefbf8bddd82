export { startNetwork, installEngines, describe, DEFAULT_ORGS, CONSORTIUM_ORGS } from './network.js';
export type { DevNetwork, NetworkInit, OrgHandle } from './network.js';
export type { IdentityFiles, OrgTopology } from './fabric/topology.js';
export { CHANNEL, CHAINCODE_NAME } from './fabric/topology.js';
export { KafkaBroker } from './kafka/broker.js';
export { ManagedProcess } from './process.js';
export { defaultCacheDir } from './install/cache.js';
export { EngineInstallError, PortInUseError, ProcessStartError, CommandFailedError, PrerequisiteError } from './errors.js';
export { FABRIC_VERSION, FABRIC_COMMIT, KAFKA_VERSION } from './versions.js';
