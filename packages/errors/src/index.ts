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
