export { createIdentityRegistry, observeClient } from './registry.js';
export type { IdentityRegistry, IdentityRegistryInit, CallerIdentity } from './registry.js';
export { findIdentityFiles, listIdentityNames, IDENTITY_NAME } from './identity-dir.js';
export { IdentityNotMappedError, ForeignOrganizationError } from './errors.js';
export { documentReaders, permissionHolders } from './document-readers.js';
export { createObservedIdentities } from './observed.js';
export type { ObservedIdentitiesInit, ObservedIdentities, PeerHealthOptions } from './observed.js';
export { ledgerGatewayEnv, ledgerGatewayFromEnv, peerHealthEnv, peerHealthFromEnv } from './env.js';
export type { LedgerGatewayConfig, PeerHealthConfig } from './env.js';
