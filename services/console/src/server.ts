import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bool, ConfigError, int, list, loadEnv, oneOf, optionalStr, str } from '@twinledger/config';
import { createLogger } from '@twinledger/observability';
import { authEnv, authFromEnv, createJwtVerifier, runService } from '@twinledger/service-kit';
import { buildApp } from './app.js';
import { createDevSignIn, parseDevUsers, type DevSignIn } from './dev-signin.js';
import { createOidcSignIn } from './oidc.js';
import { oidcInitFromEnv } from './oidc-env.js';

const env = loadEnv({
  HOST: str({ default: '127.0.0.1' }),
  PORT: int({ default: 8080, min: 0, max: 65535 }),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], { default: 'info' }),
  ORG_NAME: str(),
  // The org the console acts for: tokens of any other org are refused before anything is proxied.
  MSP_ID: str({ pattern: /^[\w.-]{1,64}$/ }),
  SPEC_SERVICE_URL: optionalStr(),
  ACL_SERVICE_URL: optionalStr(),
  FEED_INGEST_URL: optionalStr(),
  DEVICE_AGENT_URL: optionalStr(),
  ...authEnv,
  WEB_ROOT: optionalStr(),
  // OpenID Connect sign-in (ADR-19): the organization's issuer and this console's client there.
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
  // Test harnesses only: the console mints tokens itself (no identity provider involved).
  DEV_SIGNIN_KEY_FILE: optionalStr(),
  DEV_SIGNIN_USERS: list({ default: [] }),
  DEV_SIGNIN_TTL_SECONDS: int({ default: 3600, min: 60, max: 86_400 }),
  DEV_SIGNIN_ALLOW_REMOTE: bool({ default: false }),
});

const logger = createLogger({ name: 'console', level: env.LOG_LEVEL });

let devSignIn: DevSignIn | undefined;
if (env.DEV_SIGNIN_KEY_FILE) {
  // Minting tokens is for the local network: on a non-loopback address it must be asked for twice.
  const loopback = env.HOST === '127.0.0.1' || env.HOST === '::1' || env.HOST === 'localhost';
  const problems: string[] = [];
  if (!loopback && !env.DEV_SIGNIN_ALLOW_REMOTE) problems.push(`DEV_SIGNIN_KEY_FILE: dev sign-in on HOST=${env.HOST} also needs DEV_SIGNIN_ALLOW_REMOTE=true`);
  if (env.DEV_SIGNIN_USERS.length === 0) problems.push('DEV_SIGNIN_USERS: required with DEV_SIGNIN_KEY_FILE');
  // Every service refuses tokens living longer than its AUTH_MAX_TOKEN_LIFETIME_S: minting them would only produce 401s.
  if (env.DEV_SIGNIN_TTL_SECONDS > env.AUTH_MAX_TOKEN_LIFETIME_S) problems.push(`DEV_SIGNIN_TTL_SECONDS: at most AUTH_MAX_TOKEN_LIFETIME_S (${env.AUTH_MAX_TOKEN_LIFETIME_S})`);
  if (problems.length > 0) throw new ConfigError(`invalid environment:\n  ${problems.join('\n  ')}`);
  devSignIn = await createDevSignIn({
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
    mspId: env.MSP_ID,
    privateJwk: JSON.parse(await readFile(env.DEV_SIGNIN_KEY_FILE, 'utf8')),
    users: parseDevUsers(env.DEV_SIGNIN_USERS),
    ttlSeconds: env.DEV_SIGNIN_TTL_SECONDS,
  });
  logger.warn({ users: devSignIn.users.map((u) => u.name) }, 'dev sign-in enabled: this console mints tokens (test harnesses only)');
}

const verifier = createJwtVerifier(authFromEnv(env, { expectedOrg: env.MSP_ID }));
const oidcInit = await oidcInitFromEnv(env, { verifier, logger: logger.child({ component: 'oidc' }) });
const oidc = oidcInit ? { signIn: createOidcSignIn(oidcInit), redirectUrl: oidcInit.redirectUrl } : undefined;
if (oidcInit) logger.info({ issuer: oidcInit.issuer, clientId: oidcInit.clientId }, 'OpenID Connect sign-in enabled');

const app = await buildApp({
  logger,
  auth: verifier,
  orgName: env.ORG_NAME,
  mspId: env.MSP_ID,
  upstreams: {
    ...(env.SPEC_SERVICE_URL ? { spec: env.SPEC_SERVICE_URL } : {}),
    ...(env.ACL_SERVICE_URL ? { acl: env.ACL_SERVICE_URL } : {}),
    ...(env.FEED_INGEST_URL ? { feeds: env.FEED_INGEST_URL } : {}),
    ...(env.DEVICE_AGENT_URL ? { agent: env.DEVICE_AGENT_URL } : {}),
  },
  // The Vite build lands in dist/web, beside this file once built.
  webRoot: env.WEB_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), 'web'),
  ...(devSignIn ? { devSignIn } : {}),
  ...(oidc ? { oidc } : {}),
});

await runService({ app, host: env.HOST, port: env.PORT });
logger.info({ address: app.server.address(), org: env.ORG_NAME }, 'console listening');
