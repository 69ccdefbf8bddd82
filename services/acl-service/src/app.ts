import { buildService, type ReadinessCheck, type ServiceApp, type TokenVerifier } from '@twinledger/service-kit';
import { createMetricsRegistry, type Logger, type Registry } from '@twinledger/observability';
import { aclRoutes, type RouteDeps } from './routes/acl.js';

export interface AppDeps {
  readonly logger: Logger;
  readonly metrics?: Registry;
  readonly auth: TokenVerifier;
  readonly ledgerFor: RouteDeps['ledgerFor'];
  readonly authorizer: RouteDeps['authorizer'];
  readonly keys?: RouteDeps['keys'];
  readonly readiness?: readonly ReadinessCheck[];
  readonly mvccAttempts?: number;
}

export async function buildApp(deps: AppDeps): Promise<ServiceApp> {
  const app = await buildService({
    name: 'acl-service',
    description: 'REST gateway to the access-control contract: grants, party registry, authorization decisions, DHT key management',
    logger: deps.logger,
    metrics: deps.metrics ?? createMetricsRegistry({ prefix: 'twinledger_' }),
    auth: deps.auth,
    readiness: deps.readiness ?? [],
  });
  await app.register(aclRoutes({ ledgerFor: deps.ledgerFor, authorizer: deps.authorizer, keys: deps.keys, mvccAttempts: deps.mvccAttempts ?? 3 }));
  return app;
}
