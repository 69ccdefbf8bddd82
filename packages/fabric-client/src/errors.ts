import { ConflictError, TwinLedgerError, UnavailableError, type TwinLedgerErrorOptions } from '@twinledger/errors';

type Opts = TwinLedgerErrorOptions & { readonly transactionId?: string };

abstract class FabricError extends TwinLedgerError {
  readonly transactionId: string | undefined;
  constructor(message: string, options: Opts = {}) {
    super(message, options);
    this.transactionId = options.transactionId;
  }
}

// Stable codes the chaincode puts at the start of its error messages, with their HTTP status.
const CHAINCODE_STATUS: Record<string, number> = {
  ACCESS_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  VALIDATION_FAILED: 400,
  AML_INVALID: 400,
  DOCTYPE_FORBIDDEN: 400,
  DUPLICATE_ID: 400,
  OUT_OF_BOUNDS: 400,
  TOO_LARGE: 413,
  EXPIRED: 403,
  INVALID_STATE: 409,
  GRANT_FORBIDDEN: 403,
  REQUEST_ID_CONFLICT: 409,
  // Safety rules: a plain spec edit may not touch them (403), nor may the proposer approve its
  // own change (403); a proposal overtaken by another spec change conflicts (409).
  SAFETY_APPROVAL_REQUIRED: 403,
  SELF_APPROVAL: 403,
  STALE_PROPOSAL: 409,
};

/**
 * The chaincode refused the transaction with a coded error (`ACCESS_DENIED: ...`). The code is
 * the chaincode's own; nothing was written.
 */
export class ChaincodeRejectedError extends FabricError {
  readonly code: string;
  override readonly httpStatus: number;
  constructor(code: string, message: string, options: Opts = {}) {
    super(message, options);
    this.code = code;
    this.httpStatus = CHAINCODE_STATUS[code] ?? 400;
  }
}

/** Endorsement failed for a reason other than a coded chaincode refusal (e.g. unknown identity). */
export class EndorsementFailedError extends FabricError {
  readonly code = 'ENDORSEMENT_FAILED';
  override readonly httpStatus: number = 502;
}

/** The orderer did not accept the endorsed transaction. */
export class SubmitFailedError extends FabricError {
  readonly code = 'SUBMIT_FAILED';
  override readonly httpStatus: number = 502;
}

/** The transaction was ordered but invalidated at commit by a read conflict: retry it. */
export class MvccConflictError extends FabricError {
  readonly code = 'MVCC_CONFLICT';
  override readonly httpStatus: number = 409;
}

/** A write kept losing Fabric's MVCC read-conflict check after every retry (see withWriteRetry). */
export class WriteConflictError extends ConflictError {
  override readonly code: string = 'MVCC_CONFLICT';
}

/** The transaction was ordered but invalidated at commit for another reason. */
export class TransactionInvalidError extends FabricError {
  readonly code = 'TRANSACTION_INVALID';
  override readonly httpStatus: number = 409;
  readonly validationCode: number;
  constructor(message: string, validationCode: number, options: Opts = {}) {
    super(message, options);
    this.validationCode = validationCode;
  }
}

/** Seconds a caller is told to wait (Retry-After) when the peer cannot take the call. */
export const PEER_RETRY_AFTER_SECONDS = 2;

type UnavailableOpts = Opts & { readonly retryAfterSeconds?: number };

/**
 * The peer could not be reached, or the call ran past its deadline before anything was ordered.
 * An UnavailableError, so services answer 503 with Retry-After.
 */
export class GatewayUnavailableError extends UnavailableError {
  override readonly code: string = 'GATEWAY_UNAVAILABLE';
  readonly transactionId: string | undefined;
  constructor(message: string, options: UnavailableOpts = {}) {
    super(message, { ...options, retryAfterSeconds: options.retryAfterSeconds ?? PEER_RETRY_AFTER_SECONDS });
    this.transactionId = options.transactionId;
  }
}

/**
 * The organization's own peer is known to be down (its health probes fail), so the call was not
 * sent, or was given up while it waited for endorsement; nothing was ordered. A
 * GatewayUnavailableError, so code branching on that class keeps working.
 */
export class PeerUnavailableError extends GatewayUnavailableError {
  override readonly code: string = 'PEER_UNAVAILABLE';
}

/**
 * The transaction was endorsed and handed to ordering, but its commit status never arrived
 * (deadline passed, connection lost): it may have committed or not. Unlike
 * GATEWAY_UNAVAILABLE, a blind retry could do the work twice; look the outcome up first (by the
 * transaction ID, or for program calls by the request ID) or retry an idempotent request.
 */
export class CommitOutcomeUnknownError extends FabricError {
  readonly code = 'OUTCOME_UNKNOWN';
  override readonly httpStatus: number = 504;
  constructor(message: string, options: Opts = {}) {
    // The caller needs the transaction ID to find out later what happened (a twin's history
    // lists its changes by transaction): it goes into the details every error body shows.
    super(message, options.transactionId ? { ...options, details: { ...options.details, transactionId: options.transactionId } } : options);
  }
}

/** Pulls `CODE: message` out of a chaincode error text such as "chaincode response 500, ACCESS_DENIED: ...". */
export function parseChaincodeCode(text: string): { code: string; message: string } | undefined {
  const m = /(?:^|[\s,:])([A-Z][A-Z0-9_]{2,40}): (.*)$/s.exec(text);
  if (!m || !(m[1]! in CHAINCODE_STATUS)) return undefined;
  return { code: m[1]!, message: `${m[1]}: ${m[2]!.trim()}` };
}
