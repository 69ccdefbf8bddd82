import { CIPHER_NAMES, type CipherName } from './aead.js';
import { canonicalBytes, fromUtf8, isHash, isRecord, isSafeInt, sha256, toHex, type Hex } from './codec.js';
import { MSP_ID } from './acl-record.js';
import { IntegrityError, MalformedMessageError } from './errors.js';

/**
 * The manifest of one object version: the chunk list (ciphertext hashes), the plaintext hash,
 * the encryption header, the ACL and the data key wrapped for each party in it. Stored as
 * canonical JSON; the object's reference is the SHA-256 of those bytes.
 */
export interface ChunkEntry {
  /** SHA-256 of the chunk ciphertext (nonce || ciphertext || tag), hex. */
  readonly hash: Hex;
  /** Ciphertext length in bytes. */
  readonly size: number;
}

export interface Manifest {
  readonly v: 1;
  readonly objectId: Hex;
  /** The ACL version this manifest was written under. */
  readonly aclVersion: number;
  readonly cipher: CipherName;
  /** Plaintext bytes per chunk (the last may be shorter). */
  readonly chunkSize: number;
  /** Plaintext length. */
  readonly size: number;
  /** SHA-256 of the plaintext, hex. */
  readonly plaintextHash: Hex;
  readonly chunks: readonly ChunkEntry[];
  /** MSP ids that hold a wrapped key, sorted. */
  readonly acl: readonly string[];
  /** MSP id -> wrapped data key (base64, see key-wrap.ts). */
  readonly keys: Readonly<Record<string, string>>;
}

export const MAX_MANIFEST_BYTES = 1024 * 1024;
export const MAX_CHUNK_SIZE = 1024 * 1024;

export function encodeManifest(m: Manifest): { bytes: Uint8Array; ref: Hex } {
  const bytes = canonicalBytes(m);
  return { bytes, ref: toHex(sha256(bytes)) };
}

export function chunkAad(index: number): Uint8Array {
  return new TextEncoder().encode(`twinledger/chunk/v1:${index}`);
}

export function keyContext(objectId: Hex, mspId: string): string {
  return `${objectId}:${mspId}`;
}

/** Verifies the bytes hash to `ref` (when given) and the manifest's shape. */
export function decodeManifest(bytes: Uint8Array, ref?: Hex): Manifest {
  if (ref !== undefined && toHex(sha256(bytes)) !== ref) throw new IntegrityError('manifest does not match its reference', { details: { ref } });
  let v: unknown;
  try {
    v = JSON.parse(fromUtf8(bytes));
  } catch (cause) {
    throw new MalformedMessageError('manifest is not JSON', { cause });
  }
  const ok =
    isRecord(v) &&
    v['v'] === 1 &&
    isHash(v['objectId']) &&
    isSafeInt(v['aclVersion'], 1) &&
    CIPHER_NAMES.includes(v['cipher'] as CipherName) &&
    isSafeInt(v['chunkSize'], 1) &&
    (v['chunkSize'] as number) <= MAX_CHUNK_SIZE &&
    isSafeInt(v['size']) &&
    isHash(v['plaintextHash']) &&
    Array.isArray(v['chunks']) &&
    (v['chunks'] as unknown[]).every((c) => isRecord(c) && isHash(c['hash']) && isSafeInt(c['size'], 1)) &&
    Array.isArray(v['acl']) &&
    (v['acl'] as unknown[]).every((p) => typeof p === 'string' && MSP_ID.test(p)) &&
    isRecord(v['keys']) &&
    Object.entries(v['keys']).every(([k, w]) => MSP_ID.test(k) && typeof w === 'string' && w.length < 256);
  if (!ok) throw new MalformedMessageError('malformed manifest');
  const m = v as unknown as Manifest;
  if (Math.ceil(m.size / m.chunkSize) !== m.chunks.length) throw new MalformedMessageError('manifest chunk count does not match its size');
  return m;
}
