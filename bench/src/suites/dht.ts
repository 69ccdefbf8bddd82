import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { spawnTestNetwork, type DhtNode } from '@twinledger/dht';
import { percentile, type Suite } from '../harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const MB = 1e6;

/** Raw AES-256-GCM seal + SHA-256 of the same bytes, on this one thread: the ceiling for put. */
function ceilingMBps(size: number, chunkSize: number, rounds: number): number {
  const data = randomBytes(size);
  const key = randomBytes(32);
  const once = (): void => {
    for (let o = 0; o < size; o += chunkSize) {
      const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
      const sealed = Buffer.concat([c.update(data.subarray(o, o + chunkSize)), c.final(), c.getAuthTag()]);
      createHash('sha256').update(sealed).digest();
    }
  };
  once();
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) once();
  return (size * rounds) / MB / ((performance.now() - t0) / 1000);
}

interface SizeFigures {
  readonly putMBps: number;
  readonly getMBps: number;
  readonly putP50: number;
  readonly putP99: number;
  readonly getP50: number;
  readonly getP99: number;
}

async function measureSize(writer: DhtNode, reader: DhtNode, size: number, runs: number, acl: string[]): Promise<SizeFigures> {
  const data = randomBytes(size);
  const puts: number[] = [];
  const gets: number[] = [];
  const refs: string[] = [];
  // One warm-up put/get per size (connections, JIT), not counted.
  const warm = await writer.putObject(data, { acl });
  await reader.getObject(warm.ref);
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const out = await writer.putObject(data, { acl });
    puts.push(performance.now() - t0);
    refs.push(out.ref);
  }
  for (const ref of refs) {
    const t0 = performance.now();
    let n = 0;
    // Streamed, as the gateway serves it: never the whole object in one buffer.
    for await (const part of reader.getObjectStream(ref)) n += part.byteLength;
    gets.push(performance.now() - t0);
    if (n !== size) throw new Error(`read ${n} bytes of ${size}`);
  }
  const total = (runs * size) / MB;
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / 1000;
  return { putMBps: total / sum(puts), getMBps: total / sum(gets), putP50: percentile(puts, 50), putP99: percentile(puts, 99), getP50: percentile(gets, 50), getP99: percentile(gets, 99) };
}

/**
 * DHT throughput on a 5-node, 5-org local network (one process, real TCP + noise + yamux +
 * pnet on 127.0.0.1, r = 3): put/get of 1 KiB, 1 MiB and 64 MiB objects written by one org and
 * read by another, feed append rate and latest-lookup latency, and the single-core ceiling.
 */
export const dht: Suite = {
  name: 'dht',
  description: 'DHT put/get MB/s and latency (1 KiB, 1 MiB, 64 MiB, r=3, 5 nodes), feeds, AEAD+hash ceiling',
  async run({ log, args }) {
    const quick = args.includes('--quick');
    const orgs = ['Org1MSP', 'Org2MSP', 'Org3MSP', 'Org4MSP', 'Org5MSP'];
    const ceilingChunk = 256 * KiB;
    const ceiling = ceilingMBps(64 * MiB, ceilingChunk, quick ? 1 : 3);
    log(`ceiling (AES-256-GCM seal + SHA-256, ${ceilingChunk / KiB} KiB pieces, one core): ${ceiling.toFixed(0)} MB/s`);
    const net = await spawnTestNetwork({ orgs, nodeInit: { replicationFactor: 3, requestTimeoutMs: 60_000 } });
    try {
      await net.connectAll();
      const [writer, reader] = [net.nodes[0]!, net.nodes[1]!];
      const acl = ['Org1MSP', 'Org2MSP'];
      const figures: Record<string, number> = {};
      for (const [label, size, runs] of [
        ['1k', KiB, quick ? 20 : 200],
        ['1m', MiB, quick ? 5 : 20],
        ['64m', 64 * MiB, quick ? 1 : 3],
      ] as const) {
        const f = await measureSize(writer, reader, size, runs, acl);
        log(`${label}: put ${f.putMBps.toFixed(2)} MB/s (p50 ${f.putP50.toFixed(1)} ms, p99 ${f.putP99.toFixed(1)} ms), get ${f.getMBps.toFixed(2)} MB/s (p50 ${f.getP50.toFixed(1)} ms, p99 ${f.getP99.toFixed(1)} ms), ${runs} runs`);
        figures[`put${label}_p50_ms`] = f.putP50;
        figures[`put${label}_p99_ms`] = f.putP99;
        figures[`get${label}_p50_ms`] = f.getP50;
        figures[`get${label}_p99_ms`] = f.getP99;
        figures[`put${label}_mbps`] = f.putMBps;
        figures[`get${label}_mbps`] = f.getMBps;
      }

      const ownerKey = randomBytes(32);
      const feed = await writer.createFeed({ topic: 'bench/feed', ownerKey, acl });
      const writerRef = { topic: feed.topic, ownerKey, objectId: feed.objectId };
      const appends = quick ? 20 : 100;
      const segment = randomBytes(4 * KiB);
      const t0 = performance.now();
      for (let i = 0; i < appends; i++) await writer.appendFeed(writerRef, i, segment, { start: i * 1000, end: i * 1000 + 999 });
      const appendPerS = appends / ((performance.now() - t0) / 1000);
      const lookups: number[] = [];
      for (let i = 0; i < (quick ? 50 : 200); i++) {
        const t = performance.now();
        const e = await reader.latest(feed.feedId);
        lookups.push(performance.now() - t);
        if (e?.index !== appends - 1) throw new Error('latest returned the wrong update');
      }
      log(`feeds: ${appendPerS.toFixed(1)} appends/s (4 KiB segments), latest p50 ${percentile(lookups, 50).toFixed(1)} ms p99 ${percentile(lookups, 99).toFixed(1)} ms`);
      const put64 = figures['put64m_mbps']!;
      const { put64m_mbps: _p, get64m_mbps: _g, ...rest } = figures;
      return {
        ...rest,
        latest_p50_ms: percentile(lookups, 50),
        put64_mbps: put64,
        get64_mbps: figures['get64m_mbps']!,
        ceiling_mbps: ceiling,
        ratio: put64 / ceiling,
        latest_p99_ms: percentile(lookups, 99),
        append_per_s: appendPerS,
      };
    } finally {
      await net.teardown();
    }
  },
};
