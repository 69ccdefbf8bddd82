import { NotFoundError, TwinLedgerError } from '@twinledger/errors';

/** Dev sign-in was asked for but this console was not configured for it (the default). */
export class DevSignInDisabledError extends NotFoundError {
  override readonly code = 'DEV_SIGNIN_DISABLED';
  constructor() {
    super('dev sign-in is not enabled on this console (DEV_SIGNIN_KEY_FILE unset)');
  }
}

/** The dev sign-in user is not one of DEV_SIGNIN_USERS. */
export class UnknownDevUserError extends TwinLedgerError {
  readonly code = 'UNKNOWN_DEV_USER';
  override readonly httpStatus = 403;
  constructor(user: string) {
    super(`"${user}" is not a dev sign-in user of this console`, { details: { user } });
  }
}

/** An upstream service of the console is not configured (e.g. no device agent in this deployment). */
export class UpstreamNotConfiguredError extends TwinLedgerError {
  readonly code = 'UPSTREAM_NOT_CONFIGURED';
  override readonly httpStatus = 404;
  constructor(upstream: string) {
    super(`this console has no ${upstream} configured`, { details: { upstream } });
  }
}

/** An upstream refused or failed while the console assembled an audit bundle: its status and code pass through. */
export class UpstreamRefusedError extends TwinLedgerError {
  readonly code: string;
  override readonly httpStatus: number;
  constructor(upstream: string, status: number, code: string, message: string) {
    super(`${upstream}: ${message}`, { details: { upstream, status } });
    this.code = code;
    // A 5xx of the upstream is a bad gateway here; a 4xx (no access, unknown twin) is the caller's.
    this.httpStatus = status >= 500 ? 502 : status;
  }
}
