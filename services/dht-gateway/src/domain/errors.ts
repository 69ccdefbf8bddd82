import { AccessDeniedError, ConflictError, NotFoundError, TwinLedgerError } from '@twinledger/errors';

/** Appends need the feed's owner key, which only the gateway that created the feed holds. */
export class FeedNotOwnedError extends NotFoundError {
  override readonly code: string = 'FEED_NOT_OWNED';
}

/** Neither this gateway's records nor the DHT (no head yet) know the feed. */
export class FeedUnknownError extends NotFoundError {
  override readonly code: string = 'FEED_UNKNOWN';
}

/** The feed has no update yet. */
export class FeedEmptyError extends NotFoundError {
  override readonly code: string = 'FEED_EMPTY';
}

/** The topic already has a feed on this gateway, with a different ACL. */
export class FeedExistsError extends ConflictError {
  override readonly code: string = 'FEED_EXISTS';
}

/** The token belongs to another organization: this gateway serves its own org's services only. */
export class ForeignOrganizationError extends AccessDeniedError {
  override readonly code: string = 'GATEWAY_FOREIGN_ORG';
}

/** Object and feed bodies are raw bytes: `application/octet-stream` only. */
export class UnsupportedMediaTypeError extends TwinLedgerError {
  readonly code: string = 'UNSUPPORTED_MEDIA_TYPE';
  override readonly httpStatus: number = 415;
}
