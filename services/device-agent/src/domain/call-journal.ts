import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AcknowledgementStatus } from '@twinledger/ledger';

/**
 * What the agent did with each program call, appended to a file and fsynced before the next
 * step: `started` before the device is touched, `done` with the outcome before the ledger
 * acknowledgement, `acked` after it. After a crash a `started` call is never executed again (the
 * device may have applied it), and a `done` call is only acknowledged, with its recorded outcome.
 */
export type JournalState = 'started' | 'done' | 'acked';

export interface JournalEntry {
  readonly twinId: string;
  readonly callId: number;
  readonly state: JournalState;
  readonly status?: AcknowledgementStatus;
  readonly result?: unknown;
  readonly at: string;
}

export interface CallJournal {
  get(twinId: string, callId: number): JournalEntry | undefined;
  record(entry: Omit<JournalEntry, 'at'>): Promise<void>;
  recent(limit: number): JournalEntry[];
}

export async function openCallJournal(path: string): Promise<CallJournal> {
  await mkdir(dirname(path), { recursive: true });
  const latest = new Map<string, JournalEntry>();
  const order: string[] = [];
  const key = (twinId: string, callId: number): string => `${twinId}\0${callId}`;
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let e: JournalEntry;
    try {
      e = JSON.parse(line) as JournalEntry;
    } catch {
      continue; // a torn last line from a crash mid-write: that step did not happen
    }
    const k = key(e.twinId, e.callId);
    if (!latest.has(k)) order.push(k);
    latest.set(k, e);
  }
  return {
    get: (twinId, callId) => latest.get(key(twinId, callId)),
    async record(entry) {
      const e: JournalEntry = { ...entry, at: new Date().toISOString() };
      await appendFile(path, `${JSON.stringify(e)}\n`);
      const fh = await open(path, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      const k = key(e.twinId, e.callId);
      if (!latest.has(k)) order.push(k);
      latest.set(k, e);
    },
    recent(limit) {
      return order.slice(-limit).reverse().map((k) => latest.get(k)!);
    },
  };
}
