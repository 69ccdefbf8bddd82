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

/** A valid token of this org's issuer for the gateway, but not a workload's (no `svc` claim). */
export class ServiceCredentialRequiredError extends AccessDeniedError {
  override readonly code: string = 'SERVICE_CREDENTIAL_REQUIRED';
}

/** An ACL change by a workload other than the key manager (beyond narrowing an object to this org). */
export class AclChangeForbiddenError extends AccessDeniedError {
  override readonly code: string = 'ACL_CHANGE_FORBIDDEN';
}

/** Object and feed bodies are raw bytes: `application/octet-stream` only. */
export class UnsupportedMediaTypeError extends TwinLedgerError {
  readonly code: string = 'UNSUPPORTED_MEDIA_TYPE';
  override readonly httpStatus: number = 415;
}
