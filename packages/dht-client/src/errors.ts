import {
  AccessDeniedError,
  ConflictError,
  NotFoundError,
  TwinLedgerError,
  UnavailableError,
  ValidationError,
  errorFromRemote,
  DHT_ERROR_CODES,
  type DhtErrorCode,
  type TwinLedgerErrorOptions,
} from '@twinledger/errors';

/**
 * What the gateway answered with, rebuilt as typed errors. Each class extends the shared base
 * for its status (so `instanceof AccessDeniedError` works) and keeps the gateway's exact
 * `code`. The gateway's codes are the DHT library's (`DHT_*`, listed once in
 * @twinledger/errors' `DHT_ERROR_CODES`, shared with @twinledger/dht without loading libp2p)
 * plus its own (`PAYLOAD_TOO_LARGE`, `VALIDATION_FAILED`, `UNAUTHENTICATED`). Feed codes
 * (`DHT_FEED_*`) stay mapped because the list is shared, but the gateway has no feed routes:
 * feeds are feed-ingest's (docs/architecture-decisions.md, ADR-10).
 */
type Ctor = new (message: string, options?: TwinLedgerErrorOptions & { retryAfterSeconds?: number }) => TwinLedgerError;

/** 403: the caller's organization is not in the item's ACL (nothing decryptable was sent). */
export class DhtAclDeniedError extends AccessDeniedError {
  override readonly code: string = DHT_ERROR_CODES.aclDenied;
}
/** 403: only the owner may change the ACL. */
export class DhtNotOwnerError extends AccessDeniedError {
  override readonly code: string = DHT_ERROR_CODES.notOwner;
}
/** 403: the gateway's party holds no wrapped key for the object. */
export class DhtNoKeyForPartyError extends AccessDeniedError {
  override readonly code: string = DHT_ERROR_CODES.noKeyForParty;
}
/** 403: an ACL names an organization the consortium does not know. */
export class DhtUnknownPartyError extends AccessDeniedError {
  override readonly code: string = DHT_ERROR_CODES.unknownParty;
}
/** 404: no replica holds the object (or every copy failed verification). */
export class DhtNotFoundError extends NotFoundError {
  override readonly code: string = DHT_ERROR_CODES.notFound;
}
/** 400: the request did not match the route's schema. */
export class GatewayValidationError extends ValidationError {
  override readonly code: string = 'VALIDATION_FAILED';
}
/** 400: a malformed reference, record or message. */
export class DhtMalformedError extends ValidationError {
  override readonly code: string = DHT_ERROR_CODES.malformedMessage;
}
/** 400: a feed append would leave a gap in the indices. */
export class FeedIndexGapError extends ValidationError {
  override readonly code: string = DHT_ERROR_CODES.feedIndexGap;
}
/** 409: the feed index already holds a different update. */
export class FeedReplayError extends ConflictError {
  override readonly code: string = DHT_ERROR_CODES.feedReplay;
}
/** 409: an ACL change raced a newer version. */
export class AclStaleVersionError extends ConflictError {
  override readonly code: string = DHT_ERROR_CODES.aclStaleVersion;
}
/** 413: the body exceeded the gateway's limit. */
export class PayloadTooLargeError extends TwinLedgerError {
  readonly code: string = 'PAYLOAD_TOO_LARGE';
  override readonly httpStatus: number = 413;
}
/** 401: missing, expired or forged bearer token. */
export class UnauthenticatedError extends TwinLedgerError {
  readonly code: string = 'UNAUTHENTICATED';
  override readonly httpStatus: number = 401;
}
/** 502: stored bytes failed verification on every replica. */
export class DhtIntegrityError extends TwinLedgerError {
  readonly code: string = DHT_ERROR_CODES.integrityFailed;
  override readonly httpStatus: number = 502;
}
/** 503: too few replicas acknowledged a write. */
export class DhtQuorumNotReachedError extends UnavailableError {
  override readonly code: string = DHT_ERROR_CODES.quorumNotReached;
}
/** 503: the gateway or a replica is unavailable; retry later. */
export class DhtUnavailableError extends UnavailableError {
  override readonly code: string = DHT_ERROR_CODES.peerFailed;
}

/** 413: a DHT message or object part exceeded a limit. */
export class DhtMessageTooLargeError extends TwinLedgerError {
  readonly code: string = DHT_ERROR_CODES.messageTooLarge;
  override readonly httpStatus: number = 413;
}
/** 400: a record's signature does not verify. */
export class DhtBadSignatureError extends ValidationError {
  override readonly code: string = DHT_ERROR_CODES.badSignature;
}
/** 400: a record was sent to an address it does not belong to. */
export class DhtWrongAddressError extends ValidationError {
  override readonly code: string = DHT_ERROR_CODES.wrongAddress;
}
/** 409: the content is already bound to another object. */
export class DhtBindingConflictError extends ConflictError {
  override readonly code: string = DHT_ERROR_CODES.bindingConflict;
}

/** 503: the gateway's DHT node is not running (starting or shutting down). */
export class DhtNotStartedError extends UnavailableError {
  override readonly code: string = DHT_ERROR_CODES.notStarted;
}

/** 409: a party registry entry lists a peer ID another organization holds. */
export class DhtPeerIdConflictError extends ConflictError {
  override readonly code: string = DHT_ERROR_CODES.peerIdConflict;
}

/** Any other answer: keeps the gateway's code and status as given. */
export { RemoteError as DhtGatewayError } from '@twinledger/errors';

// Every DHT code has its class: a code added to DHT_ERROR_CODES fails to compile here until mapped.
const dhtClasses: Readonly<Record<DhtErrorCode, Ctor>> = {
  DHT_MALFORMED_MESSAGE: DhtMalformedError,
  DHT_MESSAGE_TOO_LARGE: DhtMessageTooLargeError,
  DHT_INTEGRITY_FAILED: DhtIntegrityError,
  DHT_BAD_SIGNATURE: DhtBadSignatureError,
  DHT_WRONG_ADDRESS: DhtWrongAddressError,
  DHT_ACL_DENIED: DhtAclDeniedError,
  DHT_UNKNOWN_PARTY: DhtUnknownPartyError,
  DHT_ACL_STALE_VERSION: AclStaleVersionError,
  DHT_FEED_REPLAY: FeedReplayError,
  DHT_FEED_INDEX_GAP: FeedIndexGapError,
  DHT_BINDING_CONFLICT: DhtBindingConflictError,
  DHT_NOT_FOUND: DhtNotFoundError,
  DHT_NO_KEY_FOR_PARTY: DhtNoKeyForPartyError,
  DHT_QUORUM_NOT_REACHED: DhtQuorumNotReachedError,
  DHT_PEER_FAILED: DhtUnavailableError,
  DHT_NOT_OWNER: DhtNotOwnerError,
  DHT_NOT_STARTED: DhtNotStartedError,
  DHT_PEER_ID_CONFLICT: DhtPeerIdConflictError,
};
/** The gateway's own codes. */
const gatewayClasses: readonly Ctor[] = [GatewayValidationError, PayloadTooLargeError, UnauthenticatedError];

const byCode: ReadonlyMap<string, Ctor> = new Map<string, Ctor>([...Object.entries(dhtClasses), ...gatewayClasses.map((C) => [new C('').code, C] as const)]);

/** Builds the typed error for a non-2xx answer; `body` is the parsed JSON body, if any. */
export function errorFromResponse(status: number, body: unknown, retryAfter: string | null): TwinLedgerError {
  const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code = typeof b['code'] === 'string' ? b['code'] : `HTTP_${status}`;
  const message = typeof b['message'] === 'string' ? b['message'] : `dht-gateway answered ${status}`;
  const details: Record<string, unknown> = {
    ...(typeof b['details'] === 'object' && b['details'] !== null ? (b['details'] as Record<string, unknown>) : {}),
    ...(typeof b['requestId'] === 'string' ? { requestId: b['requestId'] } : {}),
    status,
  };
  const retry = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  const options = { details, ...(retry !== undefined ? { retryAfterSeconds: retry } : {}) };
  const Cls = byCode.get(code);
  if (Cls !== undefined) return new Cls(message, options);
  // Codes this client does not know yet keep their code in the base class of their status.
  return errorFromRemote(status, code, message, options);
}
