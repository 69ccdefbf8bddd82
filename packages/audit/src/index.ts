export { BUNDLE_FORMAT } from './bundle.js';
export type { AuditBlockBundle, BundleChange, BundleDocument } from './bundle.js';
export { verifyBlockBundle, FailureCodes } from './verify.js';
export type { VerifyOptions, BlockBundleVerification, VerificationCheck, VerificationFailure, FailureCode } from './verify.js';
export { createAuditBundleExporter, lastConfigIndex } from './export.js';
export type { AuditBundleExporter, AuditBundleExporterInit, AuditExportRequest, BlockReader } from './export.js';
export { BlockUnavailableError, AuditChangesMissingError, BundleUnreadableError } from './errors.js';
export { createQsccBlockReader } from './qscc.js';
export type { QsccEvaluate } from './qscc.js';
