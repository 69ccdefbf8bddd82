import { TwinLedgerError, type TwinLedgerErrorOptions } from '@twinledger/errors';
import { EndorsementFailedError, SubmitFailedError } from '@twinledger/fabric-client';
import { ChaincodeErrorCodes, type ChaincodeErrorCode } from './constants.js';

type Opts = TwinLedgerErrorOptions & { readonly transactionId?: string };

/**
 * The chaincode refused the transaction with one of its coded errors (`ACCESS_DENIED: ...`);
 * nothing was written. One subclass per code (below), each with its stable code and HTTP status:
 * branch on the class, or on `code`; `instanceof ChaincodeRejectedError` is "any refusal".
 */
export abstract class ChaincodeRejectedError extends TwinLedgerError {
  abstract override readonly code: ChaincodeErrorCode;
  readonly transactionId: string | undefined;
  constructor(message: string, options: Opts = {}) {
    super(message, options);
    this.transactionId = options.transactionId;
  }
}

/** The caller lacks the permission the function needs. */
export class ChaincodeAccessDeniedError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.ACCESS_DENIED;
  override readonly httpStatus = 403;
}
/** An argument is missing, malformed or of the wrong type. */
export class ChaincodeValidationError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.VALIDATION_FAILED;
  override readonly httpStatus = 400;
}
/** The twin, element, document, grant, party, ... does not exist. */
export class ChaincodeNotFoundError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.NOT_FOUND;
  override readonly httpStatus = 404;
}
/** The twin, document, feed, ... already exists. */
export class ChaincodeAlreadyExistsError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.ALREADY_EXISTS;
  override readonly httpStatus = 409;
}
/** A program-call parameter lies outside the bounds recorded in the AML. */
export class ChaincodeOutOfBoundsError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.OUT_OF_BOUNDS;
  override readonly httpStatus = 400;
}
/** The XML is malformed or is not acceptable CAEX. */
export class ChaincodeAmlInvalidError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.AML_INVALID;
  override readonly httpStatus = 400;
}
/** The XML contains a DOCTYPE. */
export class ChaincodeDoctypeForbiddenError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.DOCTYPE_FORBIDDEN;
  override readonly httpStatus = 400;
}
/** An ID occurs twice in the input or already exists in the twin. */
export class ChaincodeDuplicateIdError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.DUPLICATE_ID;
  override readonly httpStatus = 400;
}
/** An input exceeds a documented size limit. */
export class ChaincodeTooLargeError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.TOO_LARGE;
  override readonly httpStatus = 413;
}
/** The object is in a state that forbids the operation (e.g. acknowledging a finished call). */
export class ChaincodeInvalidStateError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.INVALID_STATE;
  override readonly httpStatus = 409;
}
/** A grant that would let someone other than the twin's device agent acknowledge program calls. */
export class ChaincodeGrantForbiddenError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.GRANT_FORBIDDEN;
  override readonly httpStatus = 403;
}
/** callProgram: the request ID was already used by this organization with other arguments. */
export class ChaincodeRequestIdConflictError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.REQUEST_ID_CONFLICT;
  override readonly httpStatus = 409;
}
/** A plain spec edit touching safety content: it needs proposeSafetyChange and another organization's approval. */
export class ChaincodeSafetyApprovalRequiredError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.SAFETY_APPROVAL_REQUIRED;
  override readonly httpStatus = 403;
}
/** The proposer's own organization tried to approve its safety change. */
export class ChaincodeSelfApprovalError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.SELF_APPROVAL;
  override readonly httpStatus = 403;
}
/** The specification changed after the safety change was proposed. */
export class ChaincodeStaleProposalError extends ChaincodeRejectedError {
  readonly code = ChaincodeErrorCodes.STALE_PROPOSAL;
  override readonly httpStatus = 409;
}

type RejectionClass = new (message: string, options?: Opts) => ChaincodeRejectedError;

/** The class of each chaincode code; typed as a total record, so a new code without a class does not build. */
const CLASSES: Readonly<Record<ChaincodeErrorCode, RejectionClass>> = {
  ACCESS_DENIED: ChaincodeAccessDeniedError,
  VALIDATION_FAILED: ChaincodeValidationError,
  NOT_FOUND: ChaincodeNotFoundError,
  ALREADY_EXISTS: ChaincodeAlreadyExistsError,
  OUT_OF_BOUNDS: ChaincodeOutOfBoundsError,
  AML_INVALID: ChaincodeAmlInvalidError,
  DOCTYPE_FORBIDDEN: ChaincodeDoctypeForbiddenError,
  DUPLICATE_ID: ChaincodeDuplicateIdError,
  TOO_LARGE: ChaincodeTooLargeError,
  INVALID_STATE: ChaincodeInvalidStateError,
  GRANT_FORBIDDEN: ChaincodeGrantForbiddenError,
  REQUEST_ID_CONFLICT: ChaincodeRequestIdConflictError,
  SAFETY_APPROVAL_REQUIRED: ChaincodeSafetyApprovalRequiredError,
  SELF_APPROVAL: ChaincodeSelfApprovalError,
  STALE_PROPOSAL: ChaincodeStaleProposalError,
};

const isCode = (s: string): s is ChaincodeErrorCode => Object.hasOwn(CLASSES, s);

/** The refusal of `code` (a chaincode code) as its class. */
export function chaincodeRejection(code: ChaincodeErrorCode, message: string, options: Opts = {}): ChaincodeRejectedError {
  return new CLASSES[code](message, options);
}

// A chaincode code at the start of a message or after the peer's prefix ("chaincode response 500,
// CODE: ..."); only the chaincode's codes, so gRPC's own words ("10 ABORTED: ...") are passed over.
const CODED = new RegExp(`(?:^|[\\s,:])(${Object.keys(CLASSES).join('|')}): (.*)$`, 's');

/** Pulls `CODE: message` out of one error text, if CODE is one of the chaincode's. */
export function parseChaincodeCode(text: string): { code: ChaincodeErrorCode; message: string } | undefined {
  const m = CODED.exec(text);
  if (!m || !isCode(m[1]!)) return undefined;
  return { code: m[1], message: `${m[1]}: ${m[2]!.trim()}` };
}

/**
 * fabric-client knows transport failures, not the chaincode's codes: a refusal reaches this
 * package as an endorsement or submit failure whose text carries `CODE: ...` (in a peer's
 * detail, or in the message). Re-typed here to the code's class; anything else is returned as it is.
 */
export function asChaincodeRejection(err: unknown): unknown {
  if (!(err instanceof EndorsementFailedError || err instanceof SubmitFailedError)) return err;
  const texts = [...err.peerMessages, err.message];
  const coded = texts.map(parseChaincodeCode).find((c) => c !== undefined);
  return coded ? chaincodeRejection(coded.code, coded.message, { cause: err, transactionId: err.transactionId }) : err;
}
