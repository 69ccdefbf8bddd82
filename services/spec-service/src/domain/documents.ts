import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { documentReaders, docRead, docWrite, type ConfidentialityLevel, type DocumentHistory, type TwinLedger } from '@twinledger/ledger';
import { AccessDeniedError, NotFoundError, ValidationError } from '@twinledger/errors';
import type { DhtClient, StoredObject } from '@twinledger/dht-client';
import type { Counter } from '@twinledger/observability';
import { DocumentIntegrityError, DocumentTooLargeError } from './errors.js';

export interface UploadContext {
  readonly ledger: TwinLedger;
  /** Calls carry the service's own credential (set on the client), never the uploader's token. */
  readonly dht: DhtClient;
  readonly maxBytes: number;
  readonly log: FastifyBaseLogger;
  readonly orphans: Counter;
}

/** The caller must hold `permission` before anything is stored: a refusal leaves nothing behind. */
export async function requirePermission(ledger: TwinLedger, twinId: string, permission: ReturnType<typeof docWrite>): Promise<void> {
  const answer = await ledger.checkAccess(twinId, permission);
  if (!answer.allowed) throw new AccessDeniedError(`${permission} is not granted to the caller on twin ${twinId}`, { details: { twinId, permission } });
}

/**
 * Streams the body to the DHT (the gateway encrypts, chunks and replicates it) while hashing
 * it, and checks the gateway hashed the same bytes. Nothing is collected in memory.
 */
export async function storeInDht(ctx: UploadContext, twinId: string, level: ConfidentialityLevel, body: Readable): Promise<StoredObject> {
  const [grants, parties] = await Promise.all([ctx.ledger.listGrants(twinId), ctx.ledger.listParties()]);
  const acl = documentReaders(grants, level, parties, ctx.ledger.mspId);
  const hash = createHash('sha256');
  let size = 0;
  let tooLarge = false;
  const limit = ctx.maxBytes;
  async function* counted(): AsyncIterable<Uint8Array> {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        body.destroy();
        throw new DocumentTooLargeError(`document larger than ${limit} bytes`, { details: { limit } });
      }
      hash.update(chunk);
      yield chunk;
    }
  }
  let stored: StoredObject;
  try {
    stored = await ctx.dht.putObject(counted(), { acl });
  } catch (err) {
    if (tooLarge) throw new DocumentTooLargeError(`document larger than ${limit} bytes`, { details: { limit } });
    throw err;
  }
  const digest = hash.digest('hex');
  if (stored.sha256 !== digest || stored.size !== size) {
    await reportOrphan(ctx, stored.ref, 'the DHT stored different bytes than were uploaded');
    throw new DocumentIntegrityError('the DHT gateway stored different bytes than were uploaded', { details: { uploaded: digest, stored: stored.sha256 } });
  }
  if (size === 0) {
    await reportOrphan(ctx, stored.ref, 'empty document');
    throw new ValidationError('the document is empty');
  }
  return stored;
}

/**
 * A DHT object whose ledger transaction failed is referenced by nothing. The DHT has no
 * delete, so it is reported (warning log with the reference, metric) and its ACL narrowed to
 * this organization, so no other party can ever read it. The gateway lets a storing service do
 * this one ACL change (to its own org alone); every other change is the key manager's.
 */
export async function reportOrphan(ctx: UploadContext, ref: string, reason: string): Promise<void> {
  ctx.orphans.inc();
  ctx.log.warn({ orphanedDhtRef: ref, reason }, 'DHT object not referenced by the ledger');
  await ctx.dht.updateAcl(ref, [ctx.ledger.mspId]).catch((err: unknown) => {
    ctx.log.warn({ err, orphanedDhtRef: ref }, 'could not narrow the ACL of an orphaned DHT object');
  });
}

/** Records the ledger write; if it fails, the stored object is reported as an orphan. */
export async function recordOrOrphan<T>(ctx: UploadContext, twinId: string, stored: StoredObject, record: () => Promise<T>): Promise<T> {
  try {
    return await record();
  } catch (err) {
    // Should the gateway ever deduplicate identical content into an existing object, that
    // object is referenced already and must keep its readers.
    const known = await ctx.ledger.getDocumentHistoryPage(twinId, stored.sha256, { limit: 1 }).catch(() => undefined);
    const referenced = known !== undefined && (known.document?.dhtRef === stored.ref || known.versions.some((v) => v.dhtRef === stored.ref));
    if (!referenced) await reportOrphan(ctx, stored.ref, `ledger write failed: ${(err as { code?: string }).code ?? 'error'}`);
    throw err;
  }
}

/** Picks the version (1 = original; default latest) and its on-chain hash and reference. */
export function pickVersion(h: DocumentHistory, version?: number): { version: number; hash: string; dhtRef: string } {
  if (!h.document || h.removed) throw new NotFoundDocumentError(`document ${h.hash} was removed`, { details: { hash: h.hash } });
  const all = [{ version: 1, hash: h.document.hash, dhtRef: h.document.dhtRef }, ...h.versions.filter((v) => v.version > 1).map((v) => ({ version: v.version, hash: v.hash, dhtRef: v.dhtRef }))];
  const pick = version === undefined ? all.reduce((a, b) => (b.version > a.version ? b : a)) : all.find((v) => v.version === version);
  if (!pick) throw new NotFoundDocumentError(`document ${h.hash} has no version ${version}`, { details: { hash: h.hash, version } });
  return pick;
}

/**
 * Opens the object the ledger references, or its current manifest. Granting a reader later
 * (acl-service's key sync) writes a new manifest carrying the reader's wrapped key, and the
 * object's ACL record points at it (`head`); the ledger keeps the original reference. A reader
 * added after the upload therefore finds no key in the original manifest and reads the head,
 * which holds the same plaintext (the ledger's hash still verifies it).
 */
async function openCurrent(dht: DhtClient, ref: string): Promise<Awaited<ReturnType<DhtClient['getObjectStream']>>> {
  try {
    return await dht.getObjectStream(ref);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'DHT_NO_KEY_FOR_PARTY') throw err;
    const acl = await dht.getAcl(ref);
    if (acl.head === undefined || acl.head === ref) throw err;
    return dht.getObjectStream(acl.head);
  }
}

/** The document was removed, or has no such version. */
export class NotFoundDocumentError extends NotFoundError {}

/**
 * Fetches from the DHT, verifies against the on-chain hash and returns the plaintext. The
 * whole object is verified before a byte is served, so a mismatch serves nothing. Callers ask
 * the ledger for the reader's permission first: this function authorizes nothing.
 */
export async function fetchVerified(dht: DhtClient, ref: string, expectedSha256: string, maxBytes: number): Promise<Uint8Array> {
  const stream = await openCurrent(dht, ref);
  if (stream.sha256 !== expectedSha256) {
    throw new DocumentIntegrityError('the DHT object does not match the hash recorded on the ledger', { details: { expected: expectedSha256, manifest: stream.sha256 } });
  }
  if (stream.size > maxBytes) throw new DocumentTooLargeError(`document larger than ${maxBytes} bytes`, { details: { limit: maxBytes } });
  const parts: Uint8Array[] = [];
  const h = createHash('sha256');
  for await (const p of stream.body) {
    h.update(p);
    parts.push(p);
  }
  const got = h.digest('hex');
  if (got !== expectedSha256) {
    throw new DocumentIntegrityError('the DHT object does not match the hash recorded on the ledger', { details: { expected: expectedSha256, received: got } });
  }
  return Buffer.concat(parts);
}

export { docRead, docWrite };
