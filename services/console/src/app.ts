import type { Logger, Registry } from '@twinledger/observability';
import { createMetricsRegistry } from '@twinledger/observability';
import { buildService, type ServiceApp, type TokenVerifier } from '@twinledger/service-kit';
import type { FastifyRequest } from 'fastify';
import type { DevSignIn } from './dev-signin.js';
import { auditRoutes } from './routes/audit.js';
import type { OidcSignIn } from './oidc.js';
import { authRoutes, cookieOf } from './routes/auth.js';
import { consoleApiRoutes } from './routes/console-api.js';
import { proxyRoutes, type Upstreams } from './routes/proxy.js';
import { webRoutes } from './routes/web.js';

export { parseDevUsers, createDevSignIn, type DevUser, type DevSignIn } from './dev-signin.js';
export { createOidcSignIn, type OidcSignIn, type OidcInit, type SessionView } from './oidc.js';
export { UPSTREAMS, type UpstreamName, type Upstreams } from './routes/proxy.js';

export interface AppDeps {
  readonly logger: Logger;
  readonly metrics?: Registry;
  /** Verifies the user's token for /api/console/session and before proxying (the services verify it again). */
  readonly auth: TokenVerifier;
  /** Display name of the organization. */
  readonly orgName: string;
  /** The organization's MSP ID, when known. */
  readonly mspId?: string;
  readonly upstreams: Upstreams;
  /** Folder of the built single-page app (index.html + assets/). */
  readonly webRoot: string;
  /**
   * Test harnesses only (DEV_SIGNIN_KEY_FILE): the console mints tokens itself. The local
   * consortium signs users in through its OpenID providers instead.
   */
  readonly devSignIn?: DevSignIn;
  /** OpenID Connect sign-in (the default path): the flow and the console's registered callback URL. */
  readonly oidc?: { readonly signIn: OidcSignIn; readonly redirectUrl: string };
}

export async function buildApp(deps: AppDeps): Promise<ServiceApp> {
  const oidc = deps.oidc?.signIn;
  /** Requests authenticated by the session cookie rather than a bearer header. */
  const viaSession = new WeakSet<FastifyRequest>();
  // A browser signed in through OpenID Connect carries only the session cookie: its access
  // token is looked up (and refreshed) server-side, then verified like any bearer token.
  const credentials = async (req: FastifyRequest): Promise<string | undefined> => {
    const value = oidc ? cookieOf(req, oidc.sessionCookie) : undefined;
    if (!oidc || value === undefined) return undefined;
    const csrf = req.headers['x-csrf-token'];
    const token = await oidc.accessTokenFor(value, req.method, typeof csrf === 'string' ? csrf : undefined);
    viaSession.add(req);
    return token;
  };
  const app = await buildService({
    name: 'console',
    description: 'The organization web console: the single-page app and one-origin access to its services',
    logger: deps.logger,
    metrics: deps.metrics ?? createMetricsRegistry({ prefix: 'twinledger_' }),
    auth: deps.auth,
    ...(oidc ? { credentials } : {}),
    readiness: [],
  });
  authRoutes(app, oidc, deps.oidc?.redirectUrl);
  consoleApiRoutes(app, {
    orgName: deps.orgName,
    mspId: deps.mspId,
    upstreams: deps.upstreams,
    devSignIn: deps.devSignIn,
    oidcEnabled: oidc !== undefined,
    sessionOf: (req) => (oidc && viaSession.has(req) ? oidc.describe(cookieOf(req, oidc.sessionCookie)!) : undefined),
  });
  auditRoutes(app, deps.upstreams);
  await proxyRoutes(app, deps.upstreams);
  await webRoutes(app, deps.webRoot);
  return app;
}
