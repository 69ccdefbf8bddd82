import type { ChaincodeStub } from 'fabric-shim-api';
import type { Grant } from '../access/grants';
import type { Access } from '../access/grants';
import { docRead } from '../access/roles';
import { ErrorCodes, fail } from '../errors';
import { compositeKey, KeyTypes } from '../ledger/keys';
import { list, MemoryReader, type StateReader } from '../ledger/state';
import type { ChangeWrite } from '../ledger/tx';
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
 * The twin's state after the given transactions (a prefix of its ledger order), rebuilt in
 * memory from the change log by applying their writes in that order.
 */
export async function replayChanges(r: StateReader, twinId: string, txIds: readonly string[]): Promise<MemoryReader> {
  const byTx = new Map<string, ChangeWrite[]>(txIds.map((t) => [t, []]));
  // One scan of the log; keys are [twinId, txId, n], so a transaction's writes come in order.
  for (const e of await list<ChangeWrite>(r, KeyTypes.changeWrite, [twinId])) {
    byTx.get(e.key.split('\u0000')[3] ?? '')?.push(e.value);
  }
  const past = new MemoryReader(new Map());
  for (const t of txIds) for (const w of byTx.get(t) ?? []) past.set(w.key, w.value);
  return past;
}

export interface LedgerHistoryEntry {
  txId: string;
  timestamp: string;
  isDelete: boolean;
  value: unknown;
}

/** getHistoryForKey as returned by the peer (Fabric 2.x and later: newest first). */
export async function ledgerHistory(stub: ChaincodeStub, key: string): Promise<LedgerHistoryEntry[]> {
  const out: LedgerHistoryEntry[] = [];
  for await (const m of stub.getHistoryForKey(key)) {
    const ts = m.timestamp as unknown as { seconds: number | string; nanos?: number };
    const bytes = m.value;
    out.push({
      txId: m.txId,
      timestamp: timeFrom(ts.seconds, ts.nanos).iso,
      isDelete: m.isDelete,
      value: m.isDelete || !bytes || bytes.length === 0 ? null : (JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown),
    });
  }
  return out;
}
