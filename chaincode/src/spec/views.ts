import type { ChaincodeStub } from 'fabric-shim-api';
import type { Grant } from '../access/grants';
import type { Access } from '../access/grants';
import { docRead } from '../access/roles';
import { ErrorCodes, fail } from '../errors';
import { Limits } from '../limits';
import { compositeKey, compositeRange, KeyTypes } from '../ledger/keys';
import { listAllPaged } from '../ledger/paging';
import { list, MemoryReader, visitQuery, type StateReader } from '../ledger/state';
import { changeLogWrites, type ChangeHeader, type ChangeLogChunk, type ChangeWrite } from '../ledger/tx';
import { timeFrom } from '../util/time';
import type { DocumentRecord, DocumentVersion, ExternalSource, ProgramCall, SensorFeed, TwinMeta } from './model';

/* Reads shared by the current state and the replayed past state (getTwinAsOf). */

export const twinKey = (twinId: string): string => compositeKey(KeyTypes.twin, [twinId]);

export async function requireTwin(r: StateReader, twinId: string): Promise<TwinMeta> {
  const meta = await r.get<TwinMeta>(twinKey(twinId));
  if (!meta) fail(ErrorCodes.NOT_FOUND, `twin ${twinId} does not exist`);
  return meta;
}

export function twinView(meta: TwinMeta) {
  const { header: _header, ...rest } = meta;
  return rest;
}

const values = async <T>(r: StateReader, type: string, attrs: string[]): Promise<T[]> =>
  (await list<T>(r, type, attrs)).map((e) => e.value);

export async function documentsVisible(r: StateReader, twinId: string, access: Access): Promise<DocumentRecord[]> {
  return (await values<DocumentRecord>(r, KeyTypes.document, [twinId])).filter((d) =>
    access.permissions.includes(docRead(d.confidentiality)),
  );
}

export const documentVersions = (r: StateReader, twinId: string, originalHash: string) =>
  values<DocumentVersion>(r, KeyTypes.docVersion, [twinId, originalHash]);
export const externalSources = (r: StateReader, twinId: string) => values<ExternalSource>(r, KeyTypes.external, [twinId]);
export const sensorFeeds = (r: StateReader, twinId: string) => values<SensorFeed>(r, KeyTypes.feed, [twinId]);
export const grants = (r: StateReader, twinId: string) => values<Grant>(r, KeyTypes.grant, [twinId]);
export const programCalls = (r: StateReader, twinId: string) => values<ProgramCall>(r, KeyTypes.call, [twinId]);

/**
 * The twin's state after the given changes (a prefix of its ledger order), rebuilt in memory
 * from the change log by applying their writes in that order. Read-only functions only (paged
 * reads). Complete or refused: the writes to replay are counted from the headers first
 * (TOO_LARGE above MAX_ASOF_WRITES), and each change must replay exactly the writes its header
 * counted, so a short answer of the peer can never pass for a past state.
 */
export async function replayChanges(
  r: StateReader,
  twinId: string,
  changes: readonly Pick<ChangeHeader, 'txId' | 'writes' | 'log' | 'parts'>[],
): Promise<MemoryReader> {
  const total = changes.reduce((n, c) => n + c.writes + (c.parts ?? []).reduce((m, p) => m + p.writes, 0), 0);
  if (total > Limits.MAX_ASOF_WRITES) {
    fail(ErrorCodes.TOO_LARGE, `rebuilding twin ${twinId} at this point replays ${total} writes, more than ${Limits.MAX_ASOF_WRITES}`);
  }
  const past = new MemoryReader(new Map());
  const logged = async (txId: string, count: number): Promise<ChangeWrite[]> => {
    const [start, end] = compositeRange(KeyTypes.changeWrite, [twinId, txId]);
    const entries = await listAllPaged<ChangeLogChunk | ChangeWrite>(r, start, end, count, `the change log of transaction ${txId}`);
    const writes = entries.flatMap((e) => changeLogWrites(e.value));
    if (writes.length !== count) {
      fail(ErrorCodes.INVALID_STATE, `the change log of transaction ${txId} holds ${writes.length} writes, its header counts ${count}`);
    }
    return writes;
  };
  for (const c of changes) {
    // A chunked creation: the staged chunks' writes first, in the order the seal lists them.
    for (const p of c.parts ?? []) for (const w of await logged(p.txId, p.writes)) past.set(w.key, w.value);
    // In the header, or under keys [twinId, txId, n]: one transaction's writes in chunks, in
    // the order it made them.
    let writes: ChangeWrite[];
    if (c.log !== undefined) {
      writes = c.log;
      if (writes.length !== c.writes) {
        fail(ErrorCodes.INVALID_STATE, `the change log of transaction ${c.txId} holds ${writes.length} writes, its header counts ${c.writes}`);
      }
    } else {
      writes = await logged(c.txId, c.writes);
    }
    for (const w of writes) past.set(w.key, w.value);
  }
  return past;
}

export interface LedgerHistoryEntry {
  txId: string;
  timestamp: string;
  isDelete: boolean;
  value: unknown;
}

/**
 * getHistoryForKey as returned by the peer (Fabric 2.x and later: newest first), at most
 * MAX_KEY_HISTORY modifications (TOO_LARGE above: the peer's query cannot resume, so a
 * longer history is refused, never shortened).
 */
export async function ledgerHistory(stub: ChaincodeStub, key: string, isFirst?: (oldest: LedgerHistoryEntry) => boolean): Promise<LedgerHistoryEntry[]> {
  const out: LedgerHistoryEntry[] = [];
  await visitQuery(stub.getHistoryForKey(key), (m) => {
    if (out.length === Limits.MAX_KEY_HISTORY) fail(ErrorCodes.TOO_LARGE, `the key has more than ${Limits.MAX_KEY_HISTORY} modifications`);
    const ts = m.timestamp as unknown as { seconds: number | string; nanos?: number };
    const bytes = m.value;
    out.push({
      txId: m.txId,
      timestamp: timeFrom(ts.seconds, ts.nanos).iso,
      isDelete: m.isDelete,
      value: m.isDelete || !bytes || bytes.length === 0 ? null : (JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown),
    });
  });
  // The peer ends a history query at its totalQueryLimit without a sign: where the key's first
  // write is recognizable, an oldest entry that is not it means the answer was cut.
  const oldest = out[out.length - 1];
  if (isFirst !== undefined && oldest !== undefined && !isFirst(oldest)) {
    fail(ErrorCodes.TOO_LARGE, `the key's history is longer than the peer answers (its oldest modification is missing: raise ledger.state.totalQueryLimit)`);
  }
  return out;
}

/**
 * One page of a key's history, newest first: `after` is the txId of the last entry of the
 * previous page ('' = from the newest); the bookmark is the txId of this page's last entry,
 * or '' when the oldest entry is on this page. Stable while new changes arrive: those are
 * newer than every bookmark.
 */
export function ledgerHistoryPage(all: readonly LedgerHistoryEntry[], size: number, after: string): { items: LedgerHistoryEntry[]; bookmark: string } {
  let from = 0;
  if (after !== '') {
    const i = all.findIndex((e) => e.txId === after);
    if (i < 0) fail(ErrorCodes.VALIDATION_FAILED, 'bookmark does not belong to this history (pass back the bookmark of its previous page)');
    from = i + 1;
  }
  const items = all.slice(from, from + size);
  return { items, bookmark: from + size < all.length ? (items[items.length - 1]?.txId ?? '') : '' };
}

/**
 * A document key's first write is the addDocument that created the record: its value names
 * that transaction (versions keep the creating txId, a removal is a delete). A document removed
 * and added again starts over with such a write, so a cut exactly there is not recognized.
 */
export const createdHere = (e: LedgerHistoryEntry): boolean => !e.isDelete && (e.value as { txId?: unknown } | null)?.txId === e.txId;

/**
 * Whether an access record is the first of its key (previousTxId ''). A record written before
 * the field existed cannot tell, and counts as first: such a cut goes unrecognized.
 */
export const firstAccessRecord = (e: LedgerHistoryEntry): boolean => {
  const previous = (e.value as { previousTxId?: unknown } | null)?.previousTxId;
  return previous === undefined || previous === '';
};
