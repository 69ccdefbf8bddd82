import { execFile, fork, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEncryptionKeyPair, generateSwarmKey, peerIdOfDataDir, xsalsa20Stream, type DhtNode } from '@twinledger/dht';
import { spawnTestNetwork } from '@twinledger/dht/testing';
import { DHT_NODE_V8_FLAGS } from '@twinledger/service-kit';
import type { NodeProcessCommand, NodeProcessConfig } from './dht-node-process.js';
import { percentile, procCpuSeconds, type Suite } from '../harness.js';


/** What the dht-gateway and feed-ingest images pass to node before their server (docker/Dockerfile, CMD). */
const DEPLOYED_DHT_NODE_FLAGS = DHT_NODE_V8_FLAGS;

/** The bench measures the deployment's runtime: it refuses to run when the images' CMD lines no longer carry these flags. */
async function checkDeployedFlags(): Promise<void> {
  const dockerfile = await readFile(new URL('../../../docker/Dockerfile', import.meta.url), 'utf8');
  for (const image of ['dht-gateway', 'feed-ingest']) {
    const stage = dockerfile.split(/^FROM /m).find((st) => st.startsWith(`runtime AS ${image}`));
    const cmd = stage?.split('\n').find((l) => l.startsWith('CMD '));
    if (cmd === undefined || !DEPLOYED_DHT_NODE_FLAGS.every((f) => cmd.includes(`"${f}"`))) {
      throw new Error(`docker/Dockerfile: the ${image} image's CMD does not pass ${DEPLOYED_DHT_NODE_FLAGS.join(' ')} to node; update it or DEPLOYED_DHT_NODE_FLAGS`);
    }
  }
}

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

const ceilingChunk = (chunkSize: number): number => chunkSize;

/** One-core MB/s of each per-byte stage a put goes through (for the in-process bound). */
function stageCosts(piece: number): { seal: number; sha: number; chacha: number; xsalsa: number } {
  const data = randomBytes(16 * MiB);
  const key = randomBytes(32);
  const rate = (f: (part: Buffer) => void): number => {
    for (let o = 0; o < 2 * piece; o += piece) f(data.subarray(o, o + piece));
    const t0 = performance.now();
    for (let o = 0; o < data.length; o += piece) f(data.subarray(o, o + piece));
    return data.length / MB / ((performance.now() - t0) / 1000);
  };
  // The private network's cipher (pnet protocol, libsodium XSalsa20), measured on its own.
  const pnet = xsalsa20Stream(randomBytes(24), key);
  return {
    seal: rate((p) => {
      const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
      c.update(p);
      c.final();
    }),
    sha: rate((p) => void createHash('sha256').update(p).digest()),
    // noise seals each yamux frame (<= 64 KiB) with node's chacha20-poly1305.
    chacha: rate((p) => {
      for (let o = 0; o < p.length; o += 65_519) {
        const c = createCipheriv('chacha20-poly1305', key, randomBytes(12), { authTagLength: 16 });
        c.update(p.subarray(o, o + 65_519));
        c.final();
      }
    }),
    xsalsa: rate((p) => void pnet.update(p)),
  };
}

interface FloorFigures {
  /** Median put MB/s of the floor's five puts. */
  readonly putMBps: number;
  readonly writerCpuS: number;
  readonly line: string;
}

/**
 * The floor under put64 on this machine, measured in the same run: bench/floor/put-floor.mjs
 * with a file per chunk (the store the DHT uses for chunk bodies): seal, hashes and three copies
 * over raw loopback TCP to three receiver processes, nothing else.
 */
function measureFloor(): Promise<FloorFigures> {
  const script = new URL('../../floor/put-floor.mjs', import.meta.url);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script.pathname, '--store=files'], { timeout: 600_000 }, (err, stdout) => {
      if (err) return reject(err);
      const line = stdout.trim().split('\n').pop() ?? '';
      const rates = /put_mbps=([\d,]+)/.exec(line)?.[1]?.split(',').map(Number);
      const writer = /writer=([\d.]+)/.exec(line)?.[1];
      if (rates === undefined || rates.length === 0 || writer === undefined) return reject(new Error(`unexpected floor output: ${line}`));
      resolve({ putMBps: percentile(rates, 50), writerCpuS: Number(writer), line });
    });
  });
}

interface SizeFigures {
  readonly putMBps: number;
  readonly getMBps: number;
  readonly putP50: number;
  readonly putP99: number;
  readonly getP50: number;
  readonly getP99: number;
  /** Process CPU seconds (all threads: JS, LevelDB, libuv) per put: less sensitive to other load on the machine than MB/s. */
  readonly putCpuS: number;
}

async function measureSize(writer: DhtNode, reader: DhtNode, size: number, runs: number, acl: string[]): Promise<SizeFigures> {
  const data = randomBytes(size);
  const puts: number[] = [];
  const gets: number[] = [];
  const refs: string[] = [];
  // One warm-up put/get per size (connections, JIT), not counted.
  const warm = await writer.putObject(data, { acl });
  await reader.getObject(warm.ref);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const out = await writer.putObject(data, { acl });
    puts.push(performance.now() - t0);
    refs.push(out.ref);
  }
  const cpu = process.cpuUsage(cpu0);
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
  return { putMBps: total / sum(puts), getMBps: total / sum(gets), putP50: percentile(puts, 50), putP99: percentile(puts, 99), getP50: percentile(gets, 50), getP99: percentile(gets, 99), putCpuS: (cpu.user + cpu.system) / 1e6 / runs };
}

interface MultiProcessFigures {
  readonly putMBps: number;
  readonly putP50: number;
  /** CPU seconds per put: the writer's process, and all five processes together. */
  readonly writerCpuS: number;
  readonly totalCpuS: number;
  readonly selfReplica: number;
  /** Median writer CPU seconds of the puts where the writer was one of the replicas, and of the others (NaN: none). */
  readonly writerCpuSelfS: number;
  readonly writerCpuOtherS: number;
}

/** The writer's CPU per put is bimodal: as one of the r replicas it also stores a copy. */
function splitBySelf(cpus: readonly number[], selfs: readonly boolean[]): { writerCpuSelfS: number; writerCpuOtherS: number } {
  const pick = (self: boolean): number => {
    const xs = cpus.filter((_, i) => selfs[i] === self);
    return xs.length === 0 ? Number.NaN : percentile(xs, 50);
  };
  return { writerCpuSelfS: pick(true), writerCpuOtherS: pick(false) };
}

/**
 * 64 MiB puts with each node in its own process (the deployment layout: one node per
 * organization), so the writer's and the replicas' work run on separate cores.
 */
async function measureMultiProcess(orgs: readonly string[], chunkSize: number, runs: number, acl: string[], storeSessions: boolean, dataChannel: boolean, dataChannelMetadata: boolean, nodeFlags: readonly string[]): Promise<MultiProcessFigures> {
  const root = await mkdtemp(join(tmpdir(), 'twinledger-dht-mp-'));
  const swarmKeyText = new TextDecoder().decode(generateSwarmKey());
  const members = await Promise.all(orgs.map(async (mspId, i) => ({ mspId, dataDir: join(root, `node-${i}`), keys: generateEncryptionKeyPair(), peerId: await peerIdOfDataDir(join(root, `node-${i}`)) })));
  const parties = members.map((m) => ({ mspId: m.mspId, peerIds: [m.peerId], encryptionPublicKeyHex: Buffer.from(m.keys.publicKey).toString('hex') }));
  const children: ChildProcess[] = [];
  const next = (child: ChildProcess, type: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const settle = (err: Error | undefined, msg?: Record<string, unknown>): void => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve(msg as Record<string, unknown>);
      };
      const onMessage = (msg: Record<string, unknown>): void => {
        if (msg['type'] === 'error') settle(new Error(`node process: ${String(msg['message'])}`));
        else if (msg['type'] === type) settle(undefined, msg);
      };
      const onExit = (code: number | null): void => settle(new Error(`node process exited (${code})`));
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
  const command = (child: ChildProcess, cmd: NodeProcessCommand): void => void child.send(cmd);
  try {
    const addrs: string[] = [];
    for (const m of members) {
      const config: NodeProcessConfig = { dataDir: m.dataDir, mspId: m.mspId, encryptionKeyHex: Buffer.from(m.keys.privateKey).toString('hex'), swarmKeyText, chunkSize, parties, storeSessions, dataChannel, dataChannelMetadata };
      const child = fork(new URL('./dht-node-process.js', import.meta.url), [JSON.stringify(config)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [...nodeFlags] });
      children.push(child);
      addrs.push(String((await next(child, 'ready'))['addr']));
    }
    for (let i = 0; i < children.length; i++) {
      command(children[i]!, { type: 'dial', addrs: addrs.slice(i + 1) });
      await next(children[i]!, 'dialed');
    }
    const writer = children[0]!;
    command(writer, { type: 'put', size: 64 * MiB, runs: 1, acl }); // warm-up: connections, JIT
    await next(writer, 'put');
    const before = children.map((c) => procCpuSeconds(c.pid!));
    command(writer, { type: 'put', size: 64 * MiB, runs, acl });
    const res = await next(writer, 'put');
    const after = children.map((c) => procCpuSeconds(c.pid!));
    const puts = res['puts'] as number[];
    const total = after.reduce((a, x, i) => a + x - before[i]!, 0);
    return {
      putMBps: (runs * 64 * MiB) / MB / (puts.reduce((a, b) => a + b, 0) / 1000),
      putP50: percentile(puts, 50),
      // The writer's own count (all its threads) around its puts: the 64 MiB of random input it
      // makes first is not the put's work.
      writerCpuS: Number(res['cpuS']) / runs,
      totalCpuS: total / runs,
      selfReplica: Number(res['selfReplica']),
      ...splitBySelf(res['cpus'] as number[], res['selfs'] as boolean[]),
    };
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            const kill = setTimeout(() => c.kill('SIGKILL'), 10_000);
            c.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            command(c, { type: 'stop' });
          }),
      ),
    );
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * DHT throughput on a 5-node, 5-org local network (one process, real TCP + noise + yamux +
 * pnet on 127.0.0.1, r = 3): put/get of 1 KiB, 1 MiB and 64 MiB objects written by one org and
 * read by another, feed append rate and latest-lookup latency, and the single-core ceiling.
 */
export const dht: Suite = {
  name: 'dht',
  description: 'DHT put/get MB/s and latency (1 KiB, 1 MiB, 64 MiB, r=3, 5 nodes), feeds, one process per node, the put floor (--sessions=off: store protocol 1.0.0 only; --data=off: no data channel, 1.1.0; --node-flags=default: node processes without the images\' V8 flags; --metadata=off: the data channel for chunk bodies only, 1.2.0)',
  async run({ log, args }) {
    const quick = args.includes('--quick');
    // --sessions=off: nodes speak only store protocol 1.0.0 (a stream per request), for the A/B.
    const storeSessions = !args.includes('--sessions=off');
    // --data=off: no data channel (ADR-21): chunk bodies through noise + pnet as in 1.1.0, for the A/B.
    const dataChannel = !args.includes('--data=off') && storeSessions;
    // --metadata=off: the data channel carries chunk bodies only (1.2.0, ADR-21), for the A/B of ADR-23.
    const dataChannelMetadata = !args.includes('--metadata=off');
    log(
      `store path: ${dataChannel ? (dataChannelMetadata ? 'data channel (1.3.0) for every store op' : 'data channel (1.2.0) for chunk bodies, sessions (1.1.0) for the rest') : storeSessions ? 'sessions (1.1.0), no data channel' : 'a stream per request (1.0.0)'}`,
    );
    // --chunk=<bytes> compares chunk sizes (the library default is 1 MiB).
    const chunkArg = args.find((a) => a.startsWith('--chunk='));
    const chunkSize = chunkArg === undefined ? MiB : Number(chunkArg.slice('--chunk='.length));
    if (!Number.isInteger(chunkSize) || chunkSize < KiB || chunkSize > MiB) throw new Error('--chunk must be 1024..1048576');
    // The node processes run with the flags the dht-gateway and feed-ingest images give node
    // (docker/Dockerfile); --node-flags=default runs them without, for the A/B.
    await checkDeployedFlags();
    const nodeFlags = args.includes('--node-flags=default') ? [] : DEPLOYED_DHT_NODE_FLAGS;
    log(`node processes: ${nodeFlags.length === 0 ? 'default V8 flags' : nodeFlags.join(' ')}`);
    const orgs = ['Org1MSP', 'Org2MSP', 'Org3MSP', 'Org4MSP', 'Org5MSP'];
    const ceiling = ceilingMBps(64 * MiB, chunkSize, quick ? 1 : 3);
    log(`ceiling (AES-256-GCM seal + SHA-256, ${chunkSize / KiB} KiB pieces, one core): ${ceiling.toFixed(0)} MB/s`);
    const net = await spawnTestNetwork({ orgs, nodeInit: { replicationFactor: 3, requestTimeoutMs: 60_000, chunkSize, storeSessions, dataChannel, dataChannelMetadata } });
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
        figures[`put${label}_cpu_s`] = f.putCpuS;
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
      // The same 64 MiB puts with one process per node (the deployment layout).
      const mp = await measureMultiProcess(orgs, chunkSize, quick ? 2 : 5, acl, storeSessions, dataChannel, dataChannelMetadata, nodeFlags);
      log(
        `64m, one process per node: put ${mp.putMBps.toFixed(2)} MB/s (p50 ${mp.putP50.toFixed(1)} ms), CPU per put: writer ${mp.writerCpuS.toFixed(2)} s (median ${mp.writerCpuSelfS.toFixed(2)} s as a replica, ${mp.writerCpuOtherS.toFixed(2)} s otherwise), all nodes ${mp.totalCpuS.toFixed(2)} s (writer among the replicas in ${mp.selfReplica} of ${quick ? 2 : 5} puts)`,
      );
      figures['put64m_mp_mbps'] = mp.putMBps;
      figures['put64m_mp_writer_cpu_s'] = mp.writerCpuS;
      figures['put64m_mp_total_cpu_s'] = mp.totalCpuS;
      figures['put64m_mp_writer_cpu_self_s'] = mp.writerCpuSelfS;
      figures['put64m_mp_writer_cpu_other_s'] = mp.writerCpuOtherS;
      const stages = stageCosts(ceilingChunk(chunkSize));
      log(`one-core stage rates (MB/s): aes-gcm seal ${stages.seal.toFixed(0)}, sha-256 ${stages.sha.toFixed(0)}, noise chacha20-poly1305 ${stages.chacha.toFixed(0)}, pnet xsalsa20 ${stages.xsalsa.toFixed(0)}`);
      // What the transport's encryption of three copies costs the writer alone (ADR-17 keeps it).
      const transportS = (3 * 64 * MiB) / MB * (1 / stages.chacha + 1 / stages.xsalsa);
      log(`writer CPU for noise + pnet of three 64 MiB copies, at these rates: ${transportS.toFixed(2)} s per put`);
      // The floor runs after the DHT nodes are gone, on the same machine, minutes apart at most.
      await net.teardown();
      const floor = await measureFloor();
      log(`floor (bench/floor/put-floor.mjs --store=files): ${floor.line}`);
      log(`load average (1/5/15 min) at the end: ${loadavg().map((x) => x.toFixed(1)).join(' / ')} on ${cpus().length} cores`);
      log(`figures: ${Object.entries({ chunk_kib: chunkSize / KiB, ...figures, latest_p50_ms: percentile(lookups, 50), ceiling_mbps: ceiling, floor_writer_cpu_s: floor.writerCpuS }).map(([k, v]) => `${k}=${Number(v).toFixed(2)}`).join(' ')}`);
      // The BENCH line carries exactly the figures. put64 is the one-process-per-node
      // put (the deployment layout, and the layout of the floor it is compared with); the
      // all-in-one-process figure is put64m_mbps above.
      return {
        put64_mbps: mp.putMBps,
        floor_mbps: floor.putMBps,
        floor_ratio: mp.putMBps / floor.putMBps,
        writer_cpu_s: mp.writerCpuS,
        get64_mbps: figures['get64m_mbps']!,
        latest_p99_ms: percentile(lookups, 99),
        append_per_s: appendPerS,
      };
    } finally {
      await net.teardown();
    }
  },
};
