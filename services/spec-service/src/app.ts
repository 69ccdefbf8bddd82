import { buildService, type ReadinessCheck, type ServiceApp, type TokenVerifier } from '@twinledger/service-kit';
import { AmlLimits } from '@twinledger/aml';
import { Counter, Gauge, createMetricsRegistry, type Logger, type Registry } from '@twinledger/observability';
import type { DhtClient } from '@twinledger/dht-client';
import type { RouteDeps, Limits } from './context.js';
import { DEFAULT_READ_CACHE } from './config.js';
import type { EventHub } from './domain/event-hub.js';
import type { LedgerJournal } from './domain/ledger-journal.js';
import { createSpecCache, type SpecCache } from './domain/spec-cache.js';
import { createReadModel, type ReadModel } from './domain/read-model.js';
import { createAccessDecisions, ledgerGatewayPlugin, type AccessDecisions, type LedgerGatewayPluginOptions } from '@twinledger/ledger-gateway';
import { twinRoutes } from './routes/twins.js';
import { registryRoutes } from './routes/registry.js';
import { auditRoutes } from './routes/audit.js';
import { eventRoutes } from './routes/events.js';
import { documentRoutes } from './routes/documents.js';
import { safetyRoutes } from './routes/safety.js';
import { aasRoutes, aasxRoutes } from './routes/aas.js';

export interface AppDeps {
  readonly logger: Logger;
  readonly metrics?: Registry;
  readonly auth: TokenVerifier;
  readonly ledgerFor: LedgerGatewayPluginOptions['ledgerFor'];
  readonly dht: DhtClient;
  readonly hub: EventHub;
  /** Whether this replica relays ledger events; default yes (tests publish to the hub directly). */
  readonly relaying?: () => boolean;
  readonly journal: LedgerJournal;
  /** See RouteDeps.auditBundles. */
  readonly auditBundles?: RouteDeps['auditBundles'];
  readonly readiness?: readonly ReadinessCheck[];
  readonly limits?: Partial<Limits>;
  /** Attempts for a write that loses MVCC read conflicts; default 3. */
  readonly mvccAttempts?: number;
  /** Characters of assembled specifications (AML + JSON tree) kept per revision; 0 disables. Default 128 Mi. */
  readonly specCacheChars?: number;
  /** The cache itself, when the caller keeps it warm (main.ts refreshes it on ledger events); else one of specCacheChars. */
  readonly specCache?: SpecCache;
  /**
   * The read model, kept current by the caller (main.ts feeds it the relayed events). Default: a
   * disabled one (every read asks the peer as the caller; fences wait for nothing).
   */
  readonly reads?: ReadModel;
  /** The access decisions the read model's reads check first (main.ts invalidates them on grant events). */
  readonly decisions?: AccessDecisions;
}


export const DEFAULT_SPEC_CACHE_CHARS = 128 * 1024 * 1024;

export const DEFAULT_LIMITS: Limits = { amlBytes: AmlLimits.MAX_AML_BYTES, fragmentBytes: AmlLimits.MAX_FRAGMENT_BYTES, documentBytes: 64 * 1024 * 1024 };

export async function buildApp(deps: AppDeps): Promise<ServiceApp> {
  const metrics = deps.metrics ?? createMetricsRegistry({ prefix: 'twinledger_' });
  const app = await buildService({
    name: 'spec-service',
    description: 'REST gateway to the specification contract: twins, AML, documents, sources, feeds, program calls, audit, events; the twins as Asset Administration Shells (read-only AAS API, AASX export)',
    logger: deps.logger,
    metrics,
    auth: deps.auth,
    readiness: deps.readiness ?? [],
  });
  const specCache = deps.specCache ?? createSpecCache({ maxChars: deps.specCacheChars ?? DEFAULT_SPEC_CACHE_CHARS });
  new Gauge({
    name: 'spec_service_spec_cache_chars',
    help: 'Characters of specifications (AML and JSON trees) held in the revision-keyed cache',
    registers: [metrics],
    collect() {
      this.set(specCache.stats().bytes);
    },
  });
  const reads = deps.reads ?? createReadModel({ maxChars: 0, maxAgeMs: 0, fenceWaitMs: DEFAULT_READ_CACHE.fenceWaitMs, following: () => false, blockOf: deps.journal.blockOf });
  new Gauge({
    name: 'spec_service_read_cache_chars',
    help: 'Characters of ledger answers held by the read model (READ_CACHE_MAX_CHARS bounds it)',
    registers: [metrics],
    collect() {
      this.set(reads.stats().chars);
    },
  });
  const routeDeps: RouteDeps = {
    dht: deps.dht,
    hub: deps.hub,
    relaying: deps.relaying ?? (() => true),
    journal: deps.journal,
    ...(deps.auditBundles ? { auditBundles: deps.auditBundles } : {}),
    limits: { ...DEFAULT_LIMITS, ...deps.limits },
    orphans: new Counter({ name: 'spec_service_orphaned_dht_objects_total', help: 'DHT objects stored whose ledger write failed', registers: [metrics] }),
    specCache,
    specCacheLookups: new Counter({
      name: 'spec_service_spec_cache_lookups_total',
      help: 'Specification reads by cache outcome: hit, miss, stale (revision changed), uncacheable (no revision recorded)',
      labelNames: ['result'],
      registers: [metrics],
    }),
    reads,
    // Not given: nothing invalidates decisions here, so the chaincode decides every read.
    decisions:
      deps.decisions ??
      createAccessDecisions({ check: async (caller, twinId, permission) => (await (await deps.ledgerFor({ ...caller, roles: [] })).checkAccess(twinId, permission)).allowed, ttlMs: 0 }),
    readLookups: new Counter({
      name: 'spec_service_read_cache_lookups_total',
      help: 'Reads of the read model by outcome: hit, miss, stale (served unconfirmed), fenced (the peer answered a fence), uncached (model disabled)',
      labelNames: ['result'],
      registers: [metrics],
    }),
  };
  await app.register(ledgerGatewayPlugin, {
    ledgerFor: deps.ledgerFor,
    ...(deps.mvccAttempts !== undefined ? { mvccAttempts: deps.mvccAttempts } : {}),
    retries: new Counter({ name: 'spec_service_mvcc_retries_total', help: 'Writes retried after an MVCC read conflict', labelNames: ['operation'], registers: [metrics] }),
  });
  await app.register(twinRoutes(routeDeps));
  await app.register(registryRoutes(routeDeps));
  await app.register(auditRoutes(routeDeps));
  await app.register(eventRoutes(routeDeps));
  await app.register(documentRoutes(routeDeps));
  await app.register(safetyRoutes(routeDeps));
  await app.register(aasRoutes(routeDeps));
  await app.register(aasxRoutes(routeDeps));
  return app;
}
