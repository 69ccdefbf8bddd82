export { ensureApplicationCertificate, readCertificateDer, readUserCredentials, thumbprintOf, trustExactly } from './pki.js';
export type { ApplicationCertificate, EnsureCertificateInit } from './pki.js';
export { OpcUaConfigInvalidError } from './errors.js';
export { SECURE_POLICIES } from './security.js';
export type { SecurePolicy, UserCredentials } from './security.js';
export type { DeviceComponent } from './components.js';
