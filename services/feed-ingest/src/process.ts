import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * feed-ingest as its own process (dist/server.js), as deployed: for tests that kill it
 * mid-batch and for the bench, which gives it its own event loop.
 */
export interface FeedIngestProcess {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly peerId: string;
  readonly multiaddr: string;
}

export interface FeedIngestProcessOptions {
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /** Every stdout line (the service's JSON log). */
  readonly onLine?: (line: string) => void;
  readonly startTimeoutMs?: number;
}

// Resolves to dist/server.js from src/ (ts-jest) and from dist/ alike.
const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));

/** Starts the process and resolves once it logs `feed-ingest listening` (with its port and DHT identity). */
export function startFeedIngestProcess(env: Record<string, string>, options: FeedIngestProcessOptions = {}): Promise<FeedIngestProcess> {
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), SERVER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`feed-ingest did not start: ${stderr.slice(-2000)}`)), options.startTimeoutMs ?? 60_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`feed-ingest exited with ${code}: ${stderr.slice(-2000)}`));
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      options.onLine?.(line);
      try {
        const e = JSON.parse(line) as { msg?: string; peerId?: string; multiaddrs?: string[]; address?: { port: number } };
        if (e.msg === 'feed-ingest listening') {
          clearTimeout(timer);
          proc.removeAllListeners('exit');
          resolve({ proc, port: e.address!.port, peerId: e.peerId!, multiaddr: e.multiaddrs![0]! });
        }
      } catch {
        // not a log line
      }
    });
  });
}

/** Stops the process with `signal` (SIGKILL for crash tests) and waits for it to exit. */
export async function stopFeedIngestProcess(child: FeedIngestProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise((r) => child.proc.once('exit', r));
  child.proc.kill(signal);
  await exited;
}
