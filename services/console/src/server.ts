import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bool, ConfigError, int, list, loadEnv, oneOf, optionalStr, str } from '@twinledger/config';
import { createLogger } from '@twinledger/observability';
import { authEnv, authFromEnv, createJwtVerifier, runService } from '@twinledger/service-kit';
import { buildApp } from './app.js';
import { createDevSignIn, parseDevUsers, type DevSignIn } from './dev-signin.js';

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
  logger.warn({ users: devSignIn.users.map((u) => u.name) }, 'dev sign-in enabled: this console mints tokens');
}

const app = await buildApp({
  logger,
  auth: createJwtVerifier(authFromEnv(env, { expectedOrg: env.MSP_ID })),
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
});

await runService({ app, host: env.HOST, port: env.PORT });
logger.info({ address: app.server.address(), org: env.ORG_NAME }, 'console listening');
