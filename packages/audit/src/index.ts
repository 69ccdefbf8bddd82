export { BUNDLE_FORMAT } from './bundle.js';
export type { AuditBlockBundle, BundleChange, BundleDocument } from './bundle.js';
export { verifyBlockBundle, FailureCodes } from './verify.js';
export type { VerifyOptions, BlockBundleVerification, BundleFeedVerification, VerifiedAnchor, VerificationCheck, VerificationFailure, FailureCode } from './verify.js';
export { verifyReadingsProof, ReadingsProofCodes } from './readings-proof.js';
export type {
  ReadingsProof,
  ReadingsProofAnchor,
  ReadingsProofCode,
  ReadingsProofEdge,
  ReadingsEdgeStatus,
  ReadingsProofFailure,
  ReadingsProofRequest,
  ReadingsProofSegment,
  ReadingsProofVerification,
  ReadingsWithProof,
  TrustedAnchor,
} from './readings-proof.js';
export { createAuditBundleExporter, lastConfigIndex } from './export.js';
export type { AuditBundleExporter, AuditBundleExporterInit, AuditExportRequest, BlockReader } from './export.js';
export { BlockUnavailableError, AuditChangesMissingError, BundleUnreadableError, AuditBundleTooLargeError } from './errors.js';
export { blockNumberOfTx, createQsccBlockReader } from './qscc.js';
export type { QsccEvaluate } from './qscc.js';
export { runVerifyCli } from './run-cli.js';
export type { CliOutput } from './run-cli.js';
export type { BundleFeed, BundleFeedUpdate, BundleFeedConflict } from './bundle.js';
export { merkleLeafHash, merkleRoot, merkleTree, verifyMerkleInclusion } from './merkle.js';
export type { MerkleTree } from './merkle.js';
export { feedLeafHash, verifyFeedEvidence, FeedFailureCodes } from './feed-evidence.js';
export type { AnchoredRoot, FeedEvidenceResult, FeedEquivocation, FeedFailure, FeedFailureCode } from './feed-evidence.js';
export { assembleAuditBundle } from './assemble.js';
export type { BundleSources, AssembleRequest } from './assemble.js';
