#!/usr/bin/env node
// `npm start`: the local consortium of four organizations with their services, then the
// issue #9 scenario, step by step. A developer tool, so it prints plain lines for people; the
// services' own JSON logs go to files (their folder is printed).
import { parseArgs } from 'node:util';
import { defaultCacheDir } from '@twinledger/devnet';
import { describeEndpoints, startConsortium, type Consortium } from './launcher.js';
import { runScenario } from './scenario.js';

const out = (line: string): void => void process.stdout.write(`[consortium] ${line}\n`);

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { once: { type: 'boolean', default: false }, 'twin-id': { type: 'string' }, keep: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    process.stdout.write('usage: node packages/consortium/dist/cli.js [--once] [--twin-id <id>]\n  --once  stop everything after the scenario (else stay up until Ctrl-C)\n  --keep  keep the run directory (crypto, service data, logs) after stop\n');
    return 0;
  }
  const t0 = Date.now();
  const running: { consortium?: Consortium } = {};
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      out('stopping ...');
      await running.consortium?.stop();
      out('stopped; no process left behind');
    })());
  // Ctrl-C during start-up: startConsortium's own failure path stops what it started, and
  // devnet's exit hook kills any engine still alive.
  const onSignal = (): void => void shutdown().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const consortium = await startConsortium({
    cacheDir: process.env['TWINLEDGER_CACHE'] || defaultCacheDir(),
    fabricHome: process.env['TWINLEDGER_FABRIC_HOME'] || undefined,
    ...(values['twin-id'] ? { twinId: values['twin-id'] } : {}),
    keepWorkDir: values.keep,
    log: out,
  });
  running.consortium = consortium;
  out(`consortium up in ${((Date.now() - t0) / 1000).toFixed(1)} s (network ${(consortium.timings.networkMs / 1000).toFixed(1)} s, services ${(consortium.timings.servicesMs / 1000).toFixed(1)} s)`);
  for (const line of describeEndpoints(consortium)) out(`  ${line}`);
  out('scenario:');
  try {
    const report = await runScenario(consortium, { log: (l) => out(`  ${l}`) });
    out(`scenario complete: ${report.steps.length} steps in ${(report.totalMs / 1000).toFixed(1)} s; ${((Date.now() - t0) / 1000).toFixed(1)} s since start`);
  } catch (err) {
    out(`scenario failed: ${err instanceof Error ? err.message : String(err)}`);
    out(`service and engine logs copied to ${consortium.preserveLogs()}`);
    if (values.once) {
      await shutdown();
      return 1;
    }
  }
  if (values.once) {
    await shutdown();
    return 0;
  }
  out('up; the APIs above stay available. Press Ctrl-C to stop.');
  await new Promise<void>(() => undefined);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[consortium] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
