import { NotFoundError, TwinLedgerError, UnavailableError, ValidationError } from '@twinledger/errors';

/** The peer did not hand out a block the export needs (down, or the transaction is unknown to it). */
export class BlockUnavailableError extends UnavailableError {
  override readonly code = 'AUDIT_BLOCK_UNAVAILABLE';
}

/** The change list given to the exporter does not start with the twin's creation (or is empty). */
export class AuditChangesMissingError extends NotFoundError {
  override readonly code = 'AUDIT_CHANGES_MISSING';
}

/** The file handed to the verifier is not JSON (the CLI's only failure before verifying). */
export class BundleUnreadableError extends ValidationError {
  override readonly code = 'BUNDLE_UNREADABLE';
}

/** A contiguous export would hold more blocks than the exporter's limit. */
export class AuditBundleTooLargeError extends TwinLedgerError {
  readonly code = 'TOO_LARGE';
  override readonly httpStatus: number = 413;
}
