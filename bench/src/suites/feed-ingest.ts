import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNetwork, testNetworkInit } from '@twinledger/devnet';
import { spawnTestNetwork } from '@twinledger/dht';
import { createConsumer, createIdempotentProducer, createKafka, ensureTopics, sendAcked, type Kafka, type Producer } from '@twinledger/kafka';
import { silentLogger } from '@twinledger/observability';
import { decodeSegment } from '@twinledger/readings';
import { createDevIssuer, createJwtVerifier } from '@twinledger/service-kit';
import { createFeedIngest, DEFAULTS } from '@twinledger/feed-ingest/runtime';
import { percentile, type Suite } from '../harness.js';

/**
 * Sustained readings/s through feed-ingest (Kafka -> segments -> signed, encrypted DHT appends
 * on 3 real DHT nodes) and the sharing latency as another organization sees it (device
 * timestamp to decoded from the DHT by an Org2 node), next to the raw kafkajs
 * produce-to-consume rate of the same messages on the same broker: the ceiling of this path.
 *
 * Args: [rate readings/s, default 250000] [seconds, default 15] [feeds, default 4]
 */
const PER_MESSAGE = 500;

/** Sends in record batches under the broker's 1 MiB limit, a few requests in flight. */
async function sendChunked(producer: Producer, topic: string, messages: { key: string; value: string }[]): Promise<void> {
  const chunks: { key: string; value: string }[][] = [];
  for (let i = 0; i < messages.length; i += 8) chunks.push(messages.slice(i, i + 8));
  for (let i = 0; i < chunks.length; i += 4) await Promise.all(chunks.slice(i, i + 4).map((c) => sendAcked(producer, topic, c)));
}

function messageValue(feed: string, ts: number, n: number): string {
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) parts[i] = `{"feed":"${feed}","component":"TT-101","ts":${ts},"v":${(20 + (i % 7) * 0.25).toFixed(2)},"u":"degC"}`;
  return `[${parts.join(',')}]`;
}

async function kafkaCeiling(kafka: Kafka, log: (l: string) => void, feeds: string[], total: number): Promise<number> {
  const topic = `bench.raw.${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, partitions: 3 }]);
  await admin.disconnect();
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const consumer = createConsumer(kafka, { groupId: `${topic}.g`, maxBytes: 16 * 1024 * 1024, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let consumed = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      // Same work a consumer must at least do: parse the JSON.
      for (const m of batch.messages) consumed += (JSON.parse(m.value!.toString()) as unknown[]).length;
      if (consumed >= total) resolveDone();
    },
  });
  const messages = total / PER_MESSAGE;
  const start = Date.now();
  for (let sent = 0; sent < messages; ) {
    const batch = [];
    for (let i = 0; i < 32 && sent < messages; i++, sent++) {
      const feed = feeds[sent % feeds.length]!;
      batch.push({ key: feed, value: messageValue(feed, Date.now(), PER_MESSAGE) });
    }
    await sendChunked(producer, topic, batch);
  }
  await done;
  const rate = total / ((Date.now() - start) / 1000);
  log(`raw kafkajs produce->consume: ${total} readings in ${Date.now() - start} ms = ${rate.toFixed(0)}/s`);
  await consumer.disconnect();
  await producer.disconnect();
  return rate;
}

export const feedIngest: Suite = {
  name: 'feed-ingest',
  description: 'sustained readings/s and cross-org sharing latency through feed-ingest vs the raw Kafka ceiling',
  async run({ log, args }) {
    const rate = Number(args[0] ?? 250_000);
    const seconds = Number(args[1] ?? 15);
    const feedCount = Number(args[2] ?? 4);
    const stopFlag = { stop: false };
    const dir = await mkdtemp(join(tmpdir(), 'bench-feed-ingest-'));
    const net = await startNetwork({ fabric: false, kafka: true, ...testNetworkInit() });
    const dht = await spawnTestNetwork({ orgs: ['Org1MSP', 'Org2MSP', 'Org3MSP'] });
    try {
      await dht.connectAll();
      const kafka = createKafka({ brokers: [net.kafka!.bootstrap], clientId: 'bench-feed-ingest' });
      const issuer = await createDevIssuer('https://idp.bench');
      const runtime = await createFeedIngest(
        { ...DEFAULTS, mspId: 'Org1MSP', dataDir: dir, brokers: [net.kafka!.bootstrap], groupId: 'bench-feed-ingest' },
        { dht: dht.nodes[0]!, logger: silentLogger(), auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks }) },
      );
      const auth = { authorization: `Bearer ${await issuer.issue({ sub: 'bench', org: 'Org1MSP', audience: 'twinledger' })}` };
      const feeds: string[] = [];
      for (let i = 0; i < feedCount; i++) {
        const res = await runtime.app.inject({ method: 'POST', url: '/feeds', headers: auth, payload: { twinId: 'bench', componentId: `TT-101-${i}`, unit: 'degC', expectedRange: { min: -50, max: 150 }, acl: ['Org2MSP'] } });
        if (res.statusCode !== 201) throw new Error(`feed registration failed: ${res.body}`);
        feeds.push(res.json().feedId as string);
      }
      // Component ids differ per feed; the template uses one, so register the messages' component per feed.
      const ceiling = await kafkaCeiling(kafka, log, feeds, Math.round(Math.min(rate, 400_000) * 5 / PER_MESSAGE) * PER_MESSAGE);

      // Org2 reads the feeds from its own DHT node, polling the heads like a dashboard would.
      const reader = dht.nodes[1]!;
      const latencies: number[] = [];
      let readCount = 0;
      let stopReading = false;
      const next = new Map(feeds.map((f) => [f, 0]));
      const readerLoop = (async () => {
        while (!stopReading && !stopFlag.stop) {
          for (const f of feeds) {
            const head = await Promise.resolve().then(() => reader.feedHead(f)).catch(() => undefined);
            const from = next.get(f)!;
            if (!head || head.latestIndex < from) continue;
            for (const e of await reader.rangeByIndex(f, from, head.latestIndex)) {
              const now = Date.now();
              const seg = decodeSegment(e.payload);
              readCount += seg.count;
              for (let i = 0; i < seg.count; i += 50) latencies.push(now - seg.ts[i]!);
            }
            next.set(f, head.latestIndex + 1);
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })();

      let appended = 0;
      let appends = 0;
      runtime.builder.events.on('appended', (a: { readings: unknown[] }) => {
        appended += a.readings.length;
        appends++;
      });
      const progress = setInterval(() => log(`appended ${appended} in ${appends} segments, Org2 read ${readCount}, buffered ${runtime.builder.bufferedReadings()}`), 2000);
      const producer = createIdempotentProducer(kafka);
      await producer.connect();
      const total = Math.round((rate * seconds) / PER_MESSAGE) * PER_MESSAGE;
      const start = Date.now();
      let sent = 0;
      let m = 0;
      // Paced in 50 ms ticks so the figure is a sustained rate with honest latencies, not a backlog drain.
      while (sent < total) {
        const due = Math.min(total, Math.ceil(((Date.now() - start) / 1000) * rate / PER_MESSAGE) * PER_MESSAGE);
        const batch = [];
        while (sent < due) {
          const f = feeds[m++ % feeds.length]!;
          batch.push({ key: f, value: messageValue(f, Date.now(), PER_MESSAGE).replaceAll('"TT-101"', `"TT-101-${feeds.indexOf(f)}"`) });
          sent += PER_MESSAGE;
        }
        if (batch.length > 0) await sendChunked(producer, DEFAULTS.readingsTopic, batch);
        else await new Promise((r) => setTimeout(r, 10));
      }
      const produceMs = Date.now() - start;
      log(`produced ${total} readings in ${produceMs} ms (target ${rate}/s)`);
      const deadline = Date.now() + 120_000;
      while (readCount < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const elapsed = (Date.now() - start) / 1000;
      stopReading = true;
      clearInterval(progress);
      await readerLoop;
      await producer.disconnect();
      await runtime.close();
      await runtime.app.close();
      if (readCount < total) log(`WARNING: only ${readCount}/${total} readings readable by Org2 within 120 s after producing`);
      const readingsPerS = readCount / elapsed;
      log(`Org2 read ${readCount} readings, ${elapsed.toFixed(1)} s from first produce to last readable`);
      return {
        readings_per_s: readingsPerS,
        p50_ms: percentile(latencies, 50),
        p99_ms: percentile(latencies, 99),
        kafka_ceiling_per_s: ceiling,
        ratio: readingsPerS / ceiling,
      };
    } finally {
      stopFlag.stop = true;
      await dht.teardown();
      await net.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
