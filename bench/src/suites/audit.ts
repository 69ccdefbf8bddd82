import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createAuditBundleExporter, createQsccBlockReader, feedLeafHash, merkleTree, verifyBlockBundle, type AuditBlockBundle, type BundleFeedUpdate } from '@twinledger/audit';
import { startNetwork, testNetworkInit } from '@twinledger/devnet';
import { canonicalBytes, feedIdOf, sha256, signFeedUpdate, signingKeyFromSeed, toHex, type FeedUpdate } from '@twinledger/dht/records';
import { spawnTestNetwork } from '@twinledger/dht/testing';
import { createFabricClient, createPeerConnectionPool, loadIdentity } from '@twinledger/fabric-client';
import { createFeedAnchorer, openFeedRegistry } from '@twinledger/feed-ingest/main';
import { createTwinLedger, type TwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { encodeSegment, type Reading } from '@twinledger/readings';
import { arg, percentile, type Suite } from '../harness.js';

const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
/** Components of the fixture plant that can carry a feed. */
const COMPONENTS = ['sensor-fill-level-1', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1', 'conveyor-1', 'valve-inlet-1', 'valve-outlet-1', 'filler-1'];
const DAY_MS = 86_400_000;

interface GeneratedFeed {
  readonly componentId: string;
  readonly feedId: string;
  readonly items: { update: FeedUpdate; manifest: Record<string, unknown>; segment: Uint8Array }[];
}

/**
 * A day of one feed's evidence: segments of real `@twinledger/readings` bytes, each named by an
 * owner-signed update record (the DHT's record code) through a manifest of the DHT's shape (two
 * wrapped keys, one chunk). Not stored in a DHT: what is measured is the verifier, and the DHT
 * append path has its own suites (feed-ingest, dht).
 */
function generateFeed(twinId: string, componentId: string, segments: number, readingsPerSegment: number, t0: number): GeneratedFeed {
  const key = signingKeyFromSeed(new Uint8Array(randomBytes(32)));
  const topic = `${twinId}/${componentId}`;
  const feedId = feedIdOf(key.publicKey, topic);
  const step = Math.max(1, Math.floor(DAY_MS / (segments * readingsPerSegment)));
  const items: GeneratedFeed['items'] = [];
  let ts = t0;
  for (let i = 0; i < segments; i++) {
    const readings: Reading[] = Array.from({ length: readingsPerSegment }, (_, k) => ({ feed: feedId, component: componentId, ts: (ts += step), v: 20 + ((i + k) % 17) * 0.25, u: 'degC' }));
    const segment = encodeSegment(readings);
    const manifest = {
      v: 1,
      objectId: feedId,
      aclVersion: 1,
      cipher: 'aes-256-gcm',
      chunkSize: 1_048_576,
      size: segment.length,
      plaintextHash: toHex(sha256(segment)),
      chunks: [{ hash: toHex(sha256(randomBytes(16))), size: segment.length + 28 }],
      acl: ['Org1MSP', 'Org2MSP'],
      keys: { Org1MSP: randomBytes(92).toString('base64'), Org2MSP: randomBytes(92).toString('base64') },
    };
    const ref = toHex(sha256(canonicalBytes(manifest)));
    items.push({ update: signFeedUpdate(key, { topic, index: i, timeStart: readings[0]!.ts, timeEnd: readings[readings.length - 1]!.ts, ref }), manifest, segment });
  }
  return { componentId, feedId, items };
}

/** Most anchors of one feed within any 60 s window, from the ledger's anchor timestamps. */
async function maxAnchorsPerMinute(ledger: TwinLedger, twinId: string, feedIds: readonly string[]): Promise<number> {
  let max = 0;
  for (const feedId of feedIds) {
    const times = (await ledger.listFeedAnchorsPage(twinId, feedId, { limit: 1000 })).items.map((a) => Date.parse(a.timestamp)).sort((a, b) => a - b);
    for (let i = 0; i < times.length; i++) {
      let n = 0;
      while (i + n < times.length && times[i + n]! - times[i]! < 60_000) n++;
      max = Math.max(max, n);
    }
  }
  return max;
}

/**
 * Issue #22's performance targets for feed anchors (ADR-18), on a real two-organization Fabric
 * network and real DHT nodes:
 * - verify: a bundle of one twin's day, its changes, `--anchors` (default 1440: one a minute)
 *   real anchor transactions spread over `--feeds` feeds (default 8, anchored in parallel to
 *   keep the run short) and `--readings` (default 1,000,000) readings in `--segments` segments
 *   (default 86,400), each with its proof, manifest and segment; verified in this process
 *   (one core: the verifier is synchronous). Fails unless the bundle verifies.
 * - ingest A/B: segments appended to 4 feeds on 3 DHT nodes every 250 ms each, `--phase-seconds`
 *   (default 65) without anchoring, then as long with feed-ingest's anchorer at its defaults;
 *   the append p99 of both phases, and the most anchors of one feed within any minute.
 */
export const audit: Suite = {
  name: 'audit',
  description: 'feed anchors: verify a day of one twin (1M readings) offline; anchoring vs feed append p99; anchors per feed per minute',
  async run({ log, args }) {
    const feeds = Math.min(arg(args, 'feeds', 8), COMPONENTS.length);
    const anchorsTotal = arg(args, 'anchors', 1440);
    const readingsTotal = arg(args, 'readings', 1_000_000);
    const segmentsTotal = arg(args, 'segments', 86_400);
    const phaseS = arg(args, 'phase-seconds', 65);
    const perFeedAnchors = Math.ceil(anchorsTotal / feeds);
    const perFeedSegments = Math.ceil(segmentsTotal / feeds);
    const perSegment = Math.max(1, Math.round(readingsTotal / segmentsTotal));
    const root = await mkdtemp(join(tmpdir(), 'bench-audit-'));
    const net = await startNetwork({ orgs: ['org1', 'org2'], fabric: true, kafka: false, ...testNetworkInit() });
    const pool = createPeerConnectionPool();
    const org = net.orgs[0]!;
    const identity = await loadIdentity(org.users[0]!);
    const client = createFabricClient({ pool, peer: org.peer, identity, channel: net.channel, chaincode: net.chaincode });
    const qscc = createFabricClient({ pool, peer: org.peer, identity, channel: net.channel, chaincode: 'qscc' });
    const dht = await spawnTestNetwork({ orgs: ['Org1MSP', 'Org2MSP', 'Org1MSP'] });
    try {
      await dht.connectAll();
      const ledger = createTwinLedger(client);
      const twinId = `audit-day-${Date.now().toString(36)}`;
      await ledger.createTwin(twinId, 'Plant', AML);
      await ledger.addExternalSource(twinId, 'https://example.org/manual');

      // ---- a day of evidence, anchored for real ----
      let t = performance.now();
      const generated = COMPONENTS.slice(0, feeds).map((c) => generateFeed(twinId, c, perFeedSegments, perSegment, Date.now() - DAY_MS));
      log(`generated ${feeds} feeds x ${perFeedSegments} segments x ${perSegment} readings in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      for (const g of generated) await ledger.addSensorFeed(twinId, g.componentId, g.feedId);
      t = performance.now();
      const anchorTxs = new Map<string, string[]>();
      const proofs = new Map<string, BundleFeedUpdate[]>();
      const txLatency: number[] = [];
      await Promise.all(
        generated.map(async (g) => {
          const txs: string[] = [];
          const updates: BundleFeedUpdate[] = [];
          const per = Math.ceil(g.items.length / perFeedAnchors);
          for (let from = 0; from < g.items.length; from += per) {
            const batch = g.items.slice(from, from + per);
            const tree = merkleTree(batch.map((it) => feedLeafHash(it.update)));
            const s = performance.now();
            const { result } = await ledger.anchorFeedRoot(twinId, g.componentId, g.feedId, from, from + batch.length - 1, tree.root.toString('hex'));
            txLatency.push(performance.now() - s);
            txs.push(result.txId);
            batch.forEach((it, i) => updates.push({ update: { ...it.update }, proof: tree.proof(i).map((p) => p.toString('hex')), manifest: it.manifest, segmentBase64: Buffer.from(it.segment).toString('base64') }));
          }
          anchorTxs.set(g.feedId, txs);
          proofs.set(g.feedId, updates);
        }),
      );
      const anchors = [...anchorTxs.values()].reduce((n, a) => n + a.length, 0);
      log(`${anchors} anchor transactions in ${((performance.now() - t) / 1000).toFixed(1)} s (p50 ${percentile(txLatency, 50).toFixed(0)} ms each)`);

      const exporter = createAuditBundleExporter({ blocks: createQsccBlockReader((fn, a) => qscc.evaluate(fn, a), net.channel), channel: net.channel, chaincode: net.chaincode, mspId: org.mspId, maxBlocks: anchors + 100 });
      const history = await ledger.history(twinId);
      const exported = await exporter.export({
        twinId,
        changes: history.changes.map((c) => ({ seq: c.seq, txId: c.txId })),
        feeds: generated.map((g) => ({ feedId: g.feedId, componentId: g.componentId, anchorTxIds: anchorTxs.get(g.feedId)! })),
      });
      const bundle: AuditBlockBundle = { ...exported, feeds: exported.feeds!.map((f) => ({ ...f, updates: proofs.get(f.feedId)! })) };
      const text = JSON.stringify(bundle);
      const bundleMb = Buffer.byteLength(text) / 1e6;
      log(`bundle: ${bundleMb.toFixed(1)} MB, ${bundle.blocks.length} change blocks, ${bundle.anchorBlocks!.length} anchor blocks`);

      // As `npm run verify` does it: parse the file, verify; wall time and this process's CPU.
      const cpu0 = process.cpuUsage();
      t = performance.now();
      const result = verifyBlockBundle(JSON.parse(text) as unknown);
      const verifyS = (performance.now() - t) / 1000;
      const cpu = process.cpuUsage(cpu0);
      if (!result.ok) throw new Error(`the bundle does not verify: ${JSON.stringify(result.failures.slice(0, 3))}`);
      const proven = (result.feeds ?? []).reduce((n, f) => n + f.provenSegments, 0);
      log(`verified in ${verifyS.toFixed(2)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s): ${proven} segments, ${proven * perSegment} readings, ${anchors} anchors`);

      // ---- ingest A/B: append p99 without and with the anchorer (its defaults) ----
      const abTwin = `audit-ab-${Date.now().toString(36)}`;
      await ledger.createTwin(abTwin, 'Plant', AML);
      const registry = await openFeedRegistry(join(root, 'feeds'));
      const writers: { feed: { topic: string; ownerKey: Uint8Array; objectId: string }; next: number; feedId: string; componentId: string }[] = [];
      for (const componentId of COMPONENTS.slice(0, 4)) {
        const ownerKey = new Uint8Array(randomBytes(32));
        const topic = `${abTwin}/${componentId}`;
        const info = await dht.nodes[0]!.createFeed({ topic, ownerKey, acl: ['Org1MSP', 'Org2MSP'] });
        await ledger.addSensorFeed(abTwin, componentId, info.feedId);
        await registry.add({ feedId: info.feedId, objectId: info.objectId, topic, twinId: abTwin, componentId, unit: 'degC', valueSchema: { kind: 'scalar' }, expectedRange: { min: 0, max: 100 }, acl: ['Org1MSP', 'Org2MSP'], ownerPublicKey: info.owner, createdAt: new Date().toISOString() });
        writers.push({ feed: { topic, ownerKey, objectId: info.objectId }, next: 0, feedId: info.feedId, componentId });
      }
      const phase = async (seconds: number): Promise<number[]> => {
        const lat: number[] = [];
        const end = performance.now() + seconds * 1000;
        await Promise.all(
          writers.map(async (w) => {
            while (performance.now() < end) {
              const started = performance.now();
              const readings: Reading[] = Array.from({ length: 3 }, (_, k) => ({ feed: w.feedId, component: w.componentId, ts: Date.now() + k, v: 21.5, u: 'degC' }));
              await dht.nodes[0]!.appendFeed(w.feed, w.next, encodeSegment(readings), { start: readings[0]!.ts, end: readings[2]!.ts });
              w.next++;
              lat.push(performance.now() - started);
              const wait = 250 - (performance.now() - started);
              if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            }
          }),
        );
        return lat;
      };
      const a = await phase(phaseS);
      const anchorer = createFeedAnchorer({ periodMs: 60_000, maxPendingUpdates: 0, minIntervalMs: 60_000, maxUpdatesPerAnchor: 100_000 }, { registry, dht: dht.nodes[0]!, ledger, logger: silentLogger() });
      anchorer.start();
      const b = await phase(phaseS);
      await anchorer.stop();
      const p99a = percentile(a, 99);
      const p99b = percentile(b, 99);
      const perMinute = await maxAnchorsPerMinute(ledger, abTwin, writers.map((w) => w.feedId));
      log(`append p99 without anchoring ${p99a.toFixed(1)} ms (${a.length} appends), with ${p99b.toFixed(1)} ms (${b.length}); most anchors of one feed in a minute: ${perMinute}`);
      return {
        bundle_mb: bundleMb,
        verify_s: verifyS,
        anchors_per_min: perMinute,
        ingest_p99_delta_pct: ((p99b - p99a) / p99a) * 100,
      };
    } finally {
      client.close();
      qscc.close();
      pool.close();
      await dht.teardown();
      await net.stop();
      await rm(root, { recursive: true, force: true });
    }
  },
};
