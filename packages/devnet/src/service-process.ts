import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { READY_FILE_ENV, readReadyReport, type ReadyReport } from '@twinledger/service-kit/ready';
import { ManagedProcess } from './process.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The built entry point of one of the repo's services (`services/<name>/dist/server.js`). */
export function serviceEntry(service: string): string {
  return join(REPO, 'services', service, 'dist', 'server.js');
}

export interface ServiceProcessInit {
  /** Human name in messages and the log file's name, e.g. `spec-service.org1`. */
  readonly name: string;
  /** The script Node runs (see `serviceEntry`). */
  readonly entry: string;
  /** Node flags before the script, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /** The service's environment (PORT '0' is fine: the ready report names the bound port). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** stdout and stderr go here; default: a file in a fresh temporary folder. */
  readonly logFile?: string;
  /** Give up (and stop the process) after this long without a ready report; default 60 s. */
  readonly readyTimeoutMs?: number;
}

export interface ServiceProcess extends ReadyReport {
  readonly name: string;
  readonly process: ManagedProcess;
  readonly logFile: string;
  /** SIGTERM (graceful close), then SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts one of the services as its own process (own process group, taken down by devnet's
 * exit hook too) and resolves once it has written its ready report: the bound address and the
 * service's own facts (`details`), read from the file, never from log text. Fails with the
 * log's tail when the process exits or stays silent past the timeout.
 */
export async function startServiceProcess(init: ServiceProcessInit): Promise<ServiceProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'twinledger-service-'));
  const readyFile = join(dir, 'ready.json');
  const logFile = init.logFile ?? join(dir, `${init.name}.log`);
  const proc = new ManagedProcess({
    name: init.name,
    command: process.execPath,
    args: [...(init.nodeArgs ?? []), init.entry],
    // Only what the caller gives, plus PATH/HOME for Node itself: a test's own environment
    // (its TWINLEDGER_* settings) must not leak into the service it starts.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...definedOnly(init.env), [READY_FILE_ENV]: readyFile },
    logFile,
  });
  proc.start();
  const deadline = Date.now() + (init.readyTimeoutMs ?? 60_000);
  let report: ReadyReport | undefined;
  try {
    for (;;) {
      report = readReadyReport(readyFile);
      if (report !== undefined) break;
      if (!proc.isRunning()) throw proc.startError('exited before it was ready');
      if (Date.now() > deadline) throw proc.startError(`wrote no ready report within ${init.readyTimeoutMs ?? 60_000} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  } finally {
    if (existsSync(readyFile)) rmSync(readyFile, { force: true });
  }
  return {
    ...report,
    name: init.name,
    process: proc,
    logFile,
    stop: (graceMs?: number) => proc.stop(graceMs),
  };
}
