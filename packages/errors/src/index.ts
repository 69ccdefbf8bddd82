/**
 * The base of every TwinLedger error. Each failure mode is its own subclass with a stable
 * machine-readable `code`; callers branch on `code` (or `name`), never on the message.
 */
export interface TwinLedgerErrorOptions {
  /** The lower-level error that caused this one. */
  readonly cause?: unknown;
  /** Structured, non-secret details safe to show to the caller (ids, field names). */
  readonly details?: Record<string, unknown>;
}

export abstract class TwinLedgerError extends Error {
  /** Stable machine-readable code, e.g. `ACCESS_DENIED`. */
  abstract readonly code: string;
  /** The HTTP status a service answers with when this error reaches its error handler. */
  readonly httpStatus: number = 500;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: TwinLedgerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details;
  }

  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isTwinLedgerError(err: unknown): err is TwinLedgerError {
  return err instanceof TwinLedgerError;
}

/** Bad input at a boundary (HTTP body, env, Kafka payload, DHT message). */
export class ValidationError extends TwinLedgerError {
  readonly code: string = 'VALIDATION_FAILED';
  override readonly httpStatus: number = 400;
}

export class NotFoundError extends TwinLedgerError {
  readonly code: string = 'NOT_FOUND';
  override readonly httpStatus: number = 404;
}

export class AccessDeniedError extends TwinLedgerError {
  readonly code: string = 'ACCESS_DENIED';
  override readonly httpStatus: number = 403;
}

export class ConflictError extends TwinLedgerError {
  readonly code: string = 'CONFLICT';
  override readonly httpStatus: number = 409;
}

/** A dependency (peer, broker, DHT) cannot take more work now; the caller should retry later. */
export class UnavailableError extends TwinLedgerError {
  readonly code: string = 'UNAVAILABLE';
  override readonly httpStatus: number = 503;
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, options: TwinLedgerErrorOptions & { retryAfterSeconds?: number } = {}) {
    super(message, options);
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

type CodedOptions = TwinLedgerErrorOptions & { readonly retryAfterSeconds?: number };

/** Base classes by HTTP status, for errors rebuilt from another component's answer. */
const FAMILIES: ReadonlyMap<number, new (message: string, options: CodedOptions) => TwinLedgerError> = new Map<number, new (message: string, options: CodedOptions) => TwinLedgerError>([
  [400, ValidationError],
  [403, AccessDeniedError],
  [404, NotFoundError],
  [409, ConflictError],
  [503, UnavailableError],
]);

/** An error from another component whose code this side has no class for; keeps code and status. */
export class RemoteError extends TwinLedgerError {
  readonly code: string;
  override readonly httpStatus: number;
  constructor(code: string, httpStatus: number, message: string, options: TwinLedgerErrorOptions = {}) {
    super(message, options);
    this.code = code;
    this.httpStatus = httpStatus;
  }
}

/**
 * Rebuilds an error received over HTTP or the wire whose code the caller has no class for. It
 * keeps the remote code, and lands in the base class of its status where there is one, so
 * `instanceof AccessDeniedError` and friends still hold for codes added later on the other side.
 */
export function errorFromRemote(httpStatus: number, code: string, message: string, options: CodedOptions = {}): TwinLedgerError {
  const Family = FAMILIES.get(httpStatus);
  if (Family === undefined) return new RemoteError(code, httpStatus, message, options);
  const err = new Family(message, options);
  // The family's own code is a class field; the remote one is the truth for this instance.
  Object.defineProperty(err, 'code', { value: code, enumerable: true });
  return err;
}
export { DHT_ERROR_CODES, DHT_ERROR_STATUS, type DhtErrorCode } from './dht-codes.js';
