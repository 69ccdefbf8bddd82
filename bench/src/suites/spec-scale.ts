import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFabricClient, createPeerConnectionPool, loadIdentity } from '@twinledger/fabric-client';
import { CONSORTIUM_ORGS, startNetwork, testNetworkInit, type DevNetwork, type ServiceProcess } from '@twinledger/devnet';
import { arg, median, type Suite } from '../harness.js';
import { startBenchSpecService } from '../spec-service.js';

/**
 * Plant-size specifications (issue #21) on the four-organization network (SmartBFT), through
 * spec-service as a deployment runs it:
 *   create<N>_s               POST /twins of a flat plant of N components (two attributes
 *                             each), until committed: chunked creation above 128 KiB (ADR-14)
 *   create_per_element_ms_<N> that time per component; the goal is the 20,000 figure at most
 *                             1.2x the 1,000 one
 *   read<N>_p50_ms            GET /twins/:id/spec (AML), median of --reads (default 7)
 *   element_p50_ms            GET /twins/:id/elements/:elementId on the 20,000 twin, median
 *   trivial_p50_ms            diag:put committed, median of 30, in the same run: the floor one
 *                             transaction costs on this network at that moment
 * Arguments: `--sizes 1000,5000,20000` is fixed; `--reads <n>` (7), `--elements <n>` (20).
 */

/** A flat plant of n components under one InstanceHierarchy, each with two attributes (about 5 MB at 20,000). */
export function flatPlant(n: number): string {
  const parts = ['<?xml version="1.0" encoding="UTF-8"?>', '<CAEXFile xmlns="http://www.dke.de/CAEX" SchemaVersion="3.0" FileName="plant.aml">', '  <SuperiorStandardVersion>AutomationML 2.10</SuperiorStandardVersion>', '  <InstanceHierarchy Name="Plant" ID="plant">'];
  for (let i = 0; i < n; i++) {
    parts.push(
      `    <InternalElement Name="Component ${i}" ID="component-${i}"><Attribute Name="SerialNumber" AttributeDataType="xs:string"><Value>SN-${i}</Value></Attribute><Attribute Name="Rating" AttributeDataType="xs:double" Unit="kW"><Value>${(i % 100) + 0.5}</Value></Attribute></InternalElement>`,
    );
  }
  parts.push('  </InstanceHierarchy>', '</CAEXFile>', '');
  return parts.join('\n');
}

const SIZES = [1_000, 5_000, 20_000] as const;

export const specScale: Suite = {
  name: 'spec-scale',
  description: 'create and read 1,000/5,000/20,000-component twins through spec-service (4 orgs), trivial-tx baseline',
  async run({ log, args }) {
    const reads = arg(args, 'reads', 7);
    const elementReads = arg(args, 'elements', 20);
    const root = mkdtempSync(join(tmpdir(), 'bench-spec-scale-'));
    let net: DevNetwork | undefined;
    let spec: ServiceProcess | undefined;
    const pool = createPeerConnectionPool();
    try {
      net = await startNetwork({ orgs: [...CONSORTIUM_ORGS], kafka: false, ...testNetworkInit(), log });
      const org = net.orgs[0]!;
      const service = await startBenchSpecService({ net, org, root, relay: false });
      spec = service.proc;
      const base = service.url;
      const token = service.token;
      const auth = { authorization: `Bearer ${token}` };

      // The baseline: one trivial transaction committed, same network, same moment.
      const client = createFabricClient({ pool, peer: org.peer, identity: await loadIdentity(org.users[0]!), channel: net.channel, chaincode: net.chaincode });
      const run = Date.now().toString(36);
      const trivialMs = async (label: string): Promise<number> => {
        const t: number[] = [];
        for (let i = 0; i < 30; i++) {
          const s = performance.now();
          await client.submit('diag:put', [`spec-scale-${run}-${label}-${i}`, 'x']);
          t.push(performance.now() - s);
        }
        return median(t);
      };
      const trivialBefore = await trivialMs('before');
      log(`trivial diag:put p50 ${trivialBefore.toFixed(0)} ms`);

      const figures: Record<string, number> = {};
      let twin20k = '';
      for (const n of SIZES) {
        const aml = flatPlant(n);
        const twinId = `spec-scale-${run}-${n}`;
        const t = performance.now();
        const res = await fetch(`${base}/twins`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ deviceId: twinId, deviceName: `Plant of ${n} components`, aml }),
          signal: AbortSignal.timeout(900_000),
        });
        const body = await res.text();
        const seconds = (performance.now() - t) / 1000;
        if (res.status !== 201) throw new Error(`POST /twins (${n} components): ${res.status} ${body.slice(0, 400)}`);
        log(`created ${n} components (${(Buffer.byteLength(aml) / 1024).toFixed(0)} KiB) in ${seconds.toFixed(1)} s: ${((seconds * 1000) / n).toFixed(2)} ms per component`);
        figures[`create${n / 1000}k_s`] = seconds;
        figures[`create_per_element_ms_${n / 1000}k`] = (seconds * 1000) / n;

        const times: number[] = [];
        for (let i = 0; i < reads; i++) {
          const s = performance.now();
          const r = await fetch(`${base}/twins/${encodeURIComponent(twinId)}/spec?format=aml`, { headers: auth });
          const text = await r.text();
          times.push(performance.now() - s);
          if (r.status !== 200) throw new Error(`GET spec (${n}): ${r.status} ${text.slice(0, 300)}`);
          if (i === 0) log(`GET spec (${n}): ${(text.length / 1024).toFixed(0)} KiB, first read ${times[0]!.toFixed(0)} ms`);
        }
        figures[`read${n / 1000}k_p50_ms`] = median(times);
        log(`GET spec (${n}) p50 ${median(times).toFixed(0)} ms over ${reads}`);
        if (n === 20_000) twin20k = twinId;
      }

      const elementTimes: number[] = [];
      for (let i = 0; i < elementReads; i++) {
        const id = `component-${(i * 997) % 20_000}`;
        const s = performance.now();
        const r = await fetch(`${base}/twins/${encodeURIComponent(twin20k)}/elements/${encodeURIComponent(id)}`, { headers: auth });
        await r.arrayBuffer();
        elementTimes.push(performance.now() - s);
        if (r.status !== 200) throw new Error(`GET element ${id}: ${r.status}`);
      }
      const trivialAfter = await trivialMs('after');
      log(`GET element p50 ${median(elementTimes).toFixed(0)} ms; trivial diag:put p50 after: ${trivialAfter.toFixed(0)} ms`);
      const ratio = figures['create_per_element_ms_20k']! / figures['create_per_element_ms_1k']!;
      log(`per-component cost 20,000 / 1,000: ${ratio.toFixed(2)} (goal <= 1.2); 20,000 created in ${figures['create20k_s']!.toFixed(1)} s (goal <= 120)`);
      log(
        `also: trivial_p50_ms=${((trivialBefore + trivialAfter) / 2).toFixed(0)} create1k_s=${figures['create1k_s']!.toFixed(1)} create5k_s=${figures['create5k_s']!.toFixed(1)} ` +
          `read1k_p50_ms=${figures['read1k_p50_ms']!.toFixed(0)} read5k_p50_ms=${figures['read5k_p50_ms']!.toFixed(0)} per_element_ratio=${ratio.toFixed(2)}`,
      );
      // The line, exactly these figures.
      return {
        create20k_s: figures['create20k_s']!,
        read20k_p50_ms: figures['read20k_p50_ms']!,
        element_p50_ms: median(elementTimes),
        create_per_element_ms_1k: figures['create_per_element_ms_1k']!,
        create_per_element_ms_20k: figures['create_per_element_ms_20k']!,
      };
    } finally {
      await spec?.stop();
      pool.close();
      await net?.stop();
      rmSync(root, { recursive: true, force: true });
    }
  },
};
