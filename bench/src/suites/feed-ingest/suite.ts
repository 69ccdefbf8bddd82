import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { ledgerEnvOf, serviceEntry, startNetwork, startServiceProcess, testNetworkInit, type ServiceProcess } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { type FeedHead } from '@twinledger/dht';
import { spawnTestNetwork } from '@twinledger/dht/testing';
import { createConsumer, createIdempotentProducer, createKafka, ensureTopics, type Kafka } from '@twinledger/kafka';
import { decodeSegment } from '@twinledger/readings';
import { writeFile } from 'node:fs/promises';
import { createDevIssuer } from '@twinledger/service-kit';
import { DEFAULTS } from '@twinledger/feed-ingest/main';
import { Worker } from 'node:worker_threads';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { histogramQuantile, percentile, procCpuSeconds, type Suite } from '../../harness.js';
import { sendChunked, type DevicesInit, type DevicesResult } from './devices.js';

/**
 * Sustained readings/s through feed-ingest (Kafka -> segments -> signed, encrypted DHT appends
 * on 3 real DHT nodes) and the sharing latency as another organization sees it (device
 * timestamp to decoded from the DHT by an Org2 node), next to the raw kafkajs
 * produce-to-consume rate of the same messages on the same broker: the ceiling of this path.
 *
 * Args: [rate readings/s, default 250000] [seconds, default 15] [feeds, default 4]
 * [throughput-phase seconds, default 10; 0 skips it (e.g. to profile the latency phase alone)]
 */
const PER_MESSAGE = 500;
/** Where a message template takes its creation time (see devices.ts). */
const TS_SLOT = '@TS@';

/**
 * A device message in the columnar `dt.readings` form (packages/readings): 500 readings of one
 * feed, each with its own entry in `ts` and `v`, stamped when the message is created.
 */
function messageTemplate(feed: string, component: string, n: number): string {
  const values = Array.from({ length: n }, (_, i) => (20 + (i % 7) * 0.25).toFixed(2));
  return `{"feed":"${feed}","component":"${component}","u":"degC","ts":[${Array.from({ length: n }, () => TS_SLOT).join(',')}],"v":[${values.join(',')}]}`;
}

async function kafkaCeiling(kafka: Kafka, log: (l: string) => void, feeds: string[], total: number): Promise<number> {
  const templates = feeds.map((f) => messageTemplate(f, 'TT-101', PER_MESSAGE));
  const once = async (count: number): Promise<number> => {
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
        for (const m of batch.messages) consumed += (JSON.parse(m.value!.toString()) as { ts: unknown[] }).ts.length;
        if (consumed >= count) resolveDone();
      },
    });
    const messages = count / PER_MESSAGE;
    const start = Date.now();
    for (let sent = 0; sent < messages; ) {
      const batch = [];
      for (let i = 0; i < 32 && sent < messages; i++, sent++) {
        const f = sent % feeds.length;
        batch.push({ key: feeds[f]!, value: templates[f]!.replaceAll(TS_SLOT, String(Date.now())) });
      }
      await sendChunked(producer, topic, batch);
    }
    await done;
    const rate = count / ((Date.now() - start) / 1000);
    await consumer.disconnect();
    await producer.disconnect();
    return rate;
  };
  // A short warm-up first (JIT, connections, topic creation): the ceiling should be a ceiling.
  await once(Math.round(total / 4 / PER_MESSAGE) * PER_MESSAGE);
  const rate = await once(total);
  log(`raw kafkajs produce->consume: ${total} readings = ${rate.toFixed(0)}/s`);
  return rate;
}

/** Runs the paced device producer on its own thread (see devices.ts). */
function runDevices(init: DevicesInit): Promise<DevicesResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./devices.js', import.meta.url), { workerData: init });
    worker.once('message', (m: { ok: boolean; res?: DevicesResult; error?: string }) => (m.ok ? resolve(m.res!) : reject(new Error(m.error))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`device producer thread exited with ${code}`)));
  });
}

export const feedIngest: Suite = {
  name: 'feed-ingest',
  description: 'sustained readings/s and cross-org sharing latency through feed-ingest vs the raw Kafka ceiling',
  async run({ log, args }) {
    const rate = Number(args[0] ?? 250_000);
    const seconds = Number(args[1] ?? 15);
    const feedCount = Number(args[2] ?? 4);
    const throughputSeconds = Number(args[3] ?? 10);
    const stopFlag = { stop: false };
    const dir = await mkdtemp(join(tmpdir(), 'bench-feed-ingest-'));
    // feed-ingest asks the ledger for every feed permission: Org1 owns the 'bench' twin.
    const net = await startNetwork({ orgs: ['org1', 'org2'], fabric: true, kafka: true, ...testNetworkInit() });
    const org1 = net.orgs[0]!;
    // Org1's DHT node is the one embedded in the feed-ingest process; node 0 here only reserves
    // Org1's registry entry and keys and is stopped, so 3 DHT nodes run: Org1 (feed-ingest), Org2, Org3.
    const dht = await spawnTestNetwork({ orgs: ['Org1MSP', 'Org2MSP', 'Org3MSP'] });
    let child: (ServiceProcess & { peerId: string; multiaddr: string }) | undefined;
    // FEED_INGEST_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles the service process;
    // FEED_INGEST_LOG_FILE keeps its log lines (append failures, pauses) for a look after the run.
    const nodeArgs = (process.env['FEED_INGEST_NODE_ARGS'] ?? '').split(' ').filter((a) => a.length > 0);
    const logFile = process.env['FEED_INGEST_LOG_FILE'];
    const startChild = async (env: Record<string, string>) => {
      const p = await startServiceProcess({ name: 'feed-ingest', entry: serviceEntry('feed-ingest'), env: { ...process.env, ...env }, nodeArgs, ...(logFile ? { logFile } : {}) });
      return { ...p, peerId: String(p.details.peerId), multiaddr: (p.details.multiaddrs as string[])[0]! };
    };
    try {
      await dht.stopNode(0);
      await dht.connectAll();
      const kafka = createKafka({ brokers: [net.kafka!.bootstrap], clientId: 'bench-feed-ingest' });
      const issuer = await createDevIssuer('https://idp.bench');
      const writeRegistry = (extra?: string) =>
        writeFile(
          join(dir, 'parties.json'),
          JSON.stringify(dht.registry.list().map((p) => ({ mspId: p.mspId, peerIds: p.mspId === 'Org1MSP' && extra ? [extra] : p.peerIds.filter(() => p.mspId !== 'Org1MSP'), encryptionPublicKey: Buffer.from(p.encryptionPublicKey).toString('hex') }))),
        );
      await writeFile(join(dir, 'jwks.json'), JSON.stringify(issuer.jwks));
      await writeFile(join(dir, 'swarm.key'), dht.swarmKey);
      await writeFile(join(dir, 'enc.key'), Buffer.from(dht.keys.get('Org1MSP')!.privateKey).toString('hex'));
      await writeRegistry();
      const identitiesDir = join(dir, 'identities');
      mkdirSync(identitiesDir, { recursive: true });
      symlinkSync(dirname(org1.users[0]!.mspDir), join(identitiesDir, 'User1'));
      const pool = createPeerConnectionPool();
      const owner = createFabricClient({ pool, peer: org1.peer, identity: await loadIdentity(org1.users[0]!), channel: net.channel, chaincode: net.chaincode });
      try {
        await createTwinLedger(owner).createTwin('bench', 'Bench plant', readFileSync(new URL('../../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8'));
      } finally {
        owner.close();
        pool.close();
      }
      const env = {
        ...ledgerEnvOf(net, org1), FABRIC_IDENTITIES_DIR: identitiesDir,
        MSP_ID: 'Org1MSP', DATA_DIR: join(dir, 'data'), PORT: '0', LOG_LEVEL: 'warn', KAFKA_BROKERS: net.kafka!.bootstrap,
        AUTH_ISSUER: issuer.issuer, AUTH_JWKS_FILE: join(dir, 'jwks.json'), DHT_SWARM_KEY_FILE: join(dir, 'swarm.key'),
        DHT_ENCRYPTION_KEY_FILE: join(dir, 'enc.key'), PARTY_REGISTRY_FILE: join(dir, 'parties.json'),
        DHT_BOOTSTRAP: dht.nodes.slice(1).map((n) => n.multiaddrs()[0]!).join(','), KAFKA_GROUP_ID: 'bench-feed-ingest',
      };
      // First start creates the node identity; the registry (the ledger's, in production) then lists it.
      const first = await startChild({ ...env, LOG_LEVEL: 'info' });
      await first.process.kill();
      await writeRegistry(first.peerId);
      dht.registry.upsert({ ...dht.registry.get('Org1MSP')!, peerIds: [first.peerId] });
      child = await startChild({ ...env, LOG_LEVEL: 'info' });
      await Promise.all(dht.nodes.slice(1).map((n) => n.dial(child!.multiaddr)));
      const auth = { authorization: `Bearer ${await issuer.issue({ sub: 'bench', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' })}`, 'content-type': 'application/json' };
      const registerFeeds = async (prefix: string): Promise<Array<{ feedId: string; component: string }>> => {
        const out: Array<{ feedId: string; component: string }> = [];
        for (let i = 0; i < feedCount; i++) {
          const body = { twinId: 'bench', componentId: `${prefix}-${i}`, unit: 'degC', expectedRange: { min: -50, max: 150 }, acl: ['Org2MSP'] };
          const res = await fetch(`http://127.0.0.1:${child!.port}/feeds`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
          const answer = (await res.json()) as { feedId: string };
          if (res.status !== 201) throw new Error(`feed registration failed: ${JSON.stringify(answer)}`);
          out.push({ feedId: answer.feedId, component: body.componentId });
        }
        return out;
      };
      const feeds = await registerFeeds('TT-101');
      const ceiling = await kafkaCeiling(kafka, log, feeds.map((f) => f.feedId), 4_000_000);
      const cpuPids = { feed_ingest: child.pid, kafka: net.kafka!.managedProcess.pid };

      /**
       * Devices send `phaseRate` readings/s for `phaseSeconds` to `phaseFeeds`; Org2 reads them from
       * its own DHT node as a dashboard would: woken by its node when a new head of the feed
       * arrives there (watchFeed), with a 1 s poll of the heads as the fallback. The rate is total
       * readings over the time from the first produce to the last reading readable by Org2.
       */
      const runPhase = async (name: string, phaseFeeds: Array<{ feedId: string; component: string }>, phaseRate: number, phaseSeconds: number) => {
        const reader = dht.nodes[1]!;
        const latencies: number[] = [];
        let readCount = 0;
        let stopReading = false;
        // One reading loop per feed, as a dashboard watches each feed on its own: a slow read of
        // one feed does not hold up the others.
        const wakers = new Set<() => void>();
        const readerLoop = Promise.all(
          phaseFeeds.map(async ({ feedId: f }) => {
            let next = 0;
            let pushed: FeedHead | undefined;
            let wake: (() => void) | undefined;
            const unwatch = reader.watchFeed(f, (h) => {
              if (pushed === undefined || h.seq > pushed.seq) pushed = h;
              wake?.();
            });
            try {
              while (!stopReading && !stopFlag.stop) {
                const head = pushed ?? (await Promise.resolve().then(() => reader.feedHead(f)).catch(() => undefined));
                pushed = undefined;
                if (head && head.latestIndex >= next) {
                  for (const e of await reader.rangeByIndex(f, next, head.latestIndex, { head })) {
                    const now = Date.now();
                    const seg = decodeSegment(e.payload);
                    readCount += seg.count;
                    for (let i = 0; i < seg.count; i += 50) latencies.push(now - seg.ts[i]!);
                  }
                  next = head.latestIndex + 1;
                }
                if (pushed === undefined) {
                  await new Promise<void>((resolve) => {
                    const done = (): void => {
                      clearTimeout(timer);
                      wakers.delete(done);
                      wake = undefined;
                      resolve();
                    };
                    const timer = setTimeout(done, 1000);
                    wake = done;
                    wakers.add(done);
                  });
                }
              }
            } finally {
              unwatch();
            }
          }),
        );
        const progress = setInterval(() => log(`${name}: Org2 has read ${readCount}`), 2000);
        // Event-loop stalls of this process (Org2's and Org3's DHT nodes, Org2's reader) during the run.
        const loop = monitorEventLoopDelay({ resolution: 10 });
        loop.enable();
        const total = Math.round((phaseRate * phaseSeconds) / PER_MESSAGE) * PER_MESSAGE;
        // One message template per feed with timestamp slots: the producer must not be the bottleneck.
        const templates = phaseFeeds.map((f) => ({ feed: f.feedId, parts: messageTemplate(f.feedId, f.component, PER_MESSAGE).split(TS_SLOT) }));
        // CPU of each process over the phase: the machine's two cores are the budget all of them share.
        const cpuBefore = { bench: process.cpuUsage(), feed_ingest: procCpuSeconds(cpuPids.feed_ingest), kafka: procCpuSeconds(cpuPids.kafka) };
        const start = Date.now();
        const { produceMs } = await runDevices({ brokers: [net.kafka!.bootstrap], topic: DEFAULTS.readingsTopic, templates, rate: phaseRate, total, perMessage: PER_MESSAGE });
        log(`${name}: produced ${total} readings in ${produceMs} ms (target ${phaseRate.toFixed(0)}/s)`);
        const deadline = Date.now() + 120_000;
        while (readCount < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const elapsed = (Date.now() - start) / 1000;
        const benchCpu = process.cpuUsage(cpuBefore.bench);
        const cpu = {
          bench: (benchCpu.user + benchCpu.system) / 1e6,
          feed_ingest: procCpuSeconds(cpuPids.feed_ingest) - cpuBefore.feed_ingest,
          kafka: procCpuSeconds(cpuPids.kafka) - cpuBefore.kafka,
        };
        log(
          `${name}: CPU over ${elapsed.toFixed(1)} s (cores busy): ${Object.entries(cpu).map(([k, v]) => `${k}=${v.toFixed(1)} s (${(v / elapsed).toFixed(2)})`).join(', ')}; ` +
            `total ${((cpu.bench + cpu.feed_ingest + cpu.kafka) / elapsed).toFixed(2)} of 2 cores (bench = device thread + Org2/Org3 DHT nodes + reader)`,
        );
        stopReading = true;
        for (const w of [...wakers]) w();
        clearInterval(progress);
        await readerLoop;
        loop.disable();
        if (readCount < total) log(`WARNING: only ${readCount}/${total} readings readable by Org2 within 120 s after producing`);
        log(`${name}: Org2 read ${readCount} readings, ${elapsed.toFixed(1)} s from first produce to last readable`);
        log(`${name}: event-loop delay of the bench process (Org2/Org3 nodes, reader) p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms, max ${(loop.max / 1e6).toFixed(0)} ms`);
        return { readingsPerS: readCount / elapsed, latencies };
      };

      // Phase 1, latency: the target rate, well inside what the path sustains.
      const atRate = await runPhase('latency', feeds, rate, seconds);
      // Where the latency goes, from the service's own histograms (phase 1 only): Kafka (device ts
      // to consumed), the DHT append, and device ts to acknowledged by the replicas; the rest is Org2's read.
      const metricsText = await (await fetch(`http://127.0.0.1:${child.port}/metrics`)).text();
      const stage = (metric: string, q: number) => histogramQuantile(metricsText, `twinledger_feed_ingest_${metric}`, q) * 1000;
      const stages = {
        consume_p50_ms: stage('consume_delay_seconds', 0.5),
        consume_p99_ms: stage('consume_delay_seconds', 0.99),
        append_p50_ms: stage('append_duration_seconds', 0.5),
        append_p99_ms: stage('append_duration_seconds', 0.99),
        written_p50_ms: stage('sharing_latency_seconds', 0.5),
        written_p99_ms: stage('sharing_latency_seconds', 0.99),
      };
      const gauge = (name: string) => Number(new RegExp(`^twinledger_feed_ingest_${name} (\\S+)$`, 'm').exec(metricsText)?.[1] ?? NaN) * 1000;
      log(`event-loop delay: feed-ingest p99 ${gauge('nodejs_eventloop_lag_p99_seconds').toFixed(0)} ms, max ${gauge('nodejs_eventloop_lag_max_seconds').toFixed(0)} ms (process life)`);
      log(`latency stages (feed-ingest histograms, bucket-interpolated): ${Object.entries(stages).map(([k, v]) => `${k}=${v.toFixed(0)}`).join(' ')}`);
      // Inside the append (the embedded DHT node's histograms): phases, and store requests per op and target.
      const q = (metric: string, labels: Record<string, string>) =>
        `${(histogramQuantile(metricsText, `twinledger_dht_${metric}`, 0.5, labels) * 1000).toFixed(1)}/${(histogramQuantile(metricsText, `twinledger_dht_${metric}`, 0.99, labels) * 1000).toFixed(0)}`;
      log(`append phases p50/p99 ms: ${['prepare', 'object', 'order', 'update', 'head'].map((phase) => `${phase}=${q('feed_append_phase_seconds', { phase })}`).join(' ')}`);
      log(
        `store requests p50/p99 ms: ${['get-acl', 'put-chunk', 'put-manifest', 'put-locator', 'put-feed-update', 'put-feed-head']
          .flatMap((op) => ['local', 'remote'].map((target) => `${op}@${target}=${q('client_request_seconds', { op, target })}`))
          .join(' ')}`,
      );
      // Phase 2, throughput: devices offer the raw Kafka ceiling itself (at least the target) to
      // fresh feeds; what the path sustains shows as the rate at which Org2 can read it all.
      const offered = Math.max(rate, ceiling);
      const sustained = throughputSeconds > 0 ? await runPhase('throughput', await registerFeeds('TT-102'), offered, throughputSeconds) : atRate;
      return {
        readings_per_s: sustained.readingsPerS,
        p50_ms: percentile(atRate.latencies, 50),
        p99_ms: percentile(atRate.latencies, 99),
        kafka_ceiling_per_s: ceiling,
        ratio: sustained.readingsPerS / ceiling,
        latency_phase_rate: rate,
        latency_phase_per_s: atRate.readingsPerS,
        throughput_phase_offered: offered,
        ...stages,
      };
    } finally {
      stopFlag.stop = true;
      await child?.stop();
      await dht.teardown();
      await net.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
