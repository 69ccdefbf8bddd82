import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@twinledger/observability';
import { authFromEnv, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from './app.js';
import { oidcInitFromEnv, type ConsoleEnv } from './config.js';
import { createDevSignIn, parseDevUsers, type DevSignIn } from './dev-signin.js';
import { createOidcSignIn } from './oidc.js';

export interface ConsoleService {
  readonly app: ServiceApp;
  /** Releases everything after the server stopped taking requests. */
  close(): Promise<void>;
}

/** Wires the console from its checked environment (config.ts): token verifier, sign-in, the proxying app. */
export async function startConsole(cfg: ConsoleEnv, logger: Logger): Promise<ConsoleService> {
  let devSignIn: DevSignIn | undefined;
  if (cfg.DEV_SIGNIN_KEY_FILE) {
    devSignIn = await createDevSignIn({
      issuer: cfg.AUTH_ISSUER,
      audience: cfg.AUTH_AUDIENCE,
      mspId: cfg.MSP_ID,
      privateJwk: JSON.parse(await readFile(cfg.DEV_SIGNIN_KEY_FILE, 'utf8')),
      users: parseDevUsers(cfg.DEV_SIGNIN_USERS),
      ttlSeconds: cfg.DEV_SIGNIN_TTL_SECONDS,
    });
    logger.warn({ users: devSignIn.users.map((u) => u.name) }, 'dev sign-in enabled: this console mints tokens (test harnesses only)');
  }

  const verifier = createJwtVerifier(authFromEnv(cfg, { expectedOrg: cfg.MSP_ID }));
  const oidcInit = await oidcInitFromEnv(cfg, { verifier, logger: logger.child({ component: 'oidc' }) });
  const oidc = oidcInit ? { signIn: createOidcSignIn(oidcInit), redirectUrl: oidcInit.redirectUrl } : undefined;
  if (oidcInit) logger.info({ issuer: oidcInit.issuer, clientId: oidcInit.clientId }, 'OpenID Connect sign-in enabled');

  const app = await buildApp({
    logger,
    auth: verifier,
    orgName: cfg.ORG_NAME,
    mspId: cfg.MSP_ID,
    upstreams: {
      ...(cfg.SPEC_SERVICE_URL ? { spec: cfg.SPEC_SERVICE_URL } : {}),
      ...(cfg.ACL_SERVICE_URL ? { acl: cfg.ACL_SERVICE_URL } : {}),
      ...(cfg.FEED_INGEST_URL ? { feeds: cfg.FEED_INGEST_URL } : {}),
      ...(cfg.DEVICE_AGENT_URL ? { agent: cfg.DEVICE_AGENT_URL } : {}),
    },
    // The Vite build lands in dist/web, beside this file once built.
    webRoot: cfg.WEB_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), 'web'),
    ...(devSignIn ? { devSignIn } : {}),
    ...(oidc ? { oidc } : {}),
  });
  // The app holds nothing beyond its server: app.close() (runService) releases it all.
  return { app, close: async () => undefined };
}
