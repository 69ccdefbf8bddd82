import { buildService, type ReadinessCheck, type ServiceApp, type TokenVerifier } from '@twinledger/service-kit';
import { createMetricsRegistry, type Logger, type Registry } from '@twinledger/observability';
import { ledgerGatewayPlugin, type LedgerGatewayPluginOptions } from '@twinledger/ledger-gateway';
import { aclRoutes, type RouteDeps } from './routes/acl.js';

export interface AppDeps {
  readonly logger: Logger;
  readonly metrics?: Registry;
  readonly auth: TokenVerifier;
  readonly ledgerFor: LedgerGatewayPluginOptions['ledgerFor'];
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
  await app.register(ledgerGatewayPlugin, { ledgerFor: deps.ledgerFor, ...(deps.mvccAttempts !== undefined ? { mvccAttempts: deps.mvccAttempts } : {}) });
  await app.register(aclRoutes({ authorizer: deps.authorizer, keys: deps.keys }));
  return app;
}
