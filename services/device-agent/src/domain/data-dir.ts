import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@twinledger/observability';
import { DataDirInUseError } from './errors.js';

/** What the owner file of a data directory records about the process that holds it. */
interface Owner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

const OWNER_FILE = 'agent.owner.json';
/** node-opcua-pki's store lock (a directory, refreshed while held, stale after 2 minutes). */
const STORE_LOCK = 'mutex.lock';

/** Whether `pid` on this host is a live process other than this one, running Node. */
function liveOther(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive but someone else's; anything else: gone.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A restarted container reuses low PIDs for other programs: only a Node process can be an agent.
  const cmdline = `/proc/${pid}/cmdline`;
  if (existsSync(cmdline)) {
    try {
      return readFileSync(cmdline, 'utf8').includes('node');
    } catch {
      return true;
    }
  }
  return true;
}

/**
 * Makes this process the one owner of the agent's data directory, and clears what a killed
 * predecessor left there. A process killed while node-opcua held its certificate store lock
 * leaves `mutex.lock` behind, and every later trust-list update (the agent's connect) then waits
 * until the lock looks two minutes old: an agent restarted after a crash would stay off the
 * device that long. The lock is safe to remove only when no other agent is alive on the same
 * directories, which the owner file establishes first (a second live agent is refused:
 * DataDirInUseError).
 */
export async function claimDataDir(dataDir: string, pkiDirs: readonly string[], logger: Logger): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, OWNER_FILE);
  let previous: Owner | undefined;
  try {
    previous = JSON.parse(await readFile(file, 'utf8')) as Owner;
  } catch {
    previous = undefined;
  }
  if (previous && previous.host === hostname() && liveOther(previous.pid)) {
    throw new DataDirInUseError(`device-agent process ${previous.pid} (since ${previous.since}) uses ${dataDir}; one agent per data directory`, {
      details: { dataDir, pid: previous.pid },
    });
  }
  const me: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  await writeFile(file, JSON.stringify(me), { mode: 0o600 });
  for (const dir of pkiDirs) {
    const lock = join(dir, STORE_LOCK);
    const st = await stat(lock).catch(() => undefined);
    if (!st) continue;
    await rm(lock, { recursive: true, force: true });
    logger.warn({ lock, ageMs: Math.round(Date.now() - st.mtimeMs) }, 'removed a certificate store lock left by a previous agent process');
  }
}
