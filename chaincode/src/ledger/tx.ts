import type { Context } from 'fabric-contract-api';
import type { ChaincodeStub } from 'fabric-shim-api';
import { callerOf, type Caller } from '../access/identity';
import type { EventName } from '../events';
import { canonicalJson, toBytes } from '../util/canonical-json';
import { txTime, type TxTime } from '../util/time';
import { compositeKey, isSpecKey, KeyTypes, pad } from './keys';
import { changeOrderKey } from './order';
import { LedgerReader } from './state';

/** What changed, for the change log and history (kind of object and its id). */
export interface Target {
  kind: string;
  id: string;
}

export interface ChangeHeader {
  twinId: string;
  txId: string;
  /** The submitter's proposal timestamp: recorded information, never the order. */
  timestamp: string;
  mspId: string;
  creator: string;
  operation: string;
  targets: Target[];
  writes: number;
}

/** What KeyTypes.specRevision holds. */
export interface SpecRevision {
  txId: string;
  sortKey: string;
}

export interface ChangeWrite {
  key: string;
  /** Canonical JSON of the new value, null for a delete. */
  value: string | null;
}

/**
 * One transaction. Reads go straight to the ledger; writes are buffered and reach the stub
 * only in commit(), after every check has passed, so a refused call writes nothing. commit()
 * also appends the twin's change log and emits the single event of the transaction.
 */
export class Tx {
  readonly stub: ChaincodeStub;
  readonly state: LedgerReader;
  readonly caller: Caller;
  readonly time: TxTime;
  readonly txId: string;
  private readonly writes = new Map<string, string | null>();
  private readonly targets: Target[] = [];

  constructor(ctx: Context) {
    this.stub = ctx.stub;
    this.state = new LedgerReader(ctx.stub);
    this.caller = callerOf(ctx);
    this.time = txTime(ctx.stub);
    this.txId = ctx.stub.getTxID();
  }

  put(key: string, value: unknown): void {
    this.writes.delete(key);
    this.writes.set(key, canonicalJson(value));
  }

  del(key: string): void {
    this.writes.delete(key);
    this.writes.set(key, null);
  }

  touch(kind: string, id: string): void {
    if (!this.targets.some((t) => t.kind === kind && t.id === id)) this.targets.push({ kind, id });
  }

  get who(): { mspId: string; id: string } {
    return { mspId: this.caller.mspId, id: this.caller.id };
  }

  async commit(opts: {
    twinId?: string;
    operation: string;
    event: EventName;
    payload: Record<string, unknown>;
  }): Promise<void> {
    const entries = [...this.writes.entries()];
    for (const [key, value] of entries) {
      if (value === null) await this.stub.deleteState(key);
      else await this.stub.putState(key, Buffer.from(value, 'utf8'));
    }
    if (opts.twinId !== undefined) {
      const twinId = opts.twinId;
      const header: ChangeHeader = {
        twinId,
        txId: this.txId,
        timestamp: this.time.iso,
        mspId: this.caller.mspId,
        creator: this.caller.id,
        operation: opts.operation,
        targets: this.targets,
        writes: entries.length,
      };
      // Keyed by transaction: where a change stands is the ledger's business (the history of
      // the change-order key below), not the submitter's clock.
      let n = 0;
      for (const [key, value] of entries) {
        const w: ChangeWrite = { key, value };
        await this.stub.putState(compositeKey(KeyTypes.changeWrite, [twinId, this.txId, pad(n++, 6)]), toBytes(w));
      }
      // The header goes to the change-order key, blind (not read here), so concurrent writers
      // of one twin do not conflict on it; the key's history is the twin's headers in the
      // order the ledger committed them (ledger/order.ts).
      await this.stub.putState(changeOrderKey(twinId), toBytes(header));
      // Outside the change log on purpose: it is derived bookkeeping, not part of the twin's
      // content, and a blind write (never read in a transaction) adds no MVCC conflict.
      if (entries.some(([key]) => isSpecKey(key, twinId))) {
        const rev: SpecRevision = { txId: this.txId, sortKey: this.time.sortKey };
        await this.stub.putState(compositeKey(KeyTypes.specRevision, [twinId]), toBytes(rev));
      }
    }
    this.stub.setEvent(opts.event, toBytes({ ...opts.payload, ...(opts.twinId ? { twinId: opts.twinId } : {}), txId: this.txId }));
  }
}
