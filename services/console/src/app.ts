import type { Logger, Registry } from '@twinledger/observability';
import { createMetricsRegistry } from '@twinledger/observability';
import { buildService, type ServiceApp, type TokenVerifier } from '@twinledger/service-kit';
import type { DevSignIn } from './dev-signin.js';
import { auditRoutes } from './routes/audit.js';
import { consoleApiRoutes } from './routes/console-api.js';
import { proxyRoutes, type Upstreams } from './routes/proxy.js';
import { webRoutes } from './routes/web.js';

export { parseDevUsers, createDevSignIn, type DevUser, type DevSignIn } from './dev-signin.js';
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
  /** Present only when dev sign-in is configured. */
  readonly devSignIn?: DevSignIn;
}

export async function buildApp(deps: AppDeps): Promise<ServiceApp> {
  const app = await buildService({
    name: 'console',
    description: 'The organization web console: the single-page app and one-origin access to its services',
    logger: deps.logger,
    metrics: deps.metrics ?? createMetricsRegistry({ prefix: 'twinledger_' }),
    auth: deps.auth,
    readiness: [],
  });
  consoleApiRoutes(app, { orgName: deps.orgName, mspId: deps.mspId, upstreams: deps.upstreams, devSignIn: deps.devSignIn });
  auditRoutes(app, deps.upstreams);
  await proxyRoutes(app, deps.upstreams);
  await webRoutes(app, deps.webRoot);
  return app;
}
