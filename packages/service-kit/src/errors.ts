import { TwinLedgerError } from '@twinledger/errors';
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

/** The request carried no usable credentials (missing, expired, forged or wrong-audience token). */
export class UnauthenticatedError extends TwinLedgerError {
  readonly code = 'UNAUTHENTICATED';
  override readonly httpStatus = 401;
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
} as const;
