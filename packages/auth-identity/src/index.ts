export { createIdentityRegistry, observeClient } from './registry.js';
export type { IdentityRegistry, IdentityRegistryInit, CallerIdentity } from './registry.js';
export { findIdentityFiles, listIdentityNames, IDENTITY_NAME } from './identity-dir.js';
export { withMvccRetry } from './retry.js';
export type { RetryInit } from './retry.js';
export { IdentityNotMappedError, ForeignOrganizationError, WriteConflictError } from './errors.js';
export { documentReaders } from './document-readers.js';
export { createObservedIdentities } from './observed.js';
export type { ObservedIdentitiesInit } from './observed.js';
