import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { testNetworkInit } from '@twinledger/devnet';
import type { Suite } from '../harness.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * One `npm start --once` run as a user runs it (the consortium CLI in its own process), timed
 * from launch to the line reporting the end of the scenario; the stop that follows is waited
 * for but not counted. Fails if the scenario does not complete.
 */
async function timeRun(cacheDir: string, log: (l: string) => void): Promise<{ total: number; scenario: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [join(root, 'packages/consortium/dist/cli.js'), '--once'], {
    cwd: root,
    env: { ...process.env, TWINLEDGER_CACHE: cacheDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let endMs: number | undefined;
  let upMs: number | undefined;
  const tail: string[] = [];
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (l) => {
    tail.push(l);
    if (tail.length > 40) tail.shift();
    if (l.includes('consortium up in')) upMs = Date.now() - t0;
    if (l.includes('scenario complete')) endMs = Date.now() - t0;
    if (/^\[consortium\]\s+\d+\. /.test(l) || l.includes('consortium up in') || l.includes('scenario')) log(l.replace('[consortium] ', ''));
  });
  child.stderr.on('data', (d: Buffer) => void tail.push(d.toString('utf8').trimEnd()));
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  if (code !== 0 || endMs === undefined) throw new Error(`npm start --once failed (exit ${code}):\n${tail.join('\n')}`);
  return { total: endMs / 1000, scenario: (endMs - (upMs ?? 0)) / 1000 };
}

/**
 * `npm start` end to end: from launching the consortium CLI to the end of the issue #9 scenario.
 * Cold: an empty project cache (Kafka and everything devnet installs are fetched again; Fabric
 * still comes from TWINLEDGER_FABRIC_HOME, the only way to have it here). Warm: the same cache
 * again. The build (`npm run bench` builds first, as `npm start`'s prestart does) is not counted.
 */
export const e2e: Suite = {
  name: 'e2e',
  description: 'npm start to the end of the consortium scenario, cold and warm cache',
  async run({ log }) {
    const cold = mkdtempSync(join(tmpdir(), 'twinledger-e2e-cold-cache-'));
    try {
      log(`cold: empty cache ${cold} (Fabric from ${testNetworkInit().fabricHome ?? 'go install'})`);
      const c = await timeRun(cold, log);
      log(`cold: ${c.total.toFixed(1)} s (scenario ${c.scenario.toFixed(1)} s)`);
      log('warm: the same cache again');
      const w = await timeRun(cold, log);
      log(`warm: ${w.total.toFixed(1)} s (scenario ${w.scenario.toFixed(1)} s)`);
      return { warm_s: w.total, cold_s: c.total, warm_scenario_s: w.scenario, cold_scenario_s: c.scenario };
    } finally {
      rmSync(cold, { recursive: true, force: true });
    }
  },
};
