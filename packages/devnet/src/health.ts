import { connect } from 'node:net';
import type { ManagedProcess } from './process.js';

export type Probe = () => Promise<boolean>;

/** True once something accepts TCP connections on host:port. */
export function tcpOpen(host: string, port: number): Probe {
  return () =>
    new Promise((resolve) => {
      const socket = connect({ host, port });
      const done = (ok: boolean): void => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(1_000, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
}

/** True once GET url answers 2xx. */
export function httpOk(url: string): Probe {
  return async () => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      return res.ok;
    } catch {
      return false;
    }
  };
}

/**
 * Polls a health probe until it passes. Fails fast if the process died, and on timeout, with
 * the process name and log so the user sees why: the devnet never sleeps blindly.
 */
export async function waitHealthy(proc: ManagedProcess, probe: Probe, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  for (;;) {
    if (!proc.isRunning()) throw proc.startError('exited before it became healthy');
    if (await probe()) return;
    if (Date.now() > deadline) throw proc.startError(`was not healthy after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
}
