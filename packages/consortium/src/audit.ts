import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/** What the auditor keeps: the two exports of spec-service plus the document's bytes from the DHT. */
export interface AuditBundle {
  readonly twinId: string;
  readonly exportedAt: string;
  /** spec-service `GET /twins/:id/audit-export?document=<hash>`. */
  readonly documentExport: Record<string, unknown>;
  /** spec-service `GET /twins/:id/audit-export` (the specification now). */
  readonly specificationExport: Record<string, unknown>;
  /** The document as the auditor's own DHT node returned it for the on-chain dhtRef, base64. */
  readonly documentContentBase64: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  /** Each check with its outcome; a failed one says what differed. */
  readonly checks: readonly { readonly check: string; readonly ok: boolean; readonly detail: string }[];
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export function writeAuditBundle(file: string, bundle: AuditBundle): void {
  writeFileSync(file, JSON.stringify(bundle, null, 2));
}

/**
 * Verifies a bundle from its file alone, recomputing every hash itself rather than trusting
 * any service's claim: the document bytes hash to the hash recorded on chain (the document
 * record in the export), the AML in the specification export hashes to the hash stated beside
 * it, every listed transaction carries the block it was committed in, and the document's
 * recording transaction is among them.
 */
export function verifyAuditBundle(file: string): AuditVerification {
  const b = JSON.parse(readFileSync(file, 'utf8')) as AuditBundle;
  const checks: { check: string; ok: boolean; detail: string }[] = [];
  const add = (check: string, ok: boolean, detail: string): void => void checks.push({ check, ok, detail });

  const doc = b.documentExport['document'] as { hash?: string; dhtRef?: string; txId?: string } | null | undefined;
  const content = Buffer.from(b.documentContentBase64, 'base64');
  const contentHash = sha256(content);
  add('document bytes hash to the on-chain document hash', doc?.hash === contentHash, `sha256(bytes)=${contentHash} on-chain=${doc?.hash}`);
  const docTxs = (b.documentExport['transactions'] ?? []) as { txId: string; blockNumber: number | null }[];
  add('document recorded by a listed transaction', docTxs.some((t) => t.txId === doc?.txId), `txId=${doc?.txId}`);
  add('every document transaction has its block', docTxs.length > 0 && docTxs.every((t) => Number.isInteger(t.blockNumber)), docTxs.map((t) => `${t.txId.slice(0, 12)}@${t.blockNumber}`).join(' '));

  const spec = b.specificationExport['specification'] as { sha256?: string; aml?: string; bytes?: number } | undefined;
  const specHash = sha256(spec?.aml ?? '');
  add('specification AML hashes to the stated spec hash', spec?.sha256 === specHash, `sha256(aml)=${specHash} stated=${spec?.sha256}`);
  add('specification byte count matches', Buffer.byteLength(spec?.aml ?? '', 'utf8') === spec?.bytes, `${spec?.bytes} bytes`);
  const specTxs = (b.specificationExport['transactions'] ?? []) as { txId: string; blockNumber: number | null }[];
  add('every specification change has its block', specTxs.length > 0 && specTxs.every((t) => Number.isInteger(t.blockNumber)), `${specTxs.length} transactions`);
  const twin = b.specificationExport['twin'] as { txId?: string } | undefined;
  add('twin creation is the first listed change', specTxs[0]?.txId === twin?.txId, `createTwin tx ${twin?.txId}`);
  return { ok: checks.every((c) => c.ok), checks };
}
