import type { DhtNode } from '@twinledger/dht';
import type { Logger, Registry } from '@twinledger/observability';
import { buildService, type ServiceApp, type TokenVerifier } from '@twinledger/service-kit';
import { requireWorkload } from './domain/access.js';
import type { FeedKeyStore } from './domain/feed-keys.js';
import { feedRoutes } from './routes/feeds.js';
import { objectRoutes } from './routes/objects.js';
import { statusRoutes } from './routes/status.js';

export interface AppDeps {
  /** The organization's started DHT node. */
  readonly node: DhtNode;
  readonly feedKeys: FeedKeyStore;
  readonly logger: Logger;
  /** Shared with the DHT node so /metrics shows both. */
  readonly metrics?: Registry;
  /** Service-credential verification (see auth.ts `gatewayVerifier`); absent only for tests of unauthenticated behaviour. */
  readonly auth?: TokenVerifier;
  readonly maxObjectBytes: number;
  readonly maxFeedUpdateBytes: number;
  readonly feedPageSize: number;
}

/** The dht-gateway app: the org's DHT node behind REST, for that org's own services. */
export async function buildApp(deps: AppDeps): Promise<ServiceApp> {
  const { node } = deps;
  const app = await buildService({
    name: 'dht-gateway',
    description: 'The organization\'s DHT node: encrypted replicated objects with per-item ACLs, and signed feeds',
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.auth ? { auth: deps.auth } : {}),
    readiness: [{ name: 'dht', check: async () => node.isStarted() }],
  });
  // The REST facade is org-internal: the verifier takes only this org's tokens for the
  // gateway's own audience (403 FOREIGN_ORGANIZATION otherwise), and here only workloads.
  // onRequest, right after authentication: a refused caller's body is never read.
  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.config?.public || req.url.startsWith('/docs')) return;
    requireWorkload(req.principal);
  });
  await app.register(objectRoutes, { node, maxObjectBytes: deps.maxObjectBytes });
  await app.register(feedRoutes, { node, keys: deps.feedKeys, maxUpdateBytes: deps.maxFeedUpdateBytes, maxPageSize: deps.feedPageSize });
  await app.register(statusRoutes, { node });
  return app;
}
