import { AccessDeniedError, ConflictError, NotFoundError, UnavailableError, ValidationError } from '@twinledger/errors';

/** Readings name a feed this organization never registered. */
export class UnknownFeedError extends NotFoundError {
  override readonly code: string = 'UNKNOWN_FEED';
}

/** A reading's component or unit differs from the feed's registration. */
export class FeedMismatchError extends ValidationError {
  override readonly code: string = 'FEED_MISMATCH';
}

/** The same twin/component is already registered as a feed. */
export class FeedExistsError extends ConflictError {
  override readonly code: string = 'FEED_EXISTS';
}

/** An AML fragment or expected range that cannot be used. */
export class InvalidRangeError extends ValidationError {
  override readonly code: string = 'INVALID_EXPECTED_RANGE';
}

/** Too many readings per request, or an unsupported body form. */
export class BatchRejectedError extends ValidationError {
  override readonly code: string = 'BATCH_REJECTED';
}

/** The ingest backlog (not yet in the DHT) is at its bound: retry later. */
export class BacklogFullError extends UnavailableError {
  override readonly code: string = 'INGEST_BACKLOG_FULL';
}

/** Kafka did not acknowledge the readings: nothing was accepted. */
export class BrokerUnavailableError extends UnavailableError {
  override readonly code: string = 'BROKER_UNAVAILABLE';
}

/**
 * Kafka acknowledged some readings of a batch and not others. `details.acknowledged` and
 * `details.notAcknowledged` list request positions as inclusive [from, to] ranges: the first are
 * durable (acks=all) and must not be sent again, the second are to be retried.
 */
export class PartialBatchError extends UnavailableError {
  override readonly code: string = 'BATCH_PARTIALLY_ACCEPTED';
}

/** The ledger does not grant the caller the feed permission on the feed's twin (read or write). */
export class FeedAccessDeniedError extends AccessDeniedError {
  override readonly code: string = 'FEED_ACCESS_DENIED';
}

/** A readings proof cannot be assembled: the ledger (anchors, their blocks) or the replicas (records, manifests) did not answer. */
export class ProofUnavailableError extends UnavailableError {
  override readonly code: string = 'PROOF_UNAVAILABLE';
}
