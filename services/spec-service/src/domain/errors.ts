import { TwinLedgerError, UnavailableError, ValidationError } from '@twinledger/errors';

/** Malformed XML or not a CAEX document/fragment: refused before any transaction. */
export class AmlInvalidError extends ValidationError {
  override readonly code: string = 'AML_INVALID';
}

/** A DOCTYPE or ENTITY declaration (XXE, billion laughs): refused before parsing. */
export class DoctypeForbiddenError extends ValidationError {
  override readonly code: string = 'DOCTYPE_FORBIDDEN';
}

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
