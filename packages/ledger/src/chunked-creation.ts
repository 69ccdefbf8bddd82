import { CommitOutcomeUnknownError, GatewayUnavailableError, MvccConflictError } from '@twinledger/fabric-client';
import { ChaincodeRejectedError } from './chaincode-errors.js';
import { AmlTooLargeError, readAmlDocument, readSpecification, splitAmlDocument, type AmlChunk, type AmlSplit } from '@twinledger/aml';
import { ChaincodeErrorCodes } from './constants.js';
import type { Committed, CreateTwinOptions, CreateTwinResult, Twin, TwinCreationStatus } from './types.js';

/*
 * createTwin for documents too large for one transaction (ADR-14): the document is split
 * (`splitAmlDocument`), a creation begun with the skeleton, the chunks staged (several in
 * flight; a chunk waits only for the one that creates its parent), and the twin sealed. No
 * reader sees the twin before the seal. A chunk that fails for a passing reason (read
 * conflict, peer unavailable, outcome unknown) is sent again: staging a chunk twice with the
 * same content is answered from the ledger. Any other failure aborts the creation, so the twin
 * ID is free again, and is thrown.
 */

export const DEFAULT_CHUNK_THRESHOLD_BYTES = 128 * 1024;
const DEFAULT_ATTEMPTS = 8;
const DEFAULT_CONCURRENCY = 4;

/** The chaincode calls chunked creation needs (the TwinLedger's own, bound to one identity). */
export interface CreationCalls {
  createTwin(deviceId: string, deviceName: string, aml: string, grants: string): Promise<Committed<CreateTwinResult>>;
  begin(deviceId: string, deviceName: string, skeleton: string, grants: string, totalChunks: number, digest: string): Promise<Committed<{ creationId: string }>>;
  append(twinId: string, creationId: string, index: number, parentId: string, aml: string): Promise<unknown>;
  seal(twinId: string, creationId: string): Promise<Committed<CreateTwinResult>>;
  abort(twinId: string, creationId: string): Promise<Committed<{ remainingChunks: number }>>;
  status(twinId: string): Promise<TwinCreationStatus>;
  twin(twinId: string): Promise<Twin>;
}

/** The seal counts InstanceHierarchies with the elements, as createTwin does. */
function countHierarchies(skeleton: string): number {
  return readSpecification(skeleton).children.filter((c) => c.name === 'InstanceHierarchy').length;
}

/** Worth sending again: nothing was decided, or a conflict the next attempt reads past. */
function transient(err: unknown): boolean {
  return err instanceof MvccConflictError || err instanceof GatewayUnavailableError || err instanceof CommitOutcomeUnknownError;
}

const refused = (err: unknown, code: string): boolean => err instanceof ChaincodeRejectedError && err.code === code;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * How long to wait before sending again: what the error asks (an unavailable peer's
 * Retry-After), else growing from 250 ms; at most 5 s. A peer that its health probes find slow
 * under the load of a large creation answers PEER_UNAVAILABLE at once, so retries without a
 * pause would all fail within milliseconds.
 */
function backoffMs(err: unknown, attempt: number): number {
  const asked = err instanceof GatewayUnavailableError ? err.retryAfterSeconds : undefined;
  return Math.min(5_000, asked !== undefined ? asked * 1000 : 250 * 2 ** (attempt - 1));
}

async function retrying<T>(attempts: number, call: () => Promise<T>, settled?: (err: unknown) => Promise<T | undefined>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await call();
    } catch (err) {
      // After an unknown outcome the first attempt may have committed: ask before failing.
      const known = i > 1 && settled ? await settled(err) : undefined;
      if (known !== undefined) return known;
      if (!transient(err) || i >= attempts) throw err;
      await sleep(backoffMs(err, i));
    }
  }
}

export async function createTwinInChunks(calls: CreationCalls, deviceId: string, deviceName: string, aml: string, grants: string, options: CreateTwinOptions = {}): Promise<Committed<CreateTwinResult>> {
  let split: AmlSplit;
  try {
    split = splitAmlDocument(aml, { maxChunkBytes: options.chunkBytes });
  } catch (err) {
    if (!(err instanceof AmlTooLargeError)) throw err;
    // Over the document limits: refused here as the ledger would. Within them, one element too
    // large for any chunk (its own content above the fragment limit): the one-transaction
    // path, which took such documents before chunked creation existed.
    readAmlDocument(aml);
    return calls.createTwin(deviceId, deviceName, aml, grants);
  }
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);

  // A begin whose outcome was unknown and that committed: the creation is ours if it is for this document.
  const begun = await retrying(
    attempts,
    async () => (await calls.begin(deviceId, deviceName, split.skeleton, grants, split.chunks.length, split.digest)).result.creationId,
    async (err) => {
      if (!refused(err, ChaincodeErrorCodes.ALREADY_EXISTS)) return undefined;
      const s = await calls.status(deviceId).catch(() => undefined);
      return s && s.digest === split.digest && s.status === 'OPEN' ? s.creationId : undefined;
    },
  );
  try {
    await stageAll(split.chunks, concurrency, (c) => retrying(attempts, () => calls.append(deviceId, begun, c.index, c.parentId, c.aml)));
    return await retrying(
      attempts,
      () => calls.seal(deviceId, begun),
      async (err) => (refused(err, ChaincodeErrorCodes.NOT_FOUND) ? sealedResult(calls, deviceId, split.elementCount + countHierarchies(split.skeleton)) : undefined),
    );
  } catch (err) {
    await abortQuietly(calls, deviceId, begun, attempts);
    throw err;
  }
}

/**
 * A seal whose answer was lost and whose retry found no creation: if the twin exists, the first
 * attempt sealed it; report it from the twin (its program list is not known here: empty).
 */
async function sealedResult(calls: CreationCalls, twinId: string, elements: number): Promise<Committed<CreateTwinResult> | undefined> {
  const t = await calls.twin(twinId).catch(() => undefined);
  if (!t) return undefined;
  return { result: { twinId, deviceId: t.deviceId, deviceName: t.deviceName, schemaVersion: t.schemaVersion, elements, programs: [], txId: t.txId }, transactionId: t.txId, blockNumber: 0n };
}

/** Runs each chunk once the chunk it depends on is staged, `concurrency` at a time. */
async function stageAll(chunks: readonly AmlChunk[], concurrency: number, stage: (c: AmlChunk) => Promise<unknown>): Promise<void> {
  const done = new Map<number, Promise<void>>([[0, Promise.resolve()]]);
  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async (): Promise<void> => {
    if (running < concurrency) {
      running++;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  let failed: unknown;
  for (const c of chunks) {
    const p = (async () => {
      await done.get(c.after);
      await slot();
      try {
        if (failed === undefined) await stage(c);
      } catch (err) {
        failed ??= err;
        throw err;
      } finally {
        release();
      }
    })();
    // Dependents wait for success; the first failure is reported once, below.
    done.set(c.index, p);
    p.catch(() => undefined);
  }
  await Promise.allSettled(done.values());
  if (failed !== undefined) throw failed;
}

/**
 * Best effort: each call removes up to ABORT_CHUNKS_PER_CALL chunks (MAX_CREATION_CHUNKS / 8
 * calls at most), each call retried like a chunk. If the ledger stays unreachable the creation
 * stays open and its creator aborts it later (getTwinCreation shows it); the original error is
 * what the caller needs to see.
 */
async function abortQuietly(calls: CreationCalls, twinId: string, creationId: string, attempts: number): Promise<void> {
  try {
    for (let i = 0; i < 1024; i++) {
      const r = await retrying(attempts, () => calls.abort(twinId, creationId));
      if (r.result.remainingChunks === 0) return;
    }
  } catch {
    // left open: see above
  }
}
