import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DhtNode } from '@twinledger/dht';
import type { Admin } from '@twinledger/kafka';
import type { TwinLedger } from '@twinledger/ledger';
import { createMetricsRegistry, silentLogger } from '@twinledger/observability';
import type { ServiceApp, TokenVerifier } from '@twinledger/service-kit';
import { buildApp } from '../../src/app.js';
import { createFeedEvidenceSource } from '../../src/domain/feed-evidence.js';
import { createFeedReader } from '../../src/domain/feed-reader.js';
import { openFeedRegistry, type FeedRecord } from '../../src/domain/feed-registry.js';
import { createIngest } from '../../src/domain/ingest.js';
import { createFeedMetrics } from '../../src/domain/metrics.js';
import type { SegmentBuilder } from '../../src/domain/segment-builder.js';
import { fakeProducer, feedRecord, signedFeedDht, writesAllowed } from './fakes.js';

/** The documented query window starts here (routes/queries.ts): the feed's readings fall in it. */
export const T0 = 1_767_225_600_000;

/**
 * feed-ingest around the real registry (one feed), the real reader and the real evidence source
 * over a fake DHT holding the feed as its owner writes it (signed update records, manifests,
 * three segments in the documented query window, two of them anchored on a fake ledger), the
 * real REST ingest over the fake producer, every caller allowed; the segment builder is a small
 * fake of its interface. For adversarial walks of it and of the console in front of it.
 */
export async function workingFeedIngest(auth: TokenVerifier): Promise<{ app: ServiceApp; feed: FeedRecord; close(): Promise<void> }> {
  const segments = [0, 1, 2].map((s) => [0, 1, 2, 3].map((i) => ({ feed: 'x', component: 'ca', ts: T0 + 1_000 * s + 10 * i, v: i, u: 'bar' })));
  const signed = signedFeedDht('t/a', segments, 2);
  const feed = { ...feedRecord('a'), feedId: signed.feedId };
  const dir = await mkdtemp(join(tmpdir(), 'feed-ingest-fuzz-'));
  const registry = await openFeedRegistry(dir);
  await registry.add(feed);
  const dht = {
    ...signed.dht,
    isStarted: () => true,
    feedHead: async () => undefined,
    watchFeed: () => () => undefined,
    createFeed: async () => ({ feedId: 'b'.repeat(64), objectId: 'f'.repeat(64), topic: 't/b' }),
  } as unknown as DhtNode;
  const metrics = createMetricsRegistry({ prefix: 'fi_fuzz_', defaultMetrics: false });
  const builder: SegmentBuilder = { start: async () => undefined, stop: async () => undefined, events: new EventEmitter(), dhtFailing: () => false, isRunning: () => true, bufferedReadings: () => 0, writesFeed: () => true };
  const ledger = { listFeedAnchorsPage: async () => ({ items: signed.anchors, bookmark: '' }) } as unknown as TwinLedger;
  const evidence = createFeedEvidenceSource({ maxIndices: 1000 }, { dht, ledger, blocks: { blockNumberOf: async () => 7 } });
  const app = await buildApp({
    logger: silentLogger(),
    metrics,
    auth,
    mspId: 'Org1MSP',
    dht,
    ownerKey: new Uint8Array(32),
    ownerPublicKey: 'k',
    registry,
    reader: createFeedReader({ dht, registry, access: writesAllowed, maxSegmentsPerQuery: 100 }),
    ingest: createIngest({ topic: 'dt.readings', groupId: 'g', maxBacklogMessages: 1000, readingsPerMessage: 2, lagIntervalMs: 1000, retryAfterSeconds: 3 }, { producer: fakeProducer(() => false).producer, admin: {} as Admin, registry, metrics: createFeedMetrics(metrics), logger: silentLogger() }),
    builder,
    access: writesAllowed,
    evidence,
    limits: { maxReadingsPerRequest: 100, maxReadingsPerQuery: 1000, bodyLimitBytes: 1024 * 1024, streamPollMs: 50, accessRecheckMs: 1000 },
  });
  await app.ready();
  return {
    app,
    feed,
    close: async () => {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
