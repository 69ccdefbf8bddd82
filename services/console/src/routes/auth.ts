import { parseCookie, stringifySetCookie } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTwinLedgerError } from '@twinledger/errors';
import { errorResponses, Type, type ServiceApp } from '@twinledger/service-kit';
import { SignInNotConfiguredError } from '../errors.js';
import type { OidcSignIn } from '../oidc.js';

/** The request's value of one cookie, if any. */
export function cookieOf(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  return header ? parseCookie(header)[name] : undefined;
}

function setCookie(reply: FastifyReply, oidc: OidcSignIn, name: string, value: string, path: string, maxAgeSeconds: number | undefined): void {
  // Lax, not Strict: the provider's redirect back to /auth/callback is a cross-site top-level
  // navigation, which must carry the login cookie. State-changing calls are CSRF-checked anyway.
  const cookie = stringifySetCookie(name, value, { httpOnly: true, sameSite: 'lax', secure: oidc.secureCookies, path, ...(maxAgeSeconds !== undefined ? { maxAge: maxAgeSeconds } : {}) });
  const prior = reply.getHeader('set-cookie');
  void reply.header('set-cookie', [...(Array.isArray(prior) ? prior : prior ? [String(prior)] : []), cookie]);
}

const clearCookie = (reply: FastifyReply, oidc: OidcSignIn, name: string, path: string): void => setCookie(reply, oidc, name, '', path, 0);

const CallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    state: Type.Optional(Type.String({ maxLength: 512 })),
    iss: Type.Optional(Type.String({ maxLength: 2048 })),
    session_state: Type.Optional(Type.String({ maxLength: 512 })),
    error: Type.Optional(Type.String({ maxLength: 256 })),
    error_description: Type.Optional(Type.String({ maxLength: 2048 })),
    error_uri: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false },
);

/**
 * /auth/login, /auth/callback and /auth/logout: the browser's side of OpenID Connect sign-in
 * (oidc.ts holds the flow). Public routes: they are how a browser gets a session.
 */
export function authRoutes(app: ServiceApp, oidc: OidcSignIn | undefined, redirectUrl: string | undefined): void {
  const need = (): OidcSignIn => {
    if (!oidc) throw new SignInNotConfiguredError();
    return oidc;
  };

  app.get(
    '/auth/login',
    { config: { public: true }, schema: { description: 'Starts sign-in at the organization\'s identity provider (authorization code with PKCE): redirects there', response: { 302: Type.Null(), ...errorResponses } } },
    async (_req, reply) => {
      const o = need();
      const { authorizationUrl, loginCookieValue } = await o.startLogin();
      setCookie(reply, o, o.loginCookie, loginCookieValue, '/auth', 600);
      return reply.code(302).header('cache-control', 'no-store').redirect(authorizationUrl);
    },
  );

  app.get(
    '/auth/callback',
    {
      config: { public: true },
      schema: { description: 'The identity provider\'s redirect back: checks state, nonce and PKCE, makes the session, redirects to the app', querystring: CallbackQuery, response: { 302: Type.Null(), ...errorResponses } },
    },
    async (req, reply) => {
      const o = need();
      // The login cookie is spent whatever the outcome.
      clearCookie(reply, o, o.loginCookie, '/auth');
      // The token request's redirect_uri is the registered URL, not whatever Host the request named.
      const current = new URL(redirectUrl!);
      current.search = new URL(req.url, current).search;
      let sessionCookieValue: string;
      try {
        ({ sessionCookieValue } = await o.finishLogin(current, cookieOf(req, o.loginCookie), cookieOf(req, o.sessionCookie)));
      } catch (err) {
        // A person's browser goes back to the app, which says why and offers to sign in again;
        // API clients (and the tests) get the error body.
        if (!isTwinLedgerError(err) || err.httpStatus >= 500 || !String(req.headers.accept ?? '').includes('text/html')) throw err;
        const reason = (err.details as { reason?: unknown } | undefined)?.reason;
        req.log.warn({ code: err.code, reason }, 'sign-in refused');
        return reply.code(302).header('cache-control', 'no-store').redirect(`/?signin_error=${encodeURIComponent(typeof reason === 'string' ? reason : err.code)}`);
      }
      setCookie(reply, o, o.sessionCookie, sessionCookieValue, '/', undefined);
      return reply.code(302).header('cache-control', 'no-store').redirect('/');
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { public: true },
      schema: {
        description: 'Ends the sign-in session (needs the x-csrf-token header) and revokes its refresh token; answers where to send the browser to sign out at the provider',
        headers: Type.Object({ 'x-csrf-token': Type.Optional(Type.String({ maxLength: 256 })) }),
        response: { 200: Type.Object({ redirect: Type.String() }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const o = need();
      const { endSessionUrl } = await o.logout(cookieOf(req, o.sessionCookie), req.headers['x-csrf-token'] as string | undefined);
      clearCookie(reply, o, o.sessionCookie, '/');
      return { redirect: endSessionUrl ?? '/' };
    },
  );
}
