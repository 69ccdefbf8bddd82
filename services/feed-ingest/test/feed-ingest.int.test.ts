import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { IdentityRegistry } from '@twinledger/ledger-gateway';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork, type OrgHandle } from '@twinledger/devnet';
import { createPeerConnectionPool, type PeerConnectionPool } from '@twinledger/fabric-client';
import { spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';
import { createConsumer, createKafka, createIdempotentProducer, sendAcked, type Kafka, type Producer } from '@twinledger/kafka';
import { silentLogger } from '@twinledger/observability';
import { decodeSegment, type Reading } from '@twinledger/readings';
import { createDevIssuer, createJwtVerifier, type DevIssuer } from '@twinledger/service-kit';
import { createFeedIngest, DEFAULTS, type FeedIngestRuntime } from '../src/main.js';
import { createFeedReader } from '../src/domain/feed-reader.js';
import { feedIngestLedgerOf } from './support/ledger.js';

// feed-ingest asks the ledger for every feed permission: real Fabric (Org1, Org2; Org3 has a DHT
// node only), where the twin below is Org1's and every MSP reads it (the default '*' READER grant).
const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

const SENSOR_AML = `<InternalElement Name="FlowSensor" ID="FT-201">
  <Attribute Name="Unit" AttributeDataType="xs:string"><Value>l/min</Value></Attribute>
  <Attribute Name="ExpectedMin" AttributeDataType="xs:double" Unit="l/min"><Value>40</Value></Attribute>
  <Attribute Name="ExpectedMax" AttributeDataType="xs:double" Unit="l/min"><Value>60</Value></Attribute>
</InternalElement>`;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Every segment of a feed straight from the DHT: readings in order plus their index list. */
async function feedContents(dht: TestNetwork['nodes'][number], feedId: string): Promise<{ ts: number[]; indices: number[] }> {
  const head = await dht.feedHead(feedId);
  if (!head) return { ts: [], indices: [] };
  const entries = await dht.rangeByIndex(feedId, 0, head.latestIndex);
  return { ts: entries.flatMap((e) => Array.from(decodeSegment(e.payload).ts)), indices: entries.map((e) => e.index) };
}

(fabric.ok ? describe : describe.skip)('feed-ingest against the real Kafka broker, a multi-node DHT and the ledger', () => {
  let net: DevNetwork;
  let pool: PeerConnectionPool;
  const identities: IdentityRegistry[] = [];
  let dht: TestNetwork;
  let kafka: Kafka;
  let producer: Producer;
  let issuer: DevIssuer;
  let org1: FeedIngestRuntime;
  let org2: FeedIngestRuntime;
  let dir: string;
  let feedId: string;
  const t0 = Date.now() - 60_000;

  const config = (msp: string, sub: string, streamPollMs: number) => ({
    ...DEFAULTS,
    mspId: msp,
    dataDir: join(dir, sub),
    brokers: [net.kafka!.bootstrap],
    groupId: `feed-ingest-${msp}`,
    // Each organization has its own Kafka in production; here they share one broker under different topics.
    readingsTopic: `${msp}.dt.readings`,
    deadLetterTopic: `${msp}.dt.dead-letter`,
    maxSegmentReadings: 500,
    maxSegmentAgeMs: 200,
    latencySampleEvery: 1,
    streamPollMs,
  });
  const token = (org: string) => issuer.issue({ sub: `user@${org}`, org, fabricIdentity: 'User1', audience: 'twinledger' }).then((t) => ({ authorization: `Bearer ${t}` }));
  const reading = (i: number, v = 50): Reading => ({ feed: feedId, component: 'FT-201', ts: t0 + i, v, u: 'l/min' });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'feed-ingest-it-'));
    net = await startNetwork({ orgs: ['org1', 'org2'], fabric: true, kafka: true, ...testNetworkInit() });
    pool = createPeerConnectionPool();
    const [o1, o2] = net.orgs as [OrgHandle, OrgHandle];
    const ledger1 = await feedIngestLedgerOf(net, o1, dir, pool);
    const ledger2 = await feedIngestLedgerOf(net, o2, dir, pool);
    identities.push(ledger1.identities, ledger2.identities);
    await ledger1.serviceLedger.createTwin('bottling-plant-1', 'Bottling plant', AML);
    dht = await spawnTestNetwork({ orgs: ['Org1MSP', 'Org2MSP', 'Org3MSP', 'Org1MSP'] });
    await dht.connectAll();
    issuer = await createDevIssuer('https://idp.test');
    // Each service takes its own organization's tokens only (service-kit's token rules).
    const auth = (org: string) => createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: org });
    // Both streams must be pushed, a poll this slow would miss every deadline below: Org1's by its
    // own builder, Org2's by its DHT node, a head replica of the feed (watchFeed).
    org1 = await createFeedIngest(config('Org1MSP', 'org1', 120_000), { dht: dht.nodes[0]!, auth: auth('Org1MSP'), logger: silentLogger(), ledger: ledger1, parties: dht.registry });
    org2 = await createFeedIngest(config('Org2MSP', 'org2', 120_000), { dht: dht.nodes[1]!, auth: auth('Org2MSP'), logger: silentLogger(), ledger: ledger2, parties: dht.registry });
    kafka = createKafka({ brokers: [net.kafka!.bootstrap], clientId: 'feed-ingest-test' });
    producer = createIdempotentProducer(kafka);
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await org1?.close().catch(() => undefined);
    await org2?.close().catch(() => undefined);
    await org1?.app.close().catch(() => undefined);
    await org2?.app.close().catch(() => undefined);
    for (const i of identities) i.close();
    pool?.close();
    await dht?.teardown();
    await net?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('registers a feed with its expected range from the AML and refuses a second registration', async () => {
    const res = await org1.app.inject({
      method: 'POST',
      url: '/feeds',
      headers: await token('Org1MSP'),
      payload: { twinId: 'bottling-plant-1', componentId: 'FT-201', unit: 'l/min', aml: SENSOR_AML, acl: ['Org2MSP'] },
    });
    expect(res.statusCode).toBe(201);
    const feed = res.json();
    expect(feed).toMatchObject({ expectedRange: { min: 40, max: 60 }, acl: ['Org1MSP', 'Org2MSP'], valueSchema: { kind: 'scalar' } });
    feedId = feed.feedId;
    const again = await org1.app.inject({ method: 'POST', url: '/feeds', headers: await token('Org1MSP'), payload: { twinId: 'bottling-plant-1', componentId: 'FT-201', unit: 'l/min', expectedRange: { min: 0, max: 1 }, acl: ['Org2MSP'] } });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'FEED_EXISTS' });
  });

  it('refuses unknown feeds, malformed readings and mismatched units at the REST boundary', async () => {
    const h = await token('Org1MSP');
    const unknown = await org1.app.inject({ method: 'POST', url: '/readings', headers: h, payload: [{ ...reading(0), feed: 'nope' }] });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'UNKNOWN_FEED' });
    const bad = await org1.app.inject({ method: 'POST', url: '/readings', headers: h, payload: [reading(0), { ...reading(1), ts: 'yesterday' }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'INVALID_READING', details: { reason: 'BAD_TIMESTAMP', index: 1 } });
    const unit = await org1.app.inject({ method: 'POST', url: '/readings', headers: h, payload: [{ ...reading(0), u: 'bar' }] });
    expect(unit.statusCode).toBe(400);
    expect(unit.json()).toMatchObject({ code: 'FEED_MISMATCH' });
  });

  it('takes readings in (JSON and NDJSON); another organization reads them out of the DHT exactly once', async () => {
    const h = await token('Org1MSP');
    const first = Array.from({ length: 1500 }, (_, i) => reading(i, i === 700 ? 75 : 40 + (i % 20)));
    const res = await org1.app.inject({ method: 'POST', url: '/readings', headers: h, payload: first });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 1500 });
    const nd = Array.from({ length: 500 }, (_, i) => JSON.stringify(reading(1500 + i))).join('\n');
    const res2 = await org1.app.inject({ method: 'POST', url: '/readings', headers: { ...h, 'content-type': 'application/x-ndjson' }, payload: nd });
    expect(res2.statusCode).toBe(202);

    const h2 = await token('Org2MSP');
    const out = await until('org2 to read 2000 readings', async () => {
      const r = await org2.app.inject({ method: 'GET', url: `/feeds/${feedId}/readings?from=${t0}&to=${t0 + 10_000}`, headers: h2 });
      // Another organization's feed is known to Org2's instance by its signed head (which names
      // the twin to check feed:read on): 404 UNKNOWN_FEED until the first segment is appended.
      if (r.statusCode === 404 && (r.json() as { code?: string }).code === 'UNKNOWN_FEED') return undefined;
      expect(r.statusCode).toBe(200);
      const body = r.json() as { readings: Reading[] };
      return body.readings.length >= 2000 ? body.readings : undefined;
    });
    expect(out).toHaveLength(2000);
    expect(out.map((r) => r.ts)).toEqual(Array.from({ length: 2000 }, (_, i) => t0 + i));
    expect(out[700]!.v).toBe(75);
    expect(out[1]).toEqual(reading(1, 41));

    const latest = await org2.app.inject({ method: 'GET', url: `/feeds/${feedId}/latest`, headers: h2 });
    expect(latest.json().reading).toEqual(reading(1999));
    const series = await org2.app.inject({ method: 'GET', url: `/feeds/${feedId}/series?from=${t0}&to=${t0 + 1999}&buckets=4`, headers: h2 });
    const buckets = series.json().buckets as { count: number; values: { v: { max: number } } }[];
    expect(buckets.map((b) => b.count)).toEqual([500, 500, 500, 500]);
    expect(buckets[1]!.values.v.max).toBe(75);
    expect(series.json().truncated).toBe(false);
    // Anchored at the newest reading in one call: the same window and buckets, and that reading.
    const anchored = await org2.app.inject({ method: 'GET', url: `/feeds/${feedId}/series?last=1999&buckets=4`, headers: h2 });
    expect(anchored.statusCode).toBe(200);
    expect(anchored.json()).toEqual({ from: t0, to: t0 + 1999, latest: reading(1999), buckets: series.json().buckets, truncated: false });
    // A window of more segments than a series reads is sampled over the whole of it, found on
    // the real DHT from the signed update records (a reader bounded at 2 segments; access is
    // checked above, the reader alone is under test here).
    const { indices } = await feedContents(dht.nodes[1]!, feedId);
    expect(indices.length).toBeGreaterThan(2);
    const bounded = createFeedReader({ dht: dht.nodes[1]!, registry: { get: () => undefined } as never, access: { require: async () => undefined } as never, maxSegmentsPerQuery: 1000, maxSegmentsPerSeries: 2 });
    const sampled = await bounded.series(feedId, t0, t0 + 1999, 4);
    expect(sampled.sampled).toEqual({ segments: 2, of: indices.length });
    expect(sampled.truncated).toBe(false);
    const perSegment = await feedContents(dht.nodes[1]!, feedId).then((c) => c.ts.length);
    expect(sampled.buckets.reduce((n, b) => n + b.count, 0)).toBeLessThan(perSegment);
    // The first and the newest segment are read: the newest readings are charted.
    expect(sampled.buckets.at(-1)!.start).toBe(t0 + 3 * 500);
    expect(sampled.buckets[0]!.start).toBe(t0);
    const both = await org2.app.inject({ method: 'GET', url: `/feeds/${feedId}/series?last=10&from=${t0}`, headers: h2 });
    expect(both.statusCode).toBe(400);
    expect(both.json()).toMatchObject({ code: 'VALIDATION_FAILED' });

    const metrics = (await org1.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/twinledger_feed_ingest_anomalies_total\{feed="[0-9a-f]{16}"\} 1\b/);
    expect(metrics).toMatch(/twinledger_feed_ingest_readings_appended_total 2000\b/);
    expect(metrics).toMatch(/twinledger_feed_ingest_sharing_latency_seconds_count 2000\b/);
  });

  it('refuses an unauthorized reader: at the service and at the storing nodes', async () => {
    const denied = await org1.app.inject({ method: 'GET', url: `/feeds/${feedId}/readings?from=${t0}&to=${t0 + 10}`, headers: await token('Org3MSP') });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: 'FOREIGN_ORGANIZATION' });
    // Org3's own DHT node is refused by the replicas: nothing it can decrypt.
    await expect(dht.nodes[2]!.latest(feedId)).rejects.toMatchObject({ httpStatus: 403 });
  });

  it('parks a poison message and a message for an unknown feed on the dead-letter topic and keeps going', async () => {
    await sendAcked(producer, 'Org1MSP.dt.readings', [
      { key: feedId, value: '{"this is": not json' },
      { key: 'unregistered-feed', value: JSON.stringify({ ...reading(0), feed: 'unregistered-feed' }) },
      { key: feedId, value: JSON.stringify([reading(2000), reading(2001)]) },
    ]);
    const consumer = createConsumer(kafka, { groupId: `dl-reader-${Date.now()}` });
    const reasons: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: 'Org1MSP.dt.dead-letter', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void reasons.push(String(message.headers?.['reason'])) });
    await until('two dead letters', async () => (reasons.length >= 2 ? true : undefined));
    await consumer.disconnect();
    expect(reasons.sort()).toEqual(['MALFORMED_JSON', 'UNKNOWN_FEED']);
    const contents = await until('the good message behind the poison one', async () => {
      const c = await feedContents(dht.nodes[0]!, feedId);
      return c.ts.length >= 2002 ? c : undefined;
    });
    expect(contents.ts).toEqual(Array.from({ length: 2002 }, (_, i) => t0 + i));
    expect(contents.indices).toEqual(contents.indices.map((_, i) => i));
  });

  it('loses nothing acknowledged across a broker restart', async () => {
    const h = await token('Org1MSP');
    const before = await org1.app.inject({ method: 'POST', url: '/readings', headers: h, payload: Array.from({ length: 300 }, (_, i) => reading(2002 + i)) });
    expect(before.statusCode).toBe(202);
    await net.kafka!.restart();
    const after = await until('the broker to take readings again', async () => {
      const r = await org1.app.inject({ method: 'POST', url: '/readings', headers: h, payload: Array.from({ length: 300 }, (_, i) => reading(2302 + i)) });
      return r.statusCode === 202 ? r : undefined;
    }, 90_000);
    expect(after.json()).toEqual({ accepted: 300 });
    const contents = await until('all 2602 readings in the feed', async () => {
      const c = await feedContents(dht.nodes[0]!, feedId);
      return c.ts.length >= 2602 ? c : undefined;
    }, 90_000);
    expect(contents.ts).toEqual(Array.from({ length: 2602 }, (_, i) => t0 + i));
  });

  it('pushes each segment to a live stream as this instance appends it; another organization\'s stream is woken by the new head on its DHT node', async () => {
    await org1.app.listen({ host: '127.0.0.1', port: 0 });
    await org2.app.listen({ host: '127.0.0.1', port: 0 });
    const own = await openStream(org1.app, feedId, await token('Org1MSP'));
    const other = await openStream(org2.app, feedId, await token('Org2MSP'));
    try {
      await until('both streams open', async () => (own.opened() && other.opened() ? true : undefined), 10_000);
      const started = Date.now();
      const res = await org1.app.inject({ method: 'POST', url: '/readings', headers: await token('Org1MSP'), payload: Array.from({ length: 100 }, (_, i) => reading(2602 + i)) });
      expect(res.statusCode).toBe(202);
      const pushed = await until('the pushed readings', async () => (own.readings().length >= 100 ? own.readings() : undefined), 30_000);
      // Well inside Org1's 120 s poll period: the builder's append notified the stream.
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(pushed.map((r) => r.ts)).toEqual(Array.from({ length: 100 }, (_, i) => t0 + 2602 + i));
      expect(pushed[0]).toEqual(reading(2602));
      // Well inside Org2's 120 s poll period too: the head reached Org2's node, which woke the stream.
      const polled = await until('the readings on Org2', async () => (other.readings().length >= 100 ? other.readings() : undefined), 30_000);
      expect(polled.map((r) => r.ts)).toEqual(pushed.map((r) => r.ts));
    } finally {
      await own.close();
      await other.close();
    }
  });

  it('says exactly which readings Kafka acknowledged when the broker stops mid-batch; retrying only the rest completes the feed once', async () => {
    const h = await token('Org1MSP');
    // 1200 readings of one feed are three Kafka records (500 + 500 + 200); the broker stops for
    // good just before the second one is sent.
    const send = org1.producer.send.bind(org1.producer);
    let sends = 0;
    org1.producer.send = async (record) => {
      if (++sends === 2) await net.kafka!.stop();
      return send(record);
    };
    const batch = Array.from({ length: 1200 }, (_, i) => reading(2702 + i));
    let res;
    try {
      res = await org1.app.inject({ method: 'POST', url: '/readings', headers: h, payload: batch });
    } finally {
      org1.producer.send = send;
      await net.kafka!.startProcess();
    }
    expect(res.statusCode).toBe(503);
    const body = res.json() as { code: string; details: { accepted: number; acknowledged: number[][]; notAcknowledged: number[][] } };
    expect(body).toMatchObject({ code: 'BATCH_PARTIALLY_ACCEPTED', details: { accepted: 500, acknowledged: [[0, 499]], notAcknowledged: [[500, 1199]] } });
    expect(res.headers['retry-after']).toBeDefined();
    const retry = await until('the broker to take the unacknowledged readings', async () => {
      const [[from, to]] = body.details.notAcknowledged as [[number, number]];
      const r = await org1.app.inject({ method: 'POST', url: '/readings', headers: h, payload: batch.slice(from, to + 1) });
      return r.statusCode === 202 ? r : undefined;
    }, 120_000);
    expect(retry.json()).toEqual({ accepted: 700 });
    const contents = await until('all 3902 readings in the feed', async () => {
      const c = await feedContents(dht.nodes[0]!, feedId);
      return c.ts.length >= 3902 ? c : undefined;
    }, 120_000);
    expect(contents.ts).toEqual(Array.from({ length: 3902 }, (_, i) => t0 + i));
    expect(contents.indices).toEqual(contents.indices.map((_, i) => i));
  }, 240_000);
});

/** A Server-Sent Events client over a real HTTP connection: collects the `readings` events. */
async function openStream(app: FeedIngestRuntime['app'], feedId: string, headers: Record<string, string>) {
  const { port } = app.server.address() as { port: number };
  const ac = new AbortController();
  const got: Reading[] = [];
  let opened = false;
  const res = await fetch(`http://127.0.0.1:${port}/feeds/${feedId}/stream`, { headers, signal: ac.signal });
  if (res.status !== 200) throw new Error(`stream answered ${res.status}: ${await res.text()}`);
  const pump = (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          opened = true;
          const lines = block.split('\n');
          if (lines.includes('event: readings')) got.push(...(JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6)) as Reading[]));
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    opened: () => opened,
    readings: () => got,
    async close() {
      ac.abort();
      await pump;
    },
  };
}
