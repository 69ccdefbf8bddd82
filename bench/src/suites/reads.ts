import { Agent, get } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNetwork, testNetworkInit, type DevNetwork, type ServiceProcess } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { percentile, type Suite, arg } from '../harness.js';
import { startBenchSpecService } from '../spec-service.js';
import { largePlant } from './console.js';

/**
 * Reads at enterprise rate (issue #27): one organization's spec-service (a real process, its
 * event relay and read model on, as deployed) on the four-organization network, under
 * `--connections`-wide concurrent load (32 and 128 keep-alive connections, our own small
 * node:http loop in this process) on
 *   spec:     GET /twins/<bottling plant>/spec (13 components, AML)
 *   big_spec: GET /twins/<5,000-component plant>/spec (AML, about 1.6 MB per answer)
 *   healthz:  GET /healthz of the same process: the ceiling of the HTTP stack on this machine.
 * Targets alternate within each of `--rounds` rounds (default 2) of `--seconds` each (default 5)
 * so machine noise hits them alike. The BENCH line has the 32-connection figures; the 128-
 * connection ones are in the log. Arguments: `--elements <n>` (5000), `--seconds`, `--rounds`.
 */

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const AML = readFileSync(join(ROOT, 'chaincode/fixtures/bottling-plant.aml'), 'utf8');

interface Measured {
  requests: number;
  errors: number;
  seconds: number;
  latencies: number[];
}

/** `connections` loops, each one request at a time on its own keep-alive socket, for `ms`. */
async function hammer(base: URL, path: string, headers: Record<string, string>, connections: number, ms: number, into: Measured): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const once = (): Promise<number> =>
    new Promise((ok, fail) => {
      const req = get({ host: base.hostname, port: base.port, path, headers, agent }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => ok(res.statusCode ?? 0));
        res.on('error', fail);
      });
      req.on('error', fail);
    });
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        const status = await once().catch(() => 0);
        into.latencies.push(performance.now() - s);
        into.requests++;
        if (status !== 200) into.errors++;
      }
    }),
  );
  into.seconds += (performance.now() - t0) / 1000;
  agent.destroy();
}

export const reads: Suite = {
  name: 'reads',
  description: "spec reads at 32 and 128 connections (bottling plant, 5,000-component twin) against the same process's /healthz, four organizations",
  async run({ log, args }) {
    const elements = arg(args, 'elements', 5000);
    const seconds = arg(args, 'seconds', 5);
    const rounds = arg(args, 'rounds', 2);
    const net: DevNetwork = await startNetwork({ orgs: ['org1', 'org2', 'org3', 'org4'], kafka: true, ...testNetworkInit(), log });
    const root = mkdtempSync(join(tmpdir(), 'bench-reads-'));
    const pool = createPeerConnectionPool();
    let proc: ServiceProcess | undefined;
    try {
      const org = net.orgs[0]!;
      const ledger = createTwinLedger(createFabricClient({ pool, peer: org.peer, identity: await loadIdentity(org.users[0]!), channel: net.channel, chaincode: net.chaincode }));
      const run = Date.now().toString(36);
      const small = `reads-plant-${run}`;
      const big = `reads-large-${run}`;
      await ledger.createTwin(small, 'Bottling plant', AML);
      // As the console suite builds it: the first line in the document, the others as fragments
      // (one createTwin of 5,000 elements outlasts the endorsement deadline on 2 cores).
      // Without the Program role: inserting programs is a safety change (a proposal and another
      // organization's approval), which has nothing to do with reads. The count stays the same.
      const generated = largePlant(elements);
      const ordinary = (aml: string) => aml.replace(/\s*<RoleRequirements RefBaseRoleClassPath="TwinLedgerRoleClassLib\/Program"\/>/g, '');
      const plant = { document: ordinary(generated.document), lines: generated.lines.map((l) => ({ id: l.id, aml: ordinary(l.aml) })) };
      await ledger.createTwin(big, 'Large plant', plant.document);
      let last = 0n;
      for (let i = 1; i < plant.lines.length; i++) last = (await ledger.insertAML(big, plant.lines[i]!.aml, 'ih-large', plant.lines[i - 1]!.id)).blockNumber;
      log(`twins ${small} (13 components) and ${big} (${elements} components, ${plant.lines.length} transactions) written up to block ${last}`);

      const service = await startBenchSpecService({ net, org, root, relay: true, readyTimeoutMs: 120_000 });
      proc = service.proc;
      const base = new URL(service.url);
      log(`spec-service at ${base.href}`);
      const headers = { authorization: `Bearer ${service.token}` };

      // The relay replays the channel from block 0: wait until it is past the twins' writes, so
      // their replayed events no longer invalidate what the load reads.
      for (const t0 = Date.now(); ; ) {
        const metrics = await (await fetch(new URL('/metrics', base))).text();
        const relayed = Number(/^spec_service_event_relay_last_block (\d+)/m.exec(metrics)?.[1] ?? -1);
        if (relayed >= Number(last)) break;
        if (Date.now() - t0 > 120_000) throw new Error(`the event relay did not reach block ${last} (at ${relayed})`);
        await new Promise((r) => setTimeout(r, 250));
      }
      for (const path of [`/twins/${small}/spec`, `/twins/${big}/spec`]) {
        const res = await fetch(new URL(path, base), { headers });
        if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${(await res.text()).slice(0, 300)}`);
        log(`${path}: ${(await res.arrayBuffer()).byteLength} bytes, block ${res.headers.get('x-twinledger-block')}`);
      }

      const targets = { spec: `/twins/${small}/spec`, big_spec: `/twins/${big}/spec`, healthz: '/healthz' } as const;
      type Target = keyof typeof targets;
      const results = new Map<string, Measured>();
      for (let r = 0; r < rounds; r++) {
        for (const connections of [32, 128]) {
          for (const target of Object.keys(targets) as Target[]) {
            const key = `${target}@${connections}`;
            if (!results.has(key)) results.set(key, { requests: 0, errors: 0, seconds: 0, latencies: [] });
            await hammer(base, targets[target], target === 'healthz' ? {} : headers, connections, seconds * 1000, results.get(key)!);
          }
        }
      }
      const fig = (key: string) => {
        const m = results.get(key)!;
        return { rps: m.requests / m.seconds, p50: percentile(m.latencies, 50), p99: percentile(m.latencies, 99), errors: m.errors };
      };
      for (const key of results.keys()) {
        const f = fig(key);
        log(`${key.padEnd(16)} ${f.rps.toFixed(0).padStart(6)} req/s  p50 ${f.p50.toFixed(1)} ms  p99 ${f.p99.toFixed(1)} ms  errors ${f.errors}`);
      }
      const errors = [...results.values()].reduce((n, m) => n + m.errors, 0);
      if (errors > 0) throw new Error(`${errors} requests did not answer 200`);
      const metrics = await (await fetch(new URL('/metrics', base))).text();
      log(`read model: ${metrics.split('\n').filter((l) => l.startsWith('spec_service_read_cache_lookups_total')).join('; ')}`);
      const spec = fig('spec@32');
      const healthz = fig('healthz@32');
      return {
        spec_rps: spec.rps,
        spec_p99_ms: spec.p99,
        big_spec_rps: fig('big_spec@32').rps,
        healthz_rps: healthz.rps,
        ratio: spec.rps / healthz.rps,
      };
    } finally {
      await proc?.stop();
      pool.close();
      await net.stop();
      rmSync(root, { recursive: true, force: true });
    }
  },
};
