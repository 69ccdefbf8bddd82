import { AccessDeniedError, TwinLedgerError, UnavailableError } from '@twinledger/errors';

/** The document's bytes from the DHT do not hash to what the ledger recorded: nothing is served. */
export class DocumentIntegrityError extends TwinLedgerError {
  readonly code = 'DOCUMENT_INTEGRITY';
  override readonly httpStatus = 502;
}

/** An upload exceeded the document size limit. */
export class DocumentTooLargeError extends TwinLedgerError {
  readonly code = 'PAYLOAD_TOO_LARGE';
  override readonly httpStatus = 413;
}

/** /events on a replica that does not relay ledger events (RELAY=false): its hub never fills. */
export class EventsNotRelayedError extends UnavailableError {
  override readonly code: string = 'EVENTS_NOT_RELAYED';
}

/**
 * The cached decision of the chaincode refuses the caller (the same code as the chaincode's own
 * refusal, which a read without the cache answers).
 */
export class ReadAccessDeniedError extends AccessDeniedError {
  override readonly code: string = 'ACCESS_DENIED';
}

/** A replica built without a block reader (no qscc client): it cannot export block-proof bundles. */
export class AuditBundlesUnavailableError extends UnavailableError {
  override readonly code: string = 'AUDIT_BUNDLES_UNAVAILABLE';
}
