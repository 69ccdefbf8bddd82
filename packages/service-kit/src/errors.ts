import { AccessDeniedError, TwinLedgerError, ValidationError, type TwinLedgerErrorOptions } from '@twinledger/errors';
import { Type, type Static } from '@sinclair/typebox';

/** The one error body every service answers with. */
export const ErrorResponse = Type.Object(
  {
    code: Type.String({ description: 'Stable machine-readable code, e.g. ACCESS_DENIED' }),
    message: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    requestId: Type.Optional(Type.String()),
  },
  { $id: 'ErrorResponse', title: 'ErrorResponse' },
);
export type ErrorResponse = Static<typeof ErrorResponse>;

/**
 * The request carried no usable credentials. Every 401 of every service is this class or one
 * of its subclasses below: clients keep branching on `code: UNAUTHENTICATED`, and
 * `details.reason` (one value per subclass) says which rule refused the token.
 */
export class UnauthenticatedError extends TwinLedgerError {
  readonly code: string = 'UNAUTHENTICATED';
  override readonly httpStatus: number = 401;
}

/** The stable `details.reason` values of token refusals. */
export type TokenRefusalReason = 'missing' | 'invalid' | 'expired' | 'no_exp' | 'iat_future' | 'lifetime_exceeded' | 'foreign_org';

function withReason(reason: TokenRefusalReason, options: TwinLedgerErrorOptions): TwinLedgerErrorOptions {
  return { ...options, details: { ...options.details, reason } };
}

/** No `Authorization: Bearer` header. */
export class TokenMissingError extends UnauthenticatedError {
  constructor(message = 'missing bearer token', options: TwinLedgerErrorOptions = {}) {
    super(message, withReason('missing', options));
  }
}

/** Not a JWT, a bad signature, another issuer or audience, or a required claim (sub, org) missing. */
export class TokenInvalidError extends UnauthenticatedError {
  constructor(message: string, options: TwinLedgerErrorOptions = {}) {
    super(message, withReason('invalid', options));
  }
}

/** `exp` has passed (beyond the clock tolerance). */
export class TokenExpiredError extends UnauthenticatedError {
  constructor(message: string, options: TwinLedgerErrorOptions = {}) {
    super(message, withReason('expired', options));
  }
}

/** The token carries no `exp`: a stolen copy would be valid forever, so none is accepted. */
export class TokenWithoutExpiryError extends UnauthenticatedError {
  constructor(message: string, options: TwinLedgerErrorOptions = {}) {
    super(message, withReason('no_exp', options));
  }
}

/** `iat` lies in the future beyond the clock tolerance: minted by a wrong clock or to dodge the lifetime rule. */
export class TokenIssuedInFutureError extends UnauthenticatedError {
  constructor(message: string, options: TwinLedgerErrorOptions = {}) {
    super(message, withReason('iat_future', options));
  }
}

/** `exp - iat` (or `exp - now` without `iat`) exceeds the service's maximum token lifetime. */
export class TokenLifetimeTooLongError extends UnauthenticatedError {
  constructor(message: string, options: TwinLedgerErrorOptions = {}) {
    super(message, withReason('lifetime_exceeded', options));
  }
}

/**
 * The caller belongs to another organization than the one this service acts for (its `MSP_ID`):
 * a valid token of the right issuer whose `org` names another organization (the verifier), or a
 * principal of another organization asking for a Fabric identity (ledger-gateway's identity
 * mapping). The caller is known, it is just not one this service acts for (403, not 401). The
 * one class of FOREIGN_ORGANIZATION; `details.tokenOrg` and `serviceOrg` name both sides.
 */
export class ForeignOrganizationError extends AccessDeniedError {
  override readonly code: string = 'FOREIGN_ORGANIZATION';
  constructor(message: string, options: TwinLedgerErrorOptions = {}) {
    super(message, withReason('foreign_org', options));
  }
}

/** The body exceeded the route's size limit. */
export class PayloadTooLargeError extends TwinLedgerError {
  readonly code = 'PAYLOAD_TOO_LARGE';
  override readonly httpStatus = 413;
}

/** A unified response map for route schemas: every route may answer these. */
export const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
  413: ErrorResponse,
  500: ErrorResponse,
  503: ErrorResponse,
  /** OUTCOME_UNKNOWN: a ledger write was ordered but its commit status never arrived. */
  504: ErrorResponse,
} as const;

/**
 * A query or path parameter read as an infinite number (`?minBlock=1e309`, 400 digits): the
 * schema's limits never saw it (see buildService), so it is refused as the schema would refuse it.
 */
export class NonFiniteParameterError extends ValidationError {
  constructor(context: 'querystring' | 'params', name: string) {
    super(`${context} /${name} must be a finite number`, { details: { errors: [{ path: `/${name}`, message: 'must be a finite number' }] } });
  }
}
