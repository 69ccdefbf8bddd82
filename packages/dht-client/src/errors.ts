import { TwinLedgerError, ValidationError, errorFromRemote, type TwinLedgerErrorOptions } from '@twinledger/errors';
import { dhtErrorClasses } from '@twinledger/dht/errors';

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

/** 400: the request did not match the route's schema. */
export class GatewayValidationError extends ValidationError {
  override readonly code: string = 'VALIDATION_FAILED';
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

// The DHT's own failure modes are the DHT library's classes (its libp2p-free `errors` subpath),
// under the names this client has always exported: one class per code in the whole project.
export {
  AclDeniedError as DhtAclDeniedError,
  NotOwnerError as DhtNotOwnerError,
  NoKeyForPartyError as DhtNoKeyForPartyError,
  UnknownPartyError as DhtUnknownPartyError,
  ItemNotFoundError as DhtNotFoundError,
  MalformedMessageError as DhtMalformedError,
  FeedIndexGapError,
  FeedReplayError,
  StaleAclVersionError as AclStaleVersionError,
  IntegrityError as DhtIntegrityError,
  QuorumNotReachedError as DhtQuorumNotReachedError,
  PeerRequestError as DhtUnavailableError,
  MessageTooLargeError as DhtMessageTooLargeError,
  InvalidSignatureError as DhtBadSignatureError,
  WrongAddressError as DhtWrongAddressError,
  BindingConflictError as DhtBindingConflictError,
  NodeNotStartedError as DhtNotStartedError,
  PeerIdConflictError as DhtPeerIdConflictError,
} from '@twinledger/dht/errors';

/** Any other answer: keeps the gateway's code and status as given. */
export { RemoteError as DhtGatewayError } from '@twinledger/errors';

/** The gateway's own codes. */
const gatewayClasses: readonly Ctor[] = [GatewayValidationError, PayloadTooLargeError, UnauthenticatedError];

const byCode: ReadonlyMap<string, Ctor> = new Map<string, Ctor>([...Object.entries(dhtErrorClasses), ...gatewayClasses.map((C) => [new C('').code, C] as const)]);

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
