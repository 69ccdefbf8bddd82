import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Admin, Producer } from '@twinledger/kafka';
import { createMetricsRegistry, silentLogger } from '@twinledger/observability';
import type { Reading } from '@twinledger/readings';
import { buildService, createDevIssuer, createJwtVerifier, type DevIssuer, type ServiceApp } from '@twinledger/service-kit';
import { openFeedRegistry, type FeedRecord, type FeedRegistry } from '../src/domain/feed-registry.js';
import { createIngest, toRanges } from '../src/domain/ingest.js';
import { createFeedMetrics } from '../src/domain/metrics.js';
import { readingRoutes } from '../src/routes/readings.js';
import { fakeProducer, feedRecord as feed, writesAllowed } from './support/fakes.js';

// Generous: on the shared 2-core machine, building the first app can take seconds.
jest.setTimeout(60_000);

const A = feed('a');
const B = feed('b');
const reading = (f: FeedRecord, ts: number): Reading => ({ feed: f.feedId, component: f.componentId, ts, v: 1, u: 'bar' });

describe('REST ingest: partial-batch acknowledgement', () => {
  let dir: string;
  let registry: FeedRegistry;
  let issuer: DevIssuer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'feed-ingest-ack-'));
    registry = await openFeedRegistry(dir);
    await registry.add(A);
    await registry.add(B);
    issuer = await createDevIssuer('https://idp.test');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const ingestWith = (producer: Producer) =>
    createIngest(
      { topic: 'dt.readings', groupId: 'g', maxBacklogMessages: 1000, readingsPerMessage: 2, lagIntervalMs: 1000, retryAfterSeconds: 3 },
      { producer, admin: {} as Admin, registry, metrics: createFeedMetrics(createMetricsRegistry({ prefix: 'test_' })), logger: silentLogger() },
    );

  async function appWith(producer: Producer): Promise<ServiceApp> {
    const app = await buildService({ name: 'feed-ingest-test', logger: silentLogger(), auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }) });
    readingRoutes(app, { ingest: ingestWith(producer), registry, access: writesAllowed, maxReadingsPerRequest: 100 });
    return app;
  }

  it('compacts positions into ranges', () => {
    expect(toRanges([])).toEqual([]);
    expect(toRanges([0, 1, 2, 5, 7, 8])).toEqual([[0, 2], [5, 5], [7, 8]]);
  });

  it('acknowledges a whole batch with 202 when every record was acknowledged', async () => {
    const fake = fakeProducer(() => false);
    const app = await appWith(fake.producer);
    const batch = [reading(A, 1), reading(B, 2), reading(A, 3), reading(A, 4), reading(B, 5)];
    const res = await app.inject({ method: 'POST', url: '/readings', headers: { authorization: `Bearer ${await issuer.issue({ sub: 'u', org: 'Org1MSP', audience: 'twinledger' })}` }, payload: batch });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 5 });
    // One record per send (2 readings each): a feed's records in order.
    expect(fake.sends()).toBe(3);
    expect(fake.delivered.filter((d) => d.key === A.feedId).flatMap((d) => d.readings.map((r) => r.ts))).toEqual([1, 3, 4]);
  });

  it('names exactly the acknowledged and the unacknowledged readings when Kafka fails mid-batch', async () => {
    // Feed A: readings at positions 0,2,3,5,6 -> records [0,2] [3,5] [6]; the second record fails.
    // Feed B: positions 1,4 -> one record, acknowledged.
    let aSends = 0;
    const fake = fakeProducer((_no, key) => key === A.feedId && ++aSends === 2);
    const app = await appWith(fake.producer);
    const batch = [reading(A, 10), reading(B, 11), reading(A, 12), reading(A, 13), reading(B, 14), reading(A, 15), reading(A, 16)];
    const res = await app.inject({ method: 'POST', url: '/readings', headers: { authorization: `Bearer ${await issuer.issue({ sub: 'u', org: 'Org1MSP', audience: 'twinledger' })}` }, payload: batch });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('3');
    const body = res.json() as { code: string; details: { accepted: number; acknowledged: number[][]; notAcknowledged: number[][] } };
    expect(body.code).toBe('BATCH_PARTIALLY_ACCEPTED');
    expect(body.details).toEqual({ accepted: 4, acknowledged: [[0, 2], [4, 4]], notAcknowledged: [[3, 3], [5, 6]] });
    // What the response calls acknowledged is exactly what reached Kafka; after a feed's
    // failure nothing later of that feed was sent (a retry keeps the feed in time order).
    const delivered = fake.delivered.flatMap((d) => d.readings.map((r) => r.ts)).sort((x, y) => x - y);
    expect(delivered).toEqual([10, 11, 12, 14]);
  });

  it('answers BROKER_UNAVAILABLE (nothing accepted) when no record was acknowledged', async () => {
    const fake = fakeProducer(() => true);
    const app = await appWith(fake.producer);
    const res = await app.inject({ method: 'POST', url: '/readings', headers: { authorization: `Bearer ${await issuer.issue({ sub: 'u', org: 'Org1MSP', audience: 'twinledger' })}` }, payload: [reading(A, 1), reading(B, 2)] });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'BROKER_UNAVAILABLE' });
    expect(fake.delivered).toEqual([]);
  });
});
