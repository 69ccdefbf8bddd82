import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as oidc from 'openid-client';
import type { Logger } from '@twinledger/observability';
import type { Principal, TokenVerifier } from '@twinledger/service-kit';
import {
  CsrfTokenInvalidError,
  IdentityProviderUnavailableError,
  SessionCookieInvalidError,
  SessionEndedError,
  SignInNotStartedError,
  SignInRefusedError,
  SignInStateMismatchError,
} from './errors.js';

/**
 * OpenID Connect sign-in as a backend-for-frontend (ADR-19): the console server runs the
 * authorization code flow with PKCE against the organization's issuer, keeps the tokens in a
 * server-side session, and gives the browser only an HttpOnly cookie naming that session. The
 * browser never holds a token: script injected into the page cannot read or exfiltrate one.
 */
export interface OidcInit {
  /** The organization's issuer (discovered at `<issuer>/.well-known/openid-configuration`). */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The console's public callback URL, registered at the provider (…/auth/callback). */
  readonly redirectUrl: string;
  /** Where the provider sends the browser after sign-out (registered too); default the console's root. */
  readonly postLogoutRedirectUrl?: string;
  /** Scopes asked for; must include `openid`. */
  readonly scopes: readonly string[];
  /** The resource indicator (RFC 8707) for the services' audience; undefined: none sent. */
  readonly resource?: string;
  /** The console's key for signing its cookies (32+ bytes). */
  readonly cookieSecret: string;
  /** Longest a session lives, whatever its refresh token says; default 8 h. */
  readonly sessionMaxAgeSeconds?: number;
  /** Refresh this long before the access token expires; default 30 s. */
  readonly refreshMarginSeconds?: number;
  /** Verifies the access tokens received, exactly as every service will. */
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
}

/** What a signed-in browser's session holds, server-side only. */
interface Session {
  readonly id: string;
  readonly csrfToken: string;
  readonly createdMs: number;
  accessToken: string;
  accessExpMs: number;
  refreshToken: string | undefined;
  idToken: string | undefined;
  principal: Principal;
  /** An in-flight refresh, shared by concurrent requests (a rotated refresh token is single-use). */
  refreshing: Promise<void> | undefined;
}

interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly createdMs: number;
}

export interface SessionView {
  readonly principal: Principal;
  readonly csrfToken: string;
  readonly accessTokenExpiresAt: string;
}

export interface OidcSignIn {
  /** The session cookie's name (`__Host-` prefixed when the console is served over HTTPS). */
  readonly sessionCookie: string;
  readonly loginCookie: string;
  /** Whether cookies carry `Secure` (the redirect URL is HTTPS). */
  readonly secureCookies: boolean;
  /** Starts a sign-in: the provider URL to send the browser to, and the login cookie's value. */
  startLogin(): Promise<{ authorizationUrl: string; loginCookieValue: string }>;
  /**
   * Completes a sign-in from the callback URL; returns the new session's cookie value. A session
   * the browser still had is ended: a sign-in always starts a new session (no fixation, no orphans).
   */
  finishLogin(callbackUrl: URL, loginCookieValue: string | undefined, previousSessionCookieValue?: string): Promise<{ sessionCookieValue: string; principal: Principal }>;
  /**
   * The access token for a request carrying the session cookie, refreshed when about to
   * expire; state-changing methods must carry the session's CSRF token.
   */
  accessTokenFor(sessionCookieValue: string, method: string, csrfHeader: string | undefined): Promise<string>;
  /** The session behind a cookie (for /api/console/session), or undefined. */
  describe(sessionCookieValue: string): SessionView | undefined;
  /** Ends the session here and its refresh token at the provider; the provider's sign-out URL. */
  logout(sessionCookieValue: string | undefined, csrfHeader: string | undefined): Promise<{ endSessionUrl: string | undefined }>;
  /** Number of live sessions (tests, metrics). */
  sessionCount(): number;
}

const PENDING_TTL_MS = 10 * 60_000;
const MAX_PENDING = 10_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const isLoopback = (host: string): boolean => host === '127.0.0.1' || host === 'localhost' || host === '[::1]';

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createOidcSignIn(init: OidcInit): OidcSignIn {
  const log = init.logger;
  const secure = new URL(init.redirectUrl).protocol === 'https:';
  const sessionCookie = secure ? '__Host-tl_session' : 'tl_session';
  const loginCookie = secure ? '__Host-tl_login' : 'tl_login';
  const maxAgeMs = (init.sessionMaxAgeSeconds ?? 8 * 3600) * 1000;
  const marginMs = (init.refreshMarginSeconds ?? 30) * 1000;
  const postLogout = init.postLogoutRedirectUrl ?? new URL('/', init.redirectUrl).toString();
  const sessions = new Map<string, Session>();
  const pending = new Map<string, PendingLogin>();

  // Cookie values are `<random id>.<HMAC(name, id)>`: a changed byte fails the MAC before any lookup.
  const mac = (name: string, id: string): string => createHmac('sha256', init.cookieSecret).update(`${name}\0${id}`).digest('base64url');
  const sign = (name: string, id: string): string => `${id}.${mac(name, id)}`;
  const unsign = (name: string, value: string): string | undefined => {
    const dot = value.indexOf('.');
    if (dot <= 0) return undefined;
    const id = value.slice(0, dot);
    return equalText(value.slice(dot + 1), mac(name, id)) ? id : undefined;
  };
  const newId = (): string => randomBytes(32).toString('base64url');

  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = (): Promise<oidc.Configuration> => {
    // Discovered on first use and kept; a failure is not kept, so a provider that comes up
    // after the console is found on the next sign-in.
    discovered ??= oidc
      .discovery(new URL(init.issuer), init.clientId, { id_token_signed_response_alg: 'ES256' }, oidc.ClientSecretBasic(init.clientSecret), {
        // Plain HTTP only for an issuer on this machine (the local consortium).
        ...(isLoopback(new URL(init.issuer).hostname) ? { execute: [oidc.allowInsecureRequests] } : {}),
      })
      .catch((err: unknown) => {
        discovered = undefined;
        throw new IdentityProviderUnavailableError(`the identity provider ${init.issuer} could not be discovered: ${(err as Error).message}`, { cause: err });
      });
    return discovered;
  };
  const resourceParam = (): Record<string, string> => (init.resource ? { resource: init.resource } : {});

  const sweep = (): void => {
    const now = Date.now();
    for (const [id, p] of pending) if (now - p.createdMs > PENDING_TTL_MS) pending.delete(id);
    for (const [id, s] of sessions) if (now - s.createdMs > maxAgeMs) sessions.delete(id);
  };

  /** The provider's answer to a token request, as a refusal the user can act on. */
  const refused = (err: unknown, what: string): Error => {
    if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) return new SignInRefusedError(`the identity provider refused the ${what}: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`, err.error);
    if (err instanceof oidc.ClientError) return new SignInRefusedError(`the ${what} response failed validation: ${err.message}`, err.code ?? 'client_error');
    if (err instanceof TypeError || (err as { name?: string }).name === 'AbortError') return new IdentityProviderUnavailableError(`the identity provider did not answer the ${what}: ${(err as Error).message}`, { cause: err });
    return err as Error;
  };

  const sessionOf = (value: string): Session => {
    const id = unsign(sessionCookie, value);
    if (!id) throw new SessionCookieInvalidError();
    const s = sessions.get(id);
    if (!s) throw new SessionEndedError('signed_out_or_unknown');
    if (Date.now() - s.createdMs > maxAgeMs) {
      sessions.delete(id);
      throw new SessionEndedError('expired');
    }
    return s;
  };

  const refresh = async (s: Session): Promise<void> => {
    if (!s.refreshToken) {
      sessions.delete(s.id);
      throw new SessionEndedError('expired');
    }
    let tokens: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
    try {
      tokens = await oidc.refreshTokenGrant(await configuration(), s.refreshToken, resourceParam());
    } catch (err) {
      const e = refused(err, 'token refresh');
      if (e instanceof SignInRefusedError) {
        // Revoked, expired or reused: this session cannot go on; the browser signs in again.
        sessions.delete(s.id);
        log.info({ sub: s.principal.subject, error: (e.details as { error?: string } | undefined)?.error }, 'refresh refused; session ended');
        throw new SessionEndedError('refresh_refused');
      }
      throw e;
    }
    const principal = await init.verifier.verify(tokens.access_token);
    if (principal.subject !== s.principal.subject) {
      sessions.delete(s.id);
      throw new SessionEndedError('refresh_refused');
    }
    s.accessToken = tokens.access_token;
    s.accessExpMs = Date.now() + (tokens.expiresIn() ?? 60) * 1000;
    // Providers may rotate refresh tokens: the old one is then spent.
    if (tokens.refresh_token) s.refreshToken = tokens.refresh_token;
    if (tokens.id_token) s.idToken = tokens.id_token;
    s.principal = principal;
    log.debug({ sub: principal.subject }, 'access token refreshed');
  };

  return {
    sessionCookie,
    loginCookie,
    secureCookies: secure,

    async startLogin() {
      const config = await configuration();
      sweep();
      if (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value!);
      const id = newId();
      const p: PendingLogin = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier(), createdMs: Date.now() };
      pending.set(id, p);
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: init.redirectUrl,
        scope: init.scopes.join(' '),
        code_challenge: await oidc.calculatePKCECodeChallenge(p.codeVerifier),
        code_challenge_method: 'S256',
        state: p.state,
        nonce: p.nonce,
        ...resourceParam(),
      });
      return { authorizationUrl: url.toString(), loginCookieValue: sign(loginCookie, id) };
    },

    async finishLogin(callbackUrl, loginCookieValue, previousSessionCookieValue) {
      const id = loginCookieValue ? unsign(loginCookie, loginCookieValue) : undefined;
      const p = id ? pending.get(id) : undefined;
      // One use only: a replayed callback finds nothing, whatever happens next.
      if (id) pending.delete(id);
      if (!p || Date.now() - p.createdMs > PENDING_TTL_MS) throw new SignInNotStartedError();
      const error = callbackUrl.searchParams.get('error');
      const state = callbackUrl.searchParams.get('state') ?? '';
      if (!equalText(state, p.state)) throw new SignInStateMismatchError();
      if (error) throw new SignInRefusedError(`the identity provider refused the sign-in: ${error}`, error);
      const config = await configuration();
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: p.codeVerifier, expectedState: p.state, expectedNonce: p.nonce, idTokenExpected: true }, resourceParam());
      } catch (err) {
        throw refused(err, 'sign-in');
      }
      // The services will verify this token; a token they would refuse (another issuer's key,
      // another organization) makes no session at all.
      const principal = await init.verifier.verify(tokens.access_token);
      const idSub = tokens.claims()?.sub;
      if (idSub !== principal.subject) throw new SignInRefusedError('the ID token and the access token name different users', 'subject_mismatch');
      sweep();
      const s: Session = {
        id: newId(),
        csrfToken: randomBytes(32).toString('base64url'),
        createdMs: Date.now(),
        accessToken: tokens.access_token,
        accessExpMs: Date.now() + (tokens.expiresIn() ?? 60) * 1000,
        refreshToken: tokens.refresh_token,
        idToken: tokens.id_token,
        principal,
        refreshing: undefined,
      };
      sessions.set(s.id, s);
      const previous = previousSessionCookieValue ? unsign(sessionCookie, previousSessionCookieValue) : undefined;
      if (previous) sessions.delete(previous);
      log.info({ sub: principal.subject, mspId: principal.mspId }, 'signed in');
      return { sessionCookieValue: sign(sessionCookie, s.id), principal };
    },

    async accessTokenFor(value, method, csrfHeader) {
      const s = sessionOf(value);
      if (!SAFE_METHODS.has(method.toUpperCase()) && !(csrfHeader !== undefined && equalText(csrfHeader, s.csrfToken))) throw new CsrfTokenInvalidError();
      if (s.accessExpMs - Date.now() <= marginMs) {
        s.refreshing ??= refresh(s).finally(() => {
          s.refreshing = undefined;
        });
        await s.refreshing;
      }
      return s.accessToken;
    },

    describe(value) {
      let s: Session;
      try {
        s = sessionOf(value);
      } catch {
        return undefined;
      }
      return { principal: s.principal, csrfToken: s.csrfToken, accessTokenExpiresAt: new Date(s.accessExpMs).toISOString() };
    },

    async logout(value, csrfHeader) {
      const id = value ? unsign(sessionCookie, value) : undefined;
      const s = id ? sessions.get(id) : undefined;
      if (!s) return { endSessionUrl: undefined };
      // Sign-out is state-changing: a cross-site page must not be able to sign the user out.
      if (!(csrfHeader !== undefined && equalText(csrfHeader, s.csrfToken))) throw new CsrfTokenInvalidError();
      sessions.delete(s.id);
      const config = await configuration().catch(() => undefined);
      if (config && s.refreshToken) {
        await oidc.tokenRevocation(config, s.refreshToken, { token_type_hint: 'refresh_token' }).catch((err: unknown) => log.warn({ err }, 'refresh token revocation failed'));
      }
      log.info({ sub: s.principal.subject }, 'signed out');
      if (!config || !config.serverMetadata().end_session_endpoint) return { endSessionUrl: undefined };
      const url = oidc.buildEndSessionUrl(config, { post_logout_redirect_uri: postLogout, ...(s.idToken ? { id_token_hint: s.idToken } : {}) });
      return { endSessionUrl: url.toString() };
    },

    sessionCount: () => sessions.size,
  };
}
