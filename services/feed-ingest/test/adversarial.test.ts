// Every route of feed-ingest's OpenAPI document, walked with malformed input (service-kit's
// adversarial walk): never a 5xx, a hang or a crash, 4xx always with a stable code. The app is
// built around the real registry (one feed), the real reader and the real evidence source over a
// fake DHT holding a feed as its owner writes it (signed update records, manifests, segments in
// the documented query window, two of three anchored on a fake ledger), the real REST ingest over
// the fake producer, every caller allowed; the segment builder is a small fake of its interface.
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DhtNode } from '@twinledger/dht';
import type { Admin } from '@twinledger/kafka';
import type { TwinLedger } from '@twinledger/ledger';
import { createMetricsRegistry, silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { probeUnauthenticated, walkAdversarially } from '@twinledger/service-kit/testing';
import { buildApp } from '../src/app.js';
import { createFeedEvidenceSource } from '../src/domain/feed-evidence.js';
import { createFeedReader } from '../src/domain/feed-reader.js';
import { openFeedRegistry } from '../src/domain/feed-registry.js';
import { createIngest } from '../src/domain/ingest.js';
import { createFeedMetrics } from '../src/domain/metrics.js';
import type { SegmentBuilder } from '../src/domain/segment-builder.js';
import { fakeProducer, feedRecord, signedFeedDht, writesAllowed } from './support/fakes.js';

/** The documented query window starts here (routes/queries.ts): the fake feed's readings fall in it. */
const T0 = 1_767_225_600_000;
const segments = [0, 1, 2].map((s) => [0, 1, 2, 3].map((i) => ({ feed: 'x', component: 'ca', ts: T0 + 1_000 * s + 10 * i, v: i, u: 'bar' })));
const feed = signedFeedDht('t/a', segments, 2);
const A = { ...feedRecord('a'), feedId: feed.feedId };
/** A batch the route takes (its items are checked in the handler, so no sample passes). */
const examples = { 'POST /readings': [{ feed: A.feedId, component: A.componentId, ts: T0, v: 1.5, u: 'bar' }, { feed: A.feedId, component: A.componentId, ts: T0 + 1, v: 2, u: 'bar' }] };

describe('feed-ingest under adversarial input (every documented route)', () => {
  let dir: string;
  let app: ServiceApp;
  let token: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'feed-ingest-fuzz-'));
    const registry = await openFeedRegistry(dir);
    await registry.add(A);
    const dht = {
      ...feed.dht,
      isStarted: () => true,
      feedHead: async () => undefined,
      watchFeed: () => () => undefined,
      createFeed: async () => ({ feedId: 'b'.repeat(64), objectId: 'f'.repeat(64), topic: 't/b' }),
    } as unknown as DhtNode;
    const metrics = createMetricsRegistry({ prefix: 'fi_fuzz_', defaultMetrics: false });
    const builder: SegmentBuilder = { start: async () => undefined, stop: async () => undefined, events: new EventEmitter(), dhtFailing: () => false, isRunning: () => true, bufferedReadings: () => 0, writesFeed: () => true };
    const ledger = { listFeedAnchorsPage: async () => ({ items: feed.anchors, bookmark: '' }) } as unknown as TwinLedger;
    const evidence = createFeedEvidenceSource({ maxIndices: 1000 }, { dht, ledger, blocks: { blockNumberOf: async () => 7 } });
    const issuer = await createDevIssuer('https://idp.test');
    app = await buildApp({
      logger: silentLogger(),
      metrics,
      auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }),
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
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
  });
  afterAll(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers every malformed request below 500, in time, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 23, token, examples, pathValues: { feedId: A.feedId } })).toEqual({ findings: [], reachedHandlers: true, unreached: [], alive: true });
  }, 300_000);

  it('answers the same request lines and headers over HTTP below 500, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 23, token, examples, pathValues: { feedId: A.feedId }, overHttp: true })).toEqual({ findings: [], reachedHandlers: true, unreached: [], alive: true });
  }, 300_000);

  it('refuses every route without a valid token with 401 UNAUTHENTICATED', async () => {
    expect(await probeUnauthenticated(app, { pathValues: { feedId: A.feedId } })).toEqual([]);
  }, 60_000);
});
