import { createHash } from 'crypto';
import type { CaexNode, SchemaVersion } from '../aml/caex';
import type { XmlElement } from '../aml/xml';
import { ErrorCodes, fail } from '../errors';
import { Limits } from '../limits';
import { compositeKey, KeyTypes, pad } from '../ledger/keys';
import { list, type StateReader } from '../ledger/state';
import type { Tx } from '../ledger/tx';
import type { Principal } from './model';

/*
 * Chunked creation of a large twin (ADR-14): beginTwinCreation stores the document's skeleton,
 * appendTwinChunk stages one fragment per transaction, sealTwinCreation makes the twin exist
 * (its meta and grants) in one small transaction. Until the seal the twin key is absent, so
 * every read answers NOT_FOUND exactly as for a missing twin; element records are written by
 * the chunks at their final keys, so the seal moves nothing.
 */

export type CreationStatus = 'OPEN' | 'ABORTING';

export interface TwinCreation {
  twinId: string;
  /** The txId of beginTwinCreation: names this attempt, so a stale client cannot touch a newer one. */
  creationId: string;
  deviceName: string;
  schemaVersion: SchemaVersion;
  header: XmlElement;
  /** The grants argument as given; parsed again (and checked) at the seal. */
  grants: string;
  /** Chunks after the skeleton, indices 1..totalChunks. */
  totalChunks: number;
  /** creationDigest of the chunk hashes, as the creator announced it. */
  digest: string;
  status: CreationStatus;
  createdBy: Principal;
  begunAt: string;
}

export interface CreationChunk {
  index: number;
  parentId: string;
  /** chunkHash(parentId, aml) */
  sha256: string;
  bytes: number;
  /** InternalElements in the chunk (the twin's element limit counts these). */
  elements: number;
  /** Node IDs written, depth first (the seal's change header names them as targets). */
  ids: string[];
  programs: { name: string; elementId: string }[];
  /** The staging transaction and the writes it logged (ChangeHeader.parts of the seal). */
  txId: string;
  writes: number;
}

export const creationKey = (twinId: string): string => compositeKey(KeyTypes.creation, [twinId]);
export const creationChunkKey = (twinId: string, index: number): string => compositeKey(KeyTypes.creationChunk, [twinId, pad(index, 6)]);

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * Order key bound of chunk `index`: 'z' + three base-62 digits + '1'. A chunk's nodes take keys
 * strictly between its bound and the next one, so chunks may commit in any order (even
 * concurrently) and still assemble in index order. The bounds lie above every key storeNodes
 * gives a node's own children (those grow by about one digit step per doubling from 'V'), so
 * a parent's children in its own piece come first, then those of its chunks.
 */
export function chunkBound(index: number): string {
  let s = '';
  for (let n = index, i = 0; i < 3; i++, n = Math.floor(n / 62)) s = (DIGITS[n % 62] as string) + s;
  return `z${s}1`;
}

export function chunkGap(index: number): [string, string] {
  return [chunkBound(index), chunkBound(index + 1)];
}

/** What the creator hashes per chunk: its parent ID, a newline, its AML (chunk 0: parent ''). */
export function chunkHash(parentId: string, aml: string): string {
  return createHash('sha256').update(`${parentId}\n${aml}`, 'utf8').digest('hex');
}

/** The digest given to beginTwinCreation: SHA-256 of the chunk hashes (0..n) joined by newlines. */
export function creationDigest(hashes: readonly string[]): string {
  return createHash('sha256').update(hashes.join('\n'), 'utf8').digest('hex');
}

export function countInternalElements(nodes: readonly CaexNode[]): number {
  let n = 0;
  for (const node of nodes) n += (node.kind === 'InternalElement' ? 1 : 0) + countInternalElements(node.children);
  return n;
}

/**
 * The caller's own creation of the twin. Anyone else, and a creationId that is not the current
 * one, gets NOT_FOUND: a creation is the creator's business until the seal.
 */
export async function requireOwnCreation(tx: Tx, twinId: string, creationId: unknown): Promise<TwinCreation> {
  const c = await tx.state.get<TwinCreation>(creationKey(twinId));
  if (!c || c.createdBy.mspId !== tx.caller.mspId || c.createdBy.id !== tx.caller.id || (creationId !== undefined && c.creationId !== creationId)) {
    fail(ErrorCodes.NOT_FOUND, `no creation ${typeof creationId === 'string' ? `${creationId} ` : ''}of twin ${twinId} by the caller is under way`);
  }
  return c;
}

export async function creationChunks(r: StateReader, twinId: string): Promise<CreationChunk[]> {
  return (await list<CreationChunk>(r, KeyTypes.creationChunk, [twinId])).map((e) => e.value);
}

/** Chunk indices 0..total not staged yet. */
export function missingChunks(c: TwinCreation, chunks: readonly CreationChunk[]): number[] {
  const have = new Set(chunks.map((x) => x.index));
  const out: number[] = [];
  for (let i = 0; i <= c.totalChunks; i++) if (!have.has(i)) out.push(i);
  return out;
}

export function parseChunkCount(v: unknown): number {
  const s = typeof v === 'string' ? v : '';
  if (!/^(0|[1-9][0-9]{0,5})$/.test(s)) fail(ErrorCodes.VALIDATION_FAILED, 'totalChunks must be a whole number');
  const n = Number(s);
  if (n > Limits.MAX_CREATION_CHUNKS) fail(ErrorCodes.TOO_LARGE, `more than ${Limits.MAX_CREATION_CHUNKS} chunks`);
  return n;
}

export function parseChunkIndex(v: unknown, c: TwinCreation): number {
  const s = typeof v === 'string' ? v : '';
  const n = /^[1-9][0-9]{0,5}$/.test(s) ? Number(s) : 0;
  if (n < 1 || n > c.totalChunks) fail(ErrorCodes.VALIDATION_FAILED, `index must be 1..${c.totalChunks}`);
  return n;
}
