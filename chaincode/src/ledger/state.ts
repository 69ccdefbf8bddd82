import type { ChaincodeStub } from 'fabric-shim-api';
import { fromBytes } from '../util/canonical-json';
import { compositeRange } from './keys';

export interface Entry<T> {
  key: string;
  value: T;
}

/**
 * Read access to world state. The ledger implementation reads through the stub; the memory
 * implementation serves a replayed past state (getTwinAsOf) to the same read code.
 */
export interface StateReader {
  get<T>(key: string): Promise<T | undefined>;
  /** Visits [start, end) in key order; the visitor returns false to stop early. */
  scan<T>(start: string, end: string, visit: (e: Entry<T>) => boolean | void): Promise<void>;
  /**
   * Up to `size` entries of [from ?? start, end) and the key where the next page starts ('' if
   * none). On the ledger a paginated query: read-only functions only.
   */
  page<T>(start: string, end: string, size: number, from?: string): Promise<{ entries: Entry<T>[]; next: string }>;
}

export async function list<T>(r: StateReader, type: string, attrs: readonly string[]): Promise<Entry<T>[]> {
  const [start, end] = compositeRange(type, attrs);
  return listRange<T>(r, start, end);
}

export async function listRange<T>(r: StateReader, start: string, end: string, limit = Infinity): Promise<Entry<T>[]> {
  const out: Entry<T>[] = [];
  if (limit <= 0) return out;
  await r.scan<T>(start, end, (e) => {
    out.push(e);
    return out.length < limit;
  });
  return out;
}

/**
 * Visits a peer query's results until `visit` returns false. Driven by hand rather than with
 * for-await, which ends every query with QUERY_STATE_CLOSE: a round trip for nothing, one per
 * scan of every transaction. The peer releases the iterator itself once it has sent the last
 * batch (has_more false), and every iterator still open when the transaction ends (its
 * TransactionContext closes them), so a query that stops early leaves nothing behind either.
 */
export async function visitQuery<V>(query: Promise<{ next(): Promise<{ value: V; done?: boolean }> }>, visit: (v: V) => boolean | void): Promise<void> {
  const iter = await query;
  for (let r = await iter.next(); !r.done; r = await iter.next()) {
    if (visit(r.value) === false) return;
  }
}

export class LedgerReader implements StateReader {
  constructor(private readonly stub: ChaincodeStub) {}

  async get<T>(key: string): Promise<T | undefined> {
    const b = await this.stub.getState(key);
    if (!b || b.length === 0) return undefined;
    return fromBytes<T>(b);
  }

  async scan<T>(start: string, end: string, visit: (e: Entry<T>) => boolean | void): Promise<void> {
    // Fabric splits the two namespaces: composite ranges go through the partial-key API,
    // which ranges over the whole prefix, so a narrower end is enforced here.
    await visitQuery(
      start.startsWith('\u0000') ? this.stub.getStateByPartialCompositeKey(...splitPartial(start)) : this.stub.getStateByRange(start, end),
      (kv) => kv.key < end && visit({ key: kv.key, value: fromBytes<T>(kv.value) }) !== false,
    );
  }

  async page<T>(start: string, end: string, size: number, from?: string): Promise<{ entries: Entry<T>[]; next: string }> {
    // The peer bounds a paginated query by the page size and answers where the next page
    // starts, so nothing is cut silently (a plain range query stops at totalQueryLimit).
    const res = start.startsWith('\u0000')
      ? await this.stub.getStateByPartialCompositeKeyWithPagination(...splitPartial(start), size, from ?? '')
      : await this.stub.getStateByRangeWithPagination(start, end, size, from ?? '');
    // The peer bounds the range in its own (byte) order: every range paged here is a whole
    // prefix, so no narrower end needs enforcing.
    // A paginated answer is always complete (the peer releases its iterator with the
    // bookmark), so there is nothing to close.
    const entries: Entry<T>[] = [];
    for (let r = await res.iterator.next(); !r.done; r = await res.iterator.next()) {
      entries.push({ key: r.value.key, value: fromBytes<T>(r.value.value) });
    }
    // The peer leaves out metadata that is all defaults (an empty last page: no bookmark, no
    // records), and the shim then sets none.
    const meta = res.metadata as typeof res.metadata | undefined;
    return { entries, next: meta?.bookmark ?? '' };
  }
}

function splitPartial(start: string): [string, string[]] {
  const parts = start.slice(1, -1).split('\u0000');
  return [parts[0] ?? '', parts.slice(1)];
}

/** A sorted in-memory state (keys compared by code unit, as the child index only holds ASCII order keys). */
export class MemoryReader implements StateReader {
  private sorted: string[] | undefined;
  constructor(private readonly data: Map<string, string>) {}

  set(key: string, json: string | null): void {
    if (json === null) this.data.delete(key);
    else this.data.set(key, json);
    this.sorted = undefined;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const v = this.data.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }

  async scan<T>(start: string, end: string, visit: (e: Entry<T>) => boolean | void): Promise<void> {
    const sorted = (this.sorted ??= [...this.data.keys()].sort());
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((sorted[mid] as string) < start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < sorted.length; i++) {
      const k = sorted[i] as string;
      if (k >= end) break;
      if (visit({ key: k, value: JSON.parse(this.data.get(k) as string) as T }) === false) break;
    }
  }

  async page<T>(start: string, end: string, size: number, from?: string): Promise<{ entries: Entry<T>[]; next: string }> {
    const entries: Entry<T>[] = [];
    let next = '';
    await this.scan<T>(from ?? start, end, (e) => {
      if (entries.length === size) {
        next = e.key;
        return false;
      }
      entries.push(e);
      return true;
    });
    return { entries, next };
  }
}
