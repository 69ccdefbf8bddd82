import { ConflictError, TwinLedgerError, UnavailableError, type TwinLedgerErrorOptions } from '@twinledger/errors';

type Opts = TwinLedgerErrorOptions & {
  readonly transactionId?: string;
  /** What each peer answered (the gateway's error details), where a chaincode puts its coded refusal. */
  readonly peerMessages?: readonly string[];
};

abstract class FabricError extends TwinLedgerError {
  readonly transactionId: string | undefined;
  /**
   * The peers' own answers. This package knows transport failures only: a chaincode's coded
   * refusal (`ACCESS_DENIED: ...`) is in here and is re-typed by @twinledger/ledger, which owns
   * the chaincode's codes.
   */
  readonly peerMessages: readonly string[];
  constructor(message: string, options: Opts = {}) {
    const { peerMessages, ...rest } = options;
    super(message, rest);
    this.transactionId = options.transactionId;
    this.peerMessages = peerMessages ?? [];
  }

  /** A peer answered with a chaincode's coded refusal: the chaincode decided, so a retry gets the same answer. */
  get refusedByChaincode(): boolean {
    return this.peerMessages.some((m) => CHAINCODE_REFUSAL.test(m));
  }
}

/**
 * How a peer reports a chaincode's coded error ("chaincode response 500, CODE: ..."). Which
 * codes exist is @twinledger/ledger's knowledge; the shape is enough to know the peer answered.
 */
const CHAINCODE_REFUSAL = /chaincode response \d+, [A-Z][A-Z0-9_]{2,40}: /;

/** Endorsement failed: a chaincode refusal (see peerMessages; @twinledger/ledger re-types it) or another reason (e.g. unknown identity). */
export class EndorsementFailedError extends FabricError {
  readonly code = 'ENDORSEMENT_FAILED';
  override readonly httpStatus: number = 502;
  /**
   * This organization's peer endorsed, another organization's peer did not. The gateway asks its
   * own organization's peer first and the others only after it said yes, so a refusal there
   * means the peers simulated on different ledger heights: a peer that has not yet committed
   * the block this client's previous write is in (or one ahead of ours). Nothing was ordered,
   * so endorsing again once the peers agree is safe (see PEER_LAG_RETRY).
   */
  readonly peersDisagree: boolean;
  constructor(message: string, options: Opts & { readonly peersDisagree?: boolean } = {}) {
    const { peersDisagree, ...rest } = options;
    super(message, rest);
    this.peersDisagree = peersDisagree ?? false;
  }
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
