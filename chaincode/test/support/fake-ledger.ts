import { spawnSync } from 'node:child_process';
import type { Context } from 'fabric-contract-api';

/**
 * A ChaincodeStub / ClientIdentity test double with Fabric's semantics where they matter:
 * reads see committed state only (no read-your-writes), writes commit only when the
 * function returns, composite keys and range queries in key order, getStateByRange
 * refusing composite-key bounds, history newest first, one event per transaction
 * (the last setEvent wins), the transaction timestamp from the proposal, the peer's
 * ledger.state.totalQueryLimit (a non-paginated range query or key history stops there
 * silently, as the peer's query response builder does), paginated range queries (page size,
 * bookmark = the next key, '' after the last) refused after a write and writes refused after
 * one (the peer's read-only rule for paginated queries).
 */

const SEP = '\u0000';
const MAX = '\u{10ffff}';

export interface KeyModification {
  txId: string;
  timestamp: { seconds: number; nanos: number };
  isDelete: boolean;
  value: Uint8Array;
}

export interface Identity {
  mspId: string;
  /** What the shim's getID() answers for the certificate. */
  id: string;
  /** The creator's certificate (PEM), which the chaincode reads its OU and CN from. */
  idBytes: Uint8Array;
}

const certs = new Map<string, Uint8Array>();

/**
 * A certificate with the given subject (self-signed: the chaincode reads the subject, the
 * peer's MSP is what checks the issuer). Made once per subject by openssl.
 */
export function certificateFor(subject: string): Uint8Array {
  const known = certs.get(subject);
  if (known) return known;
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-days', '1', '-utf8', '-subj', subject],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not make a certificate for ${subject}: ${r.stderr}`);
  const pem = new Uint8Array(Buffer.from(r.stdout, 'utf8'));
  certs.set(subject, pem);
  return pem;
}

/** An identity as cryptogen with NodeOUs issues it (OU=admin|client|peer). */
export function identity(mspId: string, cn: string, ou: 'admin' | 'client' | 'peer' = 'client'): Identity {
  const org = mspId.replace(/MSP$/, '').toLowerCase() + '.example.com';
  return {
    mspId,
    id: `x509::/C=US/ST=California/L=San Francisco/OU=${ou}/CN=${cn}@${org}::/C=US/ST=California/L=San Francisco/O=${org}/CN=ca.${org}`,
    idBytes: certificateFor(`/C=US/ST=California/L=San Francisco/OU=${ou}/CN=${cn}@${org}`),
  };
}

export interface TxRecord {
  txId: string;
  fn: string;
  ok: boolean;
  error?: string;
  /** putState/deleteState calls the function made (whether or not the tx committed). */
  writeCalls: number;
  event?: { name: string; payload: unknown };
  reads: number;
  /**
   * Range and partial-composite-key queries (paginated ones too): unlike a point read, every
   * peer re-executes each one at validation to detect phantoms.
   */
  rangeQueries: number;
  /** Query iterators closed; reads + writeCalls + closes = the round trips to the peer. */
  closes: number;
}

/**
 * Like the shim: a promise of the query iterator (next/close) that is itself async-iterable
 * (for-await closes at the end). `onClose` counts the QUERY_STATE_CLOSE round trips.
 */
function asyncIter<T>(items: T[], onClose: () => void): Promise<QueryIterator<T>> & AsyncIterable<T> {
  let i = 0;
  const iterator: QueryIterator<T> = {
    async next() {
      const v = items[i++];
      return v === undefined ? { done: true, value: undefined } : { done: false, value: v };
    },
    async close() {
      onClose();
    },
  };
  const iterable: AsyncIterable<T> = {
    async *[Symbol.asyncIterator]() {
      try {
        yield* items;
      } finally {
        onClose();
      }
    },
  };
  return Object.assign(Promise.resolve(iterator), { [Symbol.asyncIterator]: iterable[Symbol.asyncIterator] });
}

interface QueryIterator<T> {
  next(): Promise<{ done: true; value: undefined } | { done: false; value: T }>;
  close(): Promise<void>;
}

export class FakeStub {
  readonly writes = new Map<string, Uint8Array | null>();
  writeCalls = 0;
  reads = 0;
  rangeQueries = 0;
  /** Query iterators the function closed (each a round trip to the peer). */
  closes = 0;
  event: { name: string; payload: Uint8Array } | undefined;

  constructor(
    private readonly ledger: FakeLedger,
    readonly txId: string,
    readonly time: { seconds: number; nanos: number },
  ) {}

  getTxID(): string {
    return this.txId;
  }
  getChannelID(): string {
    return 'twins';
  }
  getTxTimestamp(): { seconds: { toString(): string }; nanos: number } {
    // Like the shim: seconds is a Long, not a number.
    const s = this.time.seconds;
    return { seconds: { toString: () => String(s) }, nanos: this.time.nanos };
  }
  async getState(key: string): Promise<Uint8Array> {
    this.reads++;
    return this.ledger.state.get(key) ?? new Uint8Array(0);
  }
  async putState(key: string, value: Uint8Array): Promise<void> {
    if (typeof key !== 'string' || key.length === 0) throw new Error('key must not be empty');
    this.checkWrite();
    this.writeCalls++;
    this.writes.set(key, Buffer.from(value));
  }
  async deleteState(key: string): Promise<void> {
    this.checkWrite();
    this.writeCalls++;
    this.writes.set(key, null);
  }
  setEvent(name: string, payload: Uint8Array): void {
    if (!name) throw new Error('event name must not be empty');
    this.event = { name, payload };
  }
  createCompositeKey(type: string, attrs: string[]): string {
    return `${SEP}${type}${SEP}${attrs.map((a) => a + SEP).join('')}`;
  }
  splitCompositeKey(key: string): { objectType: string; attributes: string[] } {
    const parts = key.slice(1, -1).split(SEP);
    return { objectType: parts[0] ?? '', attributes: parts.slice(1) };
  }
  getStateByRange(start: string, end: string) {
    if (start.startsWith(SEP) || end.startsWith(SEP)) {
      return Promise.reject(new Error('first character of the key contains a null character which is not allowed')) as never;
    }
    this.reads++;
    this.rangeQueries++;
    return asyncIter(this.ledger.range(start || '\u0001', end || MAX).slice(0, this.ledger.totalQueryLimit), () => this.closes++);
  }
  getStateByPartialCompositeKey(type: string, attrs: string[]) {
    this.reads++;
    this.rangeQueries++;
    const start = this.createCompositeKey(type, attrs);
    return asyncIter(this.ledger.range(start, start + MAX).slice(0, this.ledger.totalQueryLimit), () => this.closes++);
  }
  getStateByRangeWithPagination(start: string, end: string, pageSize: number, bookmark = '') {
    if (start.startsWith(SEP) || end.startsWith(SEP)) {
      return Promise.reject(new Error('first character of the key contains a null character which is not allowed')) as never;
    }
    return this.paginated(start || '\u0001', end || MAX, pageSize, bookmark);
  }
  getStateByPartialCompositeKeyWithPagination(type: string, attrs: string[], pageSize: number, bookmark = '') {
    const start = this.createCompositeKey(type, attrs);
    return this.paginated(start, start + MAX, pageSize, bookmark);
  }
  getHistoryForKey(key: string) {
    this.reads++;
    return asyncIter([...(this.ledger.history.get(key) ?? [])].reverse().slice(0, this.ledger.totalQueryLimit), () => this.closes++);
  }

  /** Paginated queries run only before any write (and forbid writes after them), as on the peer. */
  paginatedQueries = 0;
  private checkWrite(): void {
    if (this.paginatedQueries > 0) {
      throw new Error(`txid [${this.txId}]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed`);
    }
  }
  private paginated(start: string, end: string, pageSize: number, bookmark: string) {
    if (this.writeCalls > 0) {
      return Promise.reject(new Error(`txid [${this.txId}]: unsuppored transaction. Paginated queries are supported only in a read-only transaction`)) as never;
    }
    this.paginatedQueries++;
    this.reads++;
    this.rangeQueries++;
    // The peer starts at the bookmark when there is one and returns at most
    // min(pageSize, totalQueryLimit) records; the bookmark is the key after the last one.
    const limit = pageSize > 0 ? Math.min(pageSize, this.ledger.totalQueryLimit) : this.ledger.totalQueryLimit;
    const all = this.ledger.range(bookmark !== '' ? bookmark : start, end);
    const items = all.slice(0, limit);
    const next = all[limit]?.key ?? '';
    const iterator = {
      i: 0,
      async next() {
        const v = items[this.i++];
        return v === undefined ? { done: true as const, value: undefined } : { done: false as const, value: v };
      },
      async close() {},
    };
    // Protobuf leaves out an all-default message, and the shim then sets no metadata at all:
    // an empty last page arrives without it.
    return Promise.resolve(items.length === 0 && next === '' ? { iterator } : { iterator, metadata: { fetchedRecordsCount: items.length, bookmark: next } });
  }
}

/** What the peer hands the shim: function name and args as bytes, and the signed creator. */
export interface WireCall {
  creator: { mspid: string; idBytes: Uint8Array };
  args: string[];
}

export class FakeLedger {
  readonly state = new Map<string, Uint8Array>();
  readonly history = new Map<string, KeyModification[]>();
  readonly txs: TxRecord[] = [];
  private seq = 0;
  /** Transaction clock (seconds); every transaction advances it by `step`. */
  clock = 1_700_000_000;
  step = 10;
  /** The peer's ledger.state.totalQueryLimit (core.yaml default 100000). */
  totalQueryLimit = 100_000;

  range(start: string, end: string): Array<{ key: string; value: Uint8Array; namespace: string }> {
    return [...this.state.keys()]
      .filter((k) => k >= start && k < end)
      .sort()
      .map((k) => ({ key: k, value: this.state.get(k) as Uint8Array, namespace: 'twinledger' }));
  }

  nextTxId(): string {
    this.seq++;
    // Deterministic 64-hex transaction IDs, increasing with the sequence number.
    return this.seq.toString(16).padStart(64, '0');
  }

  get lastTx(): TxRecord {
    return this.txs[this.txs.length - 1] as TxRecord;
  }

  /** The committed state as sorted [key, utf8 value] pairs, for comparisons. */
  snapshot(): Array<[string, string]> {
    return [...this.state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, Buffer.from(v).toString('utf8')]);
  }

  /**
   * Runs a transaction through the shim's own dispatcher (ChaincodeFromContract.Invoke), as
   * the peer would: contract routing, parameter checks, ClientIdentity from the certificate,
   * return-value serialization. Commits on status 200.
   */
  async invokeWire(chaincode: { Invoke(stub: unknown): Promise<{ status: number; message?: string; payload?: Uint8Array }> }, call: WireCall) {
    this.clock += this.step;
    const stub = Object.assign(new FakeStub(this, this.nextTxId(), { seconds: this.clock, nanos: 0 }), {
      getBufferArgs: () => call.args.map((a) => Buffer.from(a, 'utf8')),
      getArgs: () => call.args,
      getCreator: () => call.creator,
    });
    const res = await chaincode.Invoke(stub);
    if (res.status === 200) {
      for (const [k, v] of stub.writes) {
        if (v === null) this.state.delete(k);
        else this.state.set(k, v);
      }
    }
    return { status: res.status, message: res.message, payload: res.payload ? Buffer.from(res.payload).toString('utf8') : '', event: stub.event };
  }

  /**
   * Runs one transaction function as `who`. Commits its writes and event on success; on a
   * throw nothing is committed (as with a failed endorsement) and the error is rethrown.
   */
  async invoke<C>(
    who: Identity,
    contract: C,
    fn: keyof C & string,
    ...args: string[]
  ): Promise<any> {
    this.clock += this.step;
    const stub = new FakeStub(this, this.nextTxId(), { seconds: this.clock, nanos: 123_000_000 });
    const ctx = {
      stub,
      clientIdentity: { getMSPID: () => who.mspId, getID: () => who.id, getIDBytes: () => who.idBytes },
    } as unknown as Context;
    const rec: TxRecord = { txId: stub.txId, fn, ok: false, writeCalls: 0, reads: 0, rangeQueries: 0, closes: 0 };
    this.txs.push(rec);
    try {
      const method = contract[fn] as unknown as (ctx: Context, ...a: string[]) => Promise<string>;
      const out = await method.call(contract, ctx, ...args);
      rec.ok = true;
      rec.writeCalls = stub.writeCalls;
      rec.reads = stub.reads;
      rec.rangeQueries = stub.rangeQueries;
      rec.closes = stub.closes;
      for (const [k, v] of stub.writes) {
        const h = this.history.get(k) ?? [];
        h.push({ txId: stub.txId, timestamp: { ...stub.time }, isDelete: v === null, value: v ?? new Uint8Array(0) });
        this.history.set(k, h);
        if (v === null) this.state.delete(k);
        else this.state.set(k, v);
      }
      if (stub.event) {
        rec.event = { name: stub.event.name, payload: JSON.parse(Buffer.from(stub.event.payload).toString('utf8')) };
      }
      return JSON.parse(out);
    } catch (e) {
      rec.writeCalls = stub.writeCalls;
      rec.reads = stub.reads;
      rec.rangeQueries = stub.rangeQueries;
      rec.closes = stub.closes;
      rec.error = (e as Error).message;
      throw e;
    }
  }
}
