import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNetwork, testNetworkInit, type DevNetwork, type ServiceProcess } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { median, percentile, type Suite, arg } from '../harness.js';
import { startBenchSpecService } from '../spec-service.js';

/**
 * The REST layer's overhead: spec-service (a real process, HTTP on 127.0.0.1) against direct
 * fabric-gateway calls through @twinledger/ledger doing the same operations, in one run, on
 * the same network and peer, with the same concurrency. Operations: createTwin (the
 * bottling-plant AML), insertAML (one element into the worker's own twin, so no MVCC
 * conflicts), getElement (read). Modes alternate per round so machine noise hits both.
 * Reads are measured twice: throughput with `concurrency` in flight, and the latency the REST
 * layer adds with one request at a time (the p50 overhead figure; under concurrency the p50 is
 * mostly queueing for the 2 shared cores).
 * Arguments: `--writes <n>` creates and inserts per mode per round (default 24), `--reads <n>`
 * (240), `--rounds <n>` (4), `--concurrency <n>` (8).
 */

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const AML = readFileSync(join(ROOT, 'chaincode/fixtures/bottling-plant.aml'), 'utf8');
const PARENT = 'prog-set-conveyor-speed';

interface Sample {
  seconds: number;
  latencies: number[];
}

async function phase(total: number, concurrency: number, op: (i: number, worker: number) => Promise<unknown>): Promise<Sample> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = next++; i < total; i = next++) {
        const s = performance.now();
        await op(i, w);
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, latencies };
}

export const rest: Suite = {
  name: 'rest',
  description: 'spec-service REST overhead vs direct fabric-gateway calls (create, insert, read)',
  async run({ log, args }) {
    const writes = arg(args, 'writes', 24);
    const reads = arg(args, 'reads', 240);
    const rounds = arg(args, 'rounds', 4);
    const concurrency = arg(args, 'concurrency', 8);
    const net: DevNetwork = await startNetwork({ orgs: ['org1', 'org2'], kafka: false, ...testNetworkInit(), log });
    const root = mkdtempSync(join(tmpdir(), 'bench-rest-'));
    const pool = createPeerConnectionPool();
    let proc: ServiceProcess | undefined;
    try {
      const org = net.orgs[0]!;
      const service = await startBenchSpecService({ net, org, root, relay: false });
      proc = service.proc;
      log(`spec-service at ${service.url}`);
      const auth = { authorization: `Bearer ${service.token}` };
      const http = async (method: string, path: string, body?: unknown): Promise<void> => {
        const res = await fetch(`${service.url}${path}`, {
          method,
          headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
      };
      const ledger = createTwinLedger(
        createFabricClient({ pool, peer: org.peer, identity: await loadIdentity(org.users[0]!), channel: net.channel, chaincode: net.chaincode }),
      );
      const run = Date.now().toString(36);
      const el = (id: string) => `<InternalElement Name="Bench ${id}" ID="${id}"/>`;
      type Mode = 'direct' | 'rest';
      const modes: Record<Mode, { create(id: string): Promise<unknown>; insert(twin: string, id: string): Promise<unknown>; read(twin: string): Promise<unknown> }> = {
        direct: {
          create: (id) => ledger.createTwin(id, 'Bench plant', AML),
          insert: (twin, id) => ledger.insertAML(twin, el(id), PARENT),
          read: (twin) => ledger.getElement(twin, PARENT),
        },
        rest: {
          create: (id) => http('POST', '/twins', { deviceId: id, deviceName: 'Bench plant', aml: AML }),
          insert: (twin, id) => http('POST', `/twins/${twin}/elements`, { aml: el(id), parentId: PARENT }),
          read: (twin) => http('GET', `/twins/${twin}/elements/${PARENT}?format=aml`),
        },
      };
      // Warm-up: JIT, gRPC channel, HTTP keep-alive, chaincode paths.
      for (const m of ['direct', 'rest'] as const) {
        const t = `w-${run}-${m}`;
        await modes[m].create(t);
        await modes[m].insert(t, `w-${m}-el`);
        await modes[m].read(t);
      }
      type Kind = 'create' | 'insert' | 'read' | 'readSeq';
      const empty = (): Record<Kind, Sample> => ({ create: { seconds: 0, latencies: [] }, insert: { seconds: 0, latencies: [] }, read: { seconds: 0, latencies: [] }, readSeq: { seconds: 0, latencies: [] } });
      const acc: Record<Mode, Record<Kind, Sample>> = { direct: empty(), rest: empty() };
      const add = (m: Mode, k: Kind, s: Sample) => {
        acc[m][k].seconds += s.seconds;
        acc[m][k].latencies.push(...s.latencies);
      };
      for (let r = 0; r < rounds; r++) {
        for (const m of (r % 2 === 0 ? ['direct', 'rest'] : ['rest', 'direct']) as Mode[]) {
          const twins = Array.from({ length: writes }, (_, i) => `b-${run}-${m}-${r}-${i}`);
          const c = await phase(writes, concurrency, (i) => modes[m].create(twins[i]!));
          // Each worker inserts into its own twin: no two concurrent writes touch the same keys.
          const ins = await phase(writes, concurrency, (i, w) => modes[m].insert(twins[w]!, `e-${r}-${i}`));
          const rd = await phase(reads, concurrency, (i) => modes[m].read(twins[i % writes]!));
          // Latency added per request, without queueing behind other requests: one at a time.
          const lat = await phase(Math.ceil(reads / 3), 1, (i) => modes[m].read(twins[i % writes]!));
          add(m, 'create', c);
          add(m, 'insert', ins);
          add(m, 'read', rd);
          add(m, 'readSeq', lat);
          log(
            `round ${r + 1} ${m.padEnd(6)}: create ${(writes / c.seconds).toFixed(1)}/s p50 ${median(c.latencies).toFixed(0)} ms; insert ${(writes / ins.seconds).toFixed(1)}/s p50 ${median(ins.latencies).toFixed(0)} ms; read ${(reads / rd.seconds).toFixed(0)}/s p50 ${median(rd.latencies).toFixed(2)} ms, one at a time p50 ${median(lat.latencies).toFixed(2)} ms`,
          );
        }
      }
      const stat = (s: Sample) => ({ rps: s.latencies.length / s.seconds, p50: median(s.latencies), p99: percentile(s.latencies, 99) });
      const fig: Record<string, number> = {};
      for (const m of ['direct', 'rest'] as const) {
        for (const k of ['create', 'insert', 'read', 'readSeq'] as const) {
          const s = stat(acc[m][k]);
          fig[`${m}_${k}_rps`] = s.rps;
          fig[`${m}_${k}_p50_ms`] = s.p50;
          fig[`${m}_${k}_p99_ms`] = s.p99;
          log(`${m} ${k}: ${s.rps.toFixed(1)} req/s, p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms`);
        }
      }
      const writeTps = (m: Mode) => (acc[m].create.latencies.length + acc[m].insert.latencies.length) / (acc[m].create.seconds + acc[m].insert.seconds);
      const restWrite = writeTps('rest');
      const directWrite = writeTps('direct');
      log(`writes: REST ${restWrite.toFixed(1)} tx/s vs direct ${directWrite.toFixed(1)} tx/s; goal: REST costs < 10% (ratio > 0.9)`);
      log(`reads one at a time: p50 REST ${fig['rest_readSeq_p50_ms']!.toFixed(2)} ms vs direct ${fig['direct_readSeq_p50_ms']!.toFixed(2)} ms; goal: < 5 ms added`);
      log(`reads at ${concurrency} in flight: p50 REST ${fig['rest_read_p50_ms']!.toFixed(2)} ms vs direct ${fig['direct_read_p50_ms']!.toFixed(2)} ms`);
      log(`figures: ${Object.entries(fig).map(([k, v]) => `${k}=${v.toFixed(2)}`).join(' ')}`);
      return {
        write_ratio: restWrite / directWrite,
        read_p50_overhead_ms: fig['rest_readSeq_p50_ms']! - fig['direct_readSeq_p50_ms']!,
        write_tps: restWrite,
      };
    } finally {
      await proc?.stop(5000);
      pool.close();
      await net.stop();
      rmSync(root, { recursive: true, force: true });
    }
  },
};
