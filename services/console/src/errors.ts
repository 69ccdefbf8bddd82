import { AccessDeniedError, NotFoundError, TwinLedgerError, UnavailableError } from '@twinledger/errors';
import { UnauthenticatedError } from '@twinledger/service-kit';

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

/** The sign-in callback came without a sign-in this browser started (no or unknown login cookie, or already used). */
export class SignInNotStartedError extends UnauthenticatedError {
  constructor() {
    super('no sign-in was started in this browser, it expired, or its callback was already used: sign in again', { details: { reason: 'signin_not_started' } });
  }
}

/** The callback's `state` is not the one this browser's sign-in sent (a forged or swapped callback). */
export class SignInStateMismatchError extends UnauthenticatedError {
  constructor() {
    super('the sign-in callback does not belong to this browser\'s sign-in (state mismatch)', { details: { reason: 'state_mismatch' } });
  }
}

/** The identity provider refused the sign-in (an error callback, or a refused code exchange). */
export class SignInRefusedError extends UnauthenticatedError {
  constructor(message: string, error: string) {
    super(message, { details: { reason: 'signin_refused', error } });
  }
}

/** The session cookie does not carry this console's signature (tampered or from elsewhere). */
export class SessionCookieInvalidError extends UnauthenticatedError {
  constructor() {
    super('the session cookie is not valid: sign in again', { details: { reason: 'session_cookie_invalid' } });
  }
}

/** The session cookie is genuine but its session is gone (signed out, expired, or the console restarted). */
export class SessionEndedError extends UnauthenticatedError {
  constructor(why: 'signed_out_or_unknown' | 'expired' | 'refresh_refused') {
    super(`the sign-in session has ended (${why}): sign in again`, { details: { reason: 'session_ended', why } });
  }
}

/** A state-changing request on a cookie session without the session's CSRF token. */
export class CsrfTokenInvalidError extends AccessDeniedError {
  override readonly code = 'CSRF_TOKEN_INVALID';
  constructor() {
    super('missing or wrong x-csrf-token header for a state-changing request');
  }
}

/** The organization's identity provider could not be reached or discovered. */
export class IdentityProviderUnavailableError extends UnavailableError {
  override readonly code = 'IDP_UNAVAILABLE';
}

/** OpenID Connect sign-in is not configured on this console (OIDC_ISSUER unset). */
export class SignInNotConfiguredError extends NotFoundError {
  override readonly code = 'SIGNIN_NOT_CONFIGURED';
  constructor() {
    super('this console has no identity provider configured (OIDC_ISSUER unset)');
  }
}
