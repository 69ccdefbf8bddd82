import { TwinLedgerError, ValidationError } from '@twinledger/errors';

/**
 * One class per refusal, with the chaincode's own codes (`chaincode/src/errors.ts`), so a
 * service refusing AML before the ledger answers exactly what the ledger would have answered.
 */

/** Malformed XML, or XML that is not acceptable CAEX (including nesting beyond MAX_XML_DEPTH). */
export class AmlInvalidError extends ValidationError {
  override readonly code: string = 'AML_INVALID';
}

/** A DOCTYPE or ENTITY declaration (XXE, billion laughs): refused before any parsing. */
export class DoctypeForbiddenError extends ValidationError {
  override readonly code: string = 'DOCTYPE_FORBIDDEN';
}

/** An ID occurs twice in the input. */
export class DuplicateIdError extends ValidationError {
  override readonly code: string = 'DUPLICATE_ID';
}

/** A document, fragment or specification exceeds a size limit (bytes, elements, element depth). */
export class AmlTooLargeError extends TwinLedgerError {
  readonly code: string = 'TOO_LARGE';
  override readonly httpStatus: number = 413;
}

/** The input is not a string at all (the chaincode's VALIDATION_FAILED). */
export class AmlNotTextError extends ValidationError {}

/** Every error this package throws. */
export type AmlError = AmlInvalidError | DoctypeForbiddenError | DuplicateIdError | AmlTooLargeError | AmlNotTextError;

export function isAmlError(err: unknown): err is AmlError {
  return (
    err instanceof AmlInvalidError ||
    err instanceof DoctypeForbiddenError ||
    err instanceof DuplicateIdError ||
    err instanceof AmlTooLargeError ||
    err instanceof AmlNotTextError
  );
}
