import { NotFoundError, TwinLedgerError, ValidationError } from '@twinledger/errors';

/** An `{aasIdentifier}` or `{submodelIdentifier}` path segment that is not base64url (IDTA-01002 encodes identifiers so). */
export class AasIdentifierInvalidError extends ValidationError {
  override readonly code: string = 'AAS_IDENTIFIER_INVALID';
}

/** An idShortPath that no element could have (empty segment, characters outside idShort's alphabet). */
export class IdShortPathInvalidError extends ValidationError {
  override readonly code: string = 'AAS_ID_SHORT_PATH_INVALID';
}

/** A paging cursor this service did not issue. */
export class AasCursorInvalidError extends ValidationError {
  override readonly code: string = 'AAS_CURSOR_INVALID';
}

/**
 * No shell, submodel or element with this identifier or path. For identifiers of a twin the
 * caller may not read, the ledger's own refusal is answered instead, as the twin routes do.
 */
export class AasNotFoundError extends NotFoundError {
  override readonly code: string = 'AAS_NOT_FOUND';
}

/** The AASX package would exceed the configured size (the documents it carries are summed). */
export class AasxTooLargeError extends TwinLedgerError {
  readonly code: string = 'AASX_TOO_LARGE';
  override readonly httpStatus: number = 413;
}

/**
 * The environment the mapping produced fails the AAS library's verification: a bug of the
 * mapping, never of the caller's input, so nothing is served.
 */
export class AasVerificationError extends TwinLedgerError {
  readonly code: string = 'AAS_VERIFICATION_FAILED';
  override readonly httpStatus: number = 500;
}

/** An AASX package that is not one (no origin, no specification part, unreadable zip). */
export class AasxInvalidError extends ValidationError {
  override readonly code: string = 'AASX_INVALID';
}
