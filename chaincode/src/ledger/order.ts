import type { ChaincodeStub } from 'fabric-shim-api';
import { ErrorCodes, fail } from '../errors';
import { Limits } from '../limits';
import { fromBytes } from '../util/canonical-json';
import { parseTimestamp } from '../util/time';
import { compositeKey, KeyTypes } from './keys';
import { visitQuery, type StateReader } from './state';
import type { ChangeHeader } from './tx';

/** A change header at its place in the twin's ledger order. */
export interface SequencedChange extends ChangeHeader {
  /** 1-based position in the twin's ledger order (createTwin is 1). */
  seq: number;
}

/** What as-of needs of a change: its place, its transaction and its recorded time. */
export type ChangePosition = Pick<SequencedChange, 'seq' | 'txId' | 'timestamp'>;

export const changeOrderKey = (twinId: string): string => compositeKey(KeyTypes.changeOrder, [twinId]);

/**
 * The twin's change headers in ledger order (block, then position in the block), each with its
 * sequence number, read from the history of its change-order key. Every peer answers the same
 * list: it is the committed chain, whatever clocks the submitters had.
 */
export async function changeOrder(stub: ChaincodeStub, twinId: string): Promise<SequencedChange[]> {
  return (await changeOrderWithLog(stub, twinId)).map(({ log: _log, ...h }) => h);
}

/**
 * changeOrder with each small change's writes (its header's `log`): for replaying only, never
 * for answering (the writes hold content that spec:read alone may not see).
 */
export async function changeOrderWithLog(stub: ChaincodeStub, twinId: string): Promise<SequencedChange[]> {
  const newestFirst: ChangeHeader[] = [];
  await visitQuery(stub.getHistoryForKey(changeOrderKey(twinId)), (m) => {
    // The key is never deleted, and every modification is one transaction's header.
    if (!m.isDelete && m.value && m.value.length > 0) newestFirst.push(fromBytes<ChangeHeader>(m.value));
    // The peer's history query reads newest first and cannot start elsewhere, so a sequence
    // number needs the whole log: bound the work of one call instead.
    if (newestFirst.length > Limits.MAX_KEY_HISTORY) {
      fail(ErrorCodes.TOO_LARGE, `twin ${twinId} has more than ${Limits.MAX_KEY_HISTORY} changes; its history and as-of are beyond what one call reads`);
    }
  });
  // The oldest header is always createTwin's. If it is not, the peer stopped early (its
  // ledger.state.totalQueryLimit ends a history query without an error): refuse rather than
  // number a shortened log as if it were the whole.
  const oldest = newestFirst[newestFirst.length - 1];
  if (oldest !== undefined && oldest.operation !== 'createTwin') {
    fail(
      ErrorCodes.TOO_LARGE,
      `the peer answered only the newest ${newestFirst.length} changes of twin ${twinId} (its ledger.state.totalQueryLimit is below ${Limits.MAX_KEY_HISTORY}); history and as-of are refused rather than shortened`,
    );
  }
  return newestFirst.reverse().map((h, i) => ({ ...h, seq: i + 1 }));
}

/** The recorded time of the twin's latest committed change, in epoch ms (a versioned read). */
export async function latestChangeMs(r: StateReader, twinId: string): Promise<number | undefined> {
  const last = await r.get<ChangeHeader>(changeOrderKey(twinId));
  return last === undefined ? undefined : Date.parse(last.timestamp);
}

/** An as-of bound as the caller gave it. */
export type AsOfBound = { txId: string } | { seq: number } | { timestamp: string; ms: number };

const TX_ID = /^[0-9a-f]{64}$/;
const SEQ = /^seq:([1-9][0-9]{0,11})$/;

/** Parses getTwinAsOf's bound: a 64-hex tx ID, `seq:<n>`, an ISO 8601 time with zone or epoch ms. */
export function parseAsOf(v: unknown): AsOfBound {
  if (typeof v !== 'string') fail(ErrorCodes.VALIDATION_FAILED, 'at must be a string');
  if (TX_ID.test(v)) return { txId: v };
  const seq = SEQ.exec(v);
  if (seq) return { seq: Number(seq[1]) };
  const t = parseTimestamp(v);
  if (!t) {
    fail(ErrorCodes.VALIDATION_FAILED, 'at must be a transaction ID, seq:<n>, an ISO 8601 timestamp with zone or epoch milliseconds');
  }
  const ms = t.seconds * 1000 + Math.floor(t.nanos / 1e6);
  return { timestamp: new Date(ms).toISOString(), ms };
}

/** The bound as answers echo it: {txId}, {seq} or {timestamp}. */
export function boundView(bound: AsOfBound): { txId: string } | { seq: number } | { timestamp: string } {
  if ('txId' in bound) return { txId: bound.txId };
  if ('seq' in bound) return { seq: bound.seq };
  return { timestamp: bound.timestamp };
}

/**
 * How many changes (a prefix of the ledger order) the bound covers, 0 if none.
 * By time: the longest prefix whose recorded times are all at or before the bound (inclusive,
 * at the millisecond resolution the headers show). A change
 * whose submitter's clock ran ahead ends the prefix even if later changes carry earlier
 * times, so the answer is always a state the ledger actually went through, never a mix of
 * changes from both sides of a clock jump.
 */
export function prefixLength(order: readonly ChangePosition[], bound: AsOfBound): number {
  if ('txId' in bound) return order.find((p) => p.txId === bound.txId)?.seq ?? 0;
  if ('seq' in bound) return bound.seq <= order.length ? bound.seq : 0;
  let n = 0;
  while (n < order.length && Date.parse((order[n] as ChangePosition).timestamp) <= bound.ms) n++;
  return n;
}
