import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** What the relay remembers of each transaction it relayed. */
export interface JournalEntry {
  readonly txId: string;
  readonly blockNumber: number;
  readonly eventName: string;
  readonly twinId?: string;
  /** For TwinCreated: the device name (twin listing). */
  readonly deviceName?: string;
}

/**
 * The relay's local record of relayed transactions: the block number of each transaction (for
 * auditors' export bundles; the chaincode does not know block numbers) and the twins that
 * exist (the chaincode has no listTwins). Append-only JSON lines, written before the
 * checkpoint so a restart never loses an entry; duplicates on replay are ignored.
 */
export interface LedgerJournal {
  record(entry: JournalEntry): void;
  blockOf(txId: string): number | undefined;
  twins(): JournalEntry[];
  readonly size: number;
}

export function createLedgerJournal(file?: string): LedgerJournal {
  const byTx = new Map<string, JournalEntry>();
  const twins = new Map<string, JournalEntry>();
  const add = (e: JournalEntry): boolean => {
    if (byTx.has(e.txId)) return false;
    byTx.set(e.txId, e);
    if (e.eventName === 'TwinCreated' && e.twinId !== undefined) twins.set(e.twinId, e);
    return true;
  };
  if (file !== undefined) {
    mkdirSync(dirname(file), { recursive: true });
    if (existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          add(JSON.parse(line) as JournalEntry);
        } catch {
          // A torn last line after a crash: the event is relayed again (it was not checkpointed).
        }
      }
    }
  }
  return {
    record(entry) {
      if (add(entry) && file !== undefined) appendFileSync(file, `${JSON.stringify(entry)}\n`);
    },
    blockOf: (txId) => byTx.get(txId)?.blockNumber,
    twins: () => [...twins.values()].sort((a, b) => a.blockNumber - b.blockNumber || a.txId.localeCompare(b.txId)),
    get size() {
      return byTx.size;
    },
  };
}
