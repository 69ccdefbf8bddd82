import { readFile } from 'node:fs/promises';
import { bool, ConfigError, int, list, optionalStr, str, type EnvOf } from '@twinledger/config';
import type { Logger } from '@twinledger/observability';
import { authEnv, serviceEnv, type TokenVerifier } from '@twinledger/service-kit';
import type { OidcInit } from './oidc.js';

/** The console's OpenID Connect sign-in (ADR-19): the organization's issuer and this console's client there. */
export const oidcEnv = {
  OIDC_ISSUER: optionalStr(),
  OIDC_CLIENT_ID: optionalStr(),
  OIDC_CLIENT_SECRET_FILE: optionalStr(),
  // The console's public callback URL as registered at the provider, e.g. https://console.example/auth/callback.
  OIDC_REDIRECT_URL: optionalStr(),
  OIDC_POST_LOGOUT_REDIRECT_URL: optionalStr(),
  OIDC_SCOPES: list({ default: ['openid', 'profile', 'twinledger'] }),
  // RFC 8707 resource indicator for the services' audience; unset: none sent (the IdP's default audience).
  OIDC_RESOURCE: optionalStr(),
  SESSION_COOKIE_SECRET_FILE: optionalStr(),
  SESSION_MAX_AGE_S: int({ default: 8 * 3600, min: 300, max: 7 * 86_400 }),
  // Refresh the access token this long before it expires (the services allow 30 s of clock skew).
  OIDC_REFRESH_MARGIN_S: int({ default: 30, min: 0, max: 600 }),
};
export type OidcEnv = EnvOf<typeof oidcEnv>;

/**
 * The console's environment, defined once: server.ts loads it, the consortium launcher and the
 * Helm chart's env-contract test (test/chart.int.test.ts) read the names from here.
 */
export const consoleEnv = {
  ...serviceEnv({ port: 8080 }),
  ORG_NAME: str(),
  // The org the console acts for: tokens of any other org are refused before anything is proxied.
  MSP_ID: str({ pattern: /^[\w.-]{1,64}$/ }),
  SPEC_SERVICE_URL: optionalStr(),
  ACL_SERVICE_URL: optionalStr(),
  FEED_INGEST_URL: optionalStr(),
  DEVICE_AGENT_URL: optionalStr(),
  ...authEnv,
  WEB_ROOT: optionalStr(),
  ...oidcEnv,
  // Test harnesses only: the console mints tokens itself (no identity provider involved).
  DEV_SIGNIN_KEY_FILE: optionalStr(),
  DEV_SIGNIN_USERS: list({ default: [] }),
  DEV_SIGNIN_TTL_SECONDS: int({ default: 3600, min: 60, max: 86_400 }),
  DEV_SIGNIN_ALLOW_REMOTE: bool({ default: false }),
};
export type ConsoleEnv = EnvOf<typeof consoleEnv>;

/**
 * The rules between variables that the parsers alone cannot check, at boot (CONFIG_INVALID,
 * `details.problems` naming each variable); the environment is then the configuration. Dev
 * sign-in mints tokens, which is for the local network: on a non-loopback address it must be
 * asked for twice. The sign-in provider's settings are checked by oidcInitFromEnv.
 */
export function consoleConfig(env: ConsoleEnv): ConsoleEnv {
  if (!env.DEV_SIGNIN_KEY_FILE) return env;
  const loopback = env.HOST === '127.0.0.1' || env.HOST === '::1' || env.HOST === 'localhost';
  const problems: [string, string][] = [];
  if (!loopback && !env.DEV_SIGNIN_ALLOW_REMOTE) problems.push(['DEV_SIGNIN_ALLOW_REMOTE', `DEV_SIGNIN_KEY_FILE: dev sign-in on HOST=${env.HOST} also needs DEV_SIGNIN_ALLOW_REMOTE=true`]);
  if (env.DEV_SIGNIN_USERS.length === 0) problems.push(['DEV_SIGNIN_USERS', 'DEV_SIGNIN_USERS: required with DEV_SIGNIN_KEY_FILE']);
  // Every service refuses tokens living longer than its AUTH_MAX_TOKEN_LIFETIME_S: minting them would only produce 401s.
  if (env.DEV_SIGNIN_TTL_SECONDS > env.AUTH_MAX_TOKEN_LIFETIME_S) problems.push(['DEV_SIGNIN_TTL_SECONDS', `DEV_SIGNIN_TTL_SECONDS: at most AUTH_MAX_TOKEN_LIFETIME_S (${env.AUTH_MAX_TOKEN_LIFETIME_S})`]);
  if (problems.length > 0) throw new ConfigError(`invalid environment:\n  ${problems.map(([, m]) => m).join('\n  ')}`, { details: { problems: problems.map(([k]) => k) } });
  return env;
}

/** Reads a secret file (a mounted secret), trimmed; a missing or short one stops the boot. */
async function secretFile(name: string, path: string, minLength: number): Promise<string> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (cause) {
    throw new ConfigError(`${name} ${path} is not readable`, { cause, details: { problems: [name] } });
  }
  if (text.length < minLength) throw new ConfigError(`${name}: the secret in ${path} is shorter than ${minLength} characters`, { details: { problems: [name] } });
  return text;
}

/** An absolute http(s) URL; plain http only on this machine (the local consortium). */
function checkUrl(name: string, value: string, problems: string[]): URL | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    problems.push(`${name}: not an absolute URL`);
    return undefined;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) problems.push(`${name}: must be https (http only for a loopback host)`);
  return u;
}

/**
 * The sign-in configuration from the environment, checked at boot: undefined without
 * OIDC_ISSUER (no sign-in), else everything it needs or CONFIG_INVALID naming each problem.
 */
export async function oidcInitFromEnv(env: OidcEnv, deps: { readonly verifier: TokenVerifier; readonly logger: Logger }): Promise<OidcInit | undefined> {
  if (!env.OIDC_ISSUER) return undefined;
  const problems: string[] = [];
  for (const k of ['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET_FILE', 'OIDC_REDIRECT_URL', 'SESSION_COOKIE_SECRET_FILE'] as const) if (!env[k]) problems.push(`${k}: required with OIDC_ISSUER`);
  checkUrl('OIDC_ISSUER', env.OIDC_ISSUER, problems);
  if (env.OIDC_REDIRECT_URL) {
    const u = checkUrl('OIDC_REDIRECT_URL', env.OIDC_REDIRECT_URL, problems);
    if (u && u.pathname !== '/auth/callback') problems.push('OIDC_REDIRECT_URL: its path must be /auth/callback');
  }
  if (env.OIDC_POST_LOGOUT_REDIRECT_URL) checkUrl('OIDC_POST_LOGOUT_REDIRECT_URL', env.OIDC_POST_LOGOUT_REDIRECT_URL, problems);
  if (!env.OIDC_SCOPES.includes('openid')) problems.push('OIDC_SCOPES: must include openid');
  if (problems.length > 0) throw new ConfigError(`invalid environment:\n  ${problems.join('\n  ')}`, { details: { problems } });
  return {
    issuer: env.OIDC_ISSUER,
    clientId: env.OIDC_CLIENT_ID!,
    clientSecret: await secretFile('OIDC_CLIENT_SECRET_FILE', env.OIDC_CLIENT_SECRET_FILE!, 16),
    redirectUrl: env.OIDC_REDIRECT_URL!,
    ...(env.OIDC_POST_LOGOUT_REDIRECT_URL ? { postLogoutRedirectUrl: env.OIDC_POST_LOGOUT_REDIRECT_URL } : {}),
    scopes: [...env.OIDC_SCOPES],
    ...(env.OIDC_RESOURCE ? { resource: env.OIDC_RESOURCE } : {}),
    cookieSecret: await secretFile('SESSION_COOKIE_SECRET_FILE', env.SESSION_COOKIE_SECRET_FILE!, 32),
    sessionMaxAgeSeconds: env.SESSION_MAX_AGE_S,
    refreshMarginSeconds: env.OIDC_REFRESH_MARGIN_S,
    verifier: deps.verifier,
    logger: deps.logger,
  };
}
