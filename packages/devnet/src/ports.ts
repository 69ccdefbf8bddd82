import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortInUseError } from './errors.js';

/** True if nothing listens on 127.0.0.1:port. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Throws naming every port of `ports` already in use, with what it was meant for. */
export async function assertPortsFree(ports: ReadonlyMap<number, string>): Promise<void> {
  const busy: string[] = [];
  for (const [port, what] of ports) if (!(await isPortFree(port))) busy.push(`${port} (${what})`);
  if (busy.length > 0) {
    throw new PortInUseError(`ports already in use: ${busy.join(', ')}; stop what holds them or choose another basePort`, {
      details: { ports: busy },
    });
  }
}

const LOCK_DIR = join(tmpdir(), 'twinledger-port-ranges');

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Claims a range for this process with a lock file, so networks started at the same time by
 * different processes (parallel test runs, a developer's `npm start`) never pick the same one.
 * Stale locks of dead processes are taken over.
 */
function claim(base: number): boolean {
  mkdirSync(LOCK_DIR, { recursive: true });
  const file = join(LOCK_DIR, String(base));
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    const owner = Number(readFileSync(file, 'utf8'));
    if (owner === process.pid || (Number.isInteger(owner) && owner > 0 && pidAlive(owner))) return false;
    rmSync(file, { force: true });
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      return false;
    }
  }
}

export function releaseRange(base: number): void {
  const file = join(LOCK_DIR, String(base));
  try {
    if (Number(readFileSync(file, 'utf8')) === process.pid) rmSync(file, { force: true });
  } catch {
    // not ours or already gone
  }
}

/**
 * A free base whose `count` consecutive ports are all free, claimed for this process. The
 * search stays below Linux's ephemeral range (32768+), where the OS hands out client ports.
 */
export async function findFreeRange(count: number, from = 20_000, to = 32_000, step = 100): Promise<number> {
  const slots = Math.floor((to - from - count) / step);
  const start = Math.floor(Math.random() * slots);
  for (let i = 0; i < slots; i++) {
    const base = from + ((start + i) % slots) * step;
    if (!claim(base)) continue;
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await isPortFree(p);
    if (ok) return base;
    releaseRange(base);
  }
  throw new PortInUseError(`no ${count} free consecutive ports between ${from} and ${to}`);
}
