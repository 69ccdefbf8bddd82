import type { DhtNode } from '@twinledger/dht';
import type { Logger, Registry } from '@twinledger/observability';
import { buildService, type ServiceApp, type TokenVerifier } from '@twinledger/service-kit';
import type { FeedAccess } from './domain/feed-access.js';
import type { FeedEvidenceSource } from './domain/feed-evidence.js';
import type { FeedReader } from './domain/feed-reader.js';
import type { FeedRegistry } from './domain/feed-registry.js';
import type { Ingest } from './domain/ingest.js';
import type { SegmentBuilder } from './domain/segment-builder.js';
import { feedRoutes } from './routes/feeds.js';
import { evidenceRoutes } from './routes/evidence.js';
import { queryRoutes } from './routes/queries.js';
import { readingRoutes } from './routes/readings.js';

export interface AppDeps {
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly auth: TokenVerifier;
  readonly mspId: string;
  readonly dht: DhtNode;
  readonly ownerKey: Uint8Array;
  readonly ownerPublicKey: string;
  readonly registry: FeedRegistry;
  readonly reader: FeedReader;
  readonly ingest: Ingest;
  readonly builder: SegmentBuilder;
  readonly access: FeedAccess;
  readonly evidence: FeedEvidenceSource;
  readonly limits: {
    readonly maxReadingsPerRequest: number;
    readonly maxReadingsPerQuery: number;
    readonly bodyLimitBytes: number;
    readonly streamPollMs: number;
    /** Decision TTL: how often an open stream re-checks feed:read. */
    readonly accessRecheckMs: number;
  };
}

export async function buildApp(deps: AppDeps): Promise<ServiceApp> {
  const app = await buildService({
    name: 'feed-ingest',
    logger: deps.logger,
    metrics: deps.metrics,
    auth: deps.auth,
    bodyLimit: deps.limits.bodyLimitBytes,
    readiness: [
      { name: 'dht', check: async () => deps.dht.isStarted() && !deps.builder.dhtFailing() },
      { name: 'segment-builder', check: async () => deps.builder.isRunning() },
    ],
  });
  feedRoutes(app, deps);
  readingRoutes(app, { ingest: deps.ingest, registry: deps.registry, access: deps.access, maxReadingsPerRequest: deps.limits.maxReadingsPerRequest });
  queryRoutes(app, { reader: deps.reader, evidence: deps.evidence, events: deps.builder.events, writesFeed: (f) => deps.builder.writesFeed(f), maxReadingsPerQuery: deps.limits.maxReadingsPerQuery, streamPollMs: deps.limits.streamPollMs, accessRecheckMs: deps.limits.accessRecheckMs, watchFeed: (f, listener) => deps.dht.watchFeed(f, () => listener()) });
  evidenceRoutes(app, { reader: deps.reader, registry: deps.registry, evidence: deps.evidence, dht: deps.dht });
  return app;
}
