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
  /**
   * A creation sealed after chunked appends (sealTwinCreation): the earlier transactions whose
   * change-log keys hold the rest of this change's writes, in the order they apply, with their
   * write counts. Replayed before this header's own writes; their element records carry their
   * own txIds, which history() reports at this change's seq.
   */
  parts?: ChangePart[];
  /**
   * The change's writes themselves when they are small (INLINE_LOG_CHARS): then no change-log
   * key is written. Never shown to callers (ledger/order.ts strips it): it holds content
   * whose reading needs more than spec:read.
   */
  log?: ChangeWrite[];
}

/** A staged transaction whose logged writes belong to a later change (ChangeHeader.parts). */
export interface ChangePart {
  txId: string;
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

/** What a change-log key holds: consecutive writes of one transaction, in the order it made them. */
export interface ChangeLogChunk {
  writes: ChangeWrite[];
}

/** Bound of one change-log key: the JSON of its writes (UTF-16 code units, about bytes). */
export const CHANGE_LOG_CHUNK_CHARS = 256 * 1024;
/**
 * Up to this size a change's writes travel inside its header (the change-order key) instead of
 * a change-log key: an ordinary edit then writes one key fewer, and as-of replays it without a
 * query of its own. The bound keeps the change order, which history reads whole, small.
 */
export const INLINE_LOG_CHARS = 16 * 1024;

/**
 * Where a transaction's writes go in the change log: inline in its header when small, else in
 * chunks (usually one; a large createTwin or insert is split so that no single state value
 * grows with the fragment; each chunk holds at least one write, and a write above the bound is
 * a chunk of its own).
 */
export function planChangeLog(entries: readonly (readonly [string, string | null])[]): { inline?: ChangeWrite[]; chunks: ChangeLogChunk[] } {
  const chunks: ChangeLogChunk[] = [];
  let current: ChangeWrite[] = [];
  let size = 0;
  let total = 0;
  for (const [key, value] of entries) {
    // As the chunk's JSON spells it: a value is JSON inside a JSON string, so every quote
    // and backslash in it doubles.
    const cost = JSON.stringify(key).length + (value === null ? 4 : JSON.stringify(value).length) + 16;
    if (current.length > 0 && size + cost > CHANGE_LOG_CHUNK_CHARS) {
      chunks.push({ writes: current });
      current = [];
      size = 0;
    }
    current.push({ key, value });
    size += cost;
    total += cost;
  }
  if (current.length > 0) chunks.push({ writes: current });
  if (chunks.length === 1 && total <= INLINE_LOG_CHARS) return { inline: (chunks[0] as ChangeLogChunk).writes, chunks: [] };
  return { chunks };
}

/**
 * The writes a change-log entry holds: a chunk, or one write (the layout before chunks, one key
 * per write, still read so that a channel upgraded to this chaincode replays its older changes).
 */
export function changeLogWrites(v: ChangeLogChunk | ChangeWrite): ChangeWrite[] {
  return 'writes' in v && Array.isArray(v.writes) ? v.writes : [v as ChangeWrite];
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
  private readonly derived = new Map<string, string | null>();
  private readonly targets: Target[] = [];
  private readonly touched = new Set<string>();

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

  /**
   * A write of bookkeeping derived from other writes of this transaction (an index): stored
   * with them but kept out of the change log, which holds what the twin is, so as-of replay
   * and the audit export see the records themselves and nothing twice.
   */
  putDerived(key: string, value: unknown): void {
    this.derived.set(key, canonicalJson(value));
  }

  /** The delete of derived bookkeeping (e.g. a finished creation's records), kept out of the change log too. */
  delDerived(key: string): void {
    this.derived.set(key, null);
  }

  /** Keys written so far (value null for a delete), in write order: what a staged part logs. */
  get pendingWrites(): number {
    return this.writes.size;
  }

  touch(kind: string, id: string): void {
    // A set, not a scan of the list: a creation touches every element (20,000 at the limit).
    const k = `${kind}\u0000${id}`;
    if (this.touched.has(k)) return;
    this.touched.add(k);
    this.targets.push({ kind, id });
  }

  get who(): { mspId: string; id: string } {
    return { mspId: this.caller.mspId, id: this.caller.id };
  }

  async commit(opts: {
    twinId?: string;
    operation: string;
    event: EventName;
    payload: Record<string, unknown>;
    /** This change completes earlier staged transactions (ChangeHeader.parts). */
    parts?: ChangePart[];
    /**
     * Log the writes under this twin's change-log keys for a later change to name, without a
     * header or revision (chunked creation). The event still carries no twinId.
     */
    stagedFor?: string;
  }): Promise<void> {
    const entries = [...this.writes.entries()];
    // A null value is a delete, in the change's own writes and in derived bookkeeping alike.
    for (const [key, value] of [...entries, ...this.derived]) {
      if (value === null) await this.stub.deleteState(key);
      else await this.stub.putState(key, Buffer.from(value, 'utf8'));
    }
    /** Change-log keys of this transaction under `twinId`, one per chunk. */
    const logChunks = async (twinId: string, chunks: readonly unknown[]): Promise<void> => {
      let n = 0;
      for (const chunk of chunks) await this.stub.putState(compositeKey(KeyTypes.changeWrite, [twinId, this.txId, pad(n++, 6)]), toBytes(chunk));
    };
    if (opts.stagedFor !== undefined) {
      // A part of a change not yet visible (a chunk of a twin being created): its writes go to
      // change-log keys under its own txId, which the sealing change names in `parts`; no
      // header and no revision, since no reader may see the twin before the seal.
      const plan = planChangeLog(entries);
      await logChunks(opts.stagedFor, plan.inline !== undefined ? [{ writes: plan.inline }] : plan.chunks);
    } else if (opts.twinId !== undefined) {
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
        ...(opts.parts !== undefined ? { parts: opts.parts } : {}),
      };
      // A small change's writes ride in its header; a large one's go to change-log keys keyed
      // by transaction (where a change stands is the ledger's business: the history of the
      // change-order key below, not the submitter's clock), packed into as few keys as the
      // chunk bound allows. Every key is a round trip to the peer and a write that every
      // peer validates and commits, so the log costs an ordinary edit no key of its own.
      const plan = planChangeLog(entries);
      if (plan.inline !== undefined) header.log = plan.inline;
      await logChunks(twinId, plan.chunks);
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
