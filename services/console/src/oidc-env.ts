import { readFile } from 'node:fs/promises';
import { ConfigError } from '@twinledger/config';
import type { Logger } from '@twinledger/observability';
import type { TokenVerifier } from '@twinledger/service-kit';
import type { OidcInit } from './oidc.js';

/** The sign-in settings server.ts reads (its loadEnv block names and parses them). */
export interface OidcEnv {
  readonly OIDC_ISSUER: string | undefined;
  readonly OIDC_CLIENT_ID: string | undefined;
  readonly OIDC_CLIENT_SECRET_FILE: string | undefined;
  readonly OIDC_REDIRECT_URL: string | undefined;
  readonly OIDC_POST_LOGOUT_REDIRECT_URL: string | undefined;
  readonly OIDC_SCOPES: readonly string[];
  readonly OIDC_RESOURCE: string | undefined;
  readonly OIDC_REFRESH_MARGIN_S: number;
  readonly SESSION_COOKIE_SECRET_FILE: string | undefined;
  readonly SESSION_MAX_AGE_S: number;
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
