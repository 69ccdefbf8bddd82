import type { DhtNode } from '@twinledger/dht';
import type { Logger, Registry } from '@twinledger/observability';
import { buildService, type ServiceApp, type TokenVerifier } from '@twinledger/service-kit';
import { requireWorkload } from './domain/access.js';
import { objectRoutes } from './routes/objects.js';
import { statusRoutes } from './routes/status.js';

/**
 * What the REST facade uses of the organization's DHT node: the routes need no more, and route
 * tests (test/routes.test.ts) build the app around a small in-memory fake of exactly this.
 */
export type GatewayNode = Pick<DhtNode, 'mspId' | 'isStarted' | 'putObject' | 'openObject' | 'getManifest' | 'getAcl' | 'updateAcl' | 'status'>;

export interface AppDeps {
  /** The organization's started DHT node. */
  readonly node: GatewayNode;
  readonly logger: Logger;
  /** Shared with the DHT node so /metrics shows both. */
  readonly metrics?: Registry;
  /** Service-credential verification (see auth.ts `gatewayVerifier`); absent only for tests of unauthenticated behaviour. */
  readonly auth?: TokenVerifier;
  /** Largest object body accepted, bytes (413 above). */
  readonly maxObjectBytes: number;
}

/**
 * The dht-gateway app: the org's DHT node behind REST, for that org's own services (objects and
 * node status). It has no feed routes: feed-ingest writes and reads feeds with its own embedded
 * node and decides feed access on the ledger (docs/architecture-decisions.md, ADR-10); this
 * node still stores other nodes' feed replicas like any DHT node.
 */
export async function buildApp(deps: AppDeps): Promise<ServiceApp> {
  const { node } = deps;
  const app = await buildService({
    name: 'dht-gateway',
    description: 'The organization\'s DHT node: encrypted replicated objects with per-item ACLs (feeds are written and read by feed-ingest)',
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
  await app.register(statusRoutes, { node });
  return app;
}
