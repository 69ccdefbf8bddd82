import { canonicalJson, fromHex, isHash, isHexOfLength, isRecord, isSafeInt, sha256, toHex, utf8, type Hex } from './codec.js';
import { InvalidSignatureError, MalformedMessageError } from './errors.js';
import { signRecord, verifyRecord, type SigningKey } from './signing.js';

/**
 * The access-control list of one object (a document with its versions, or a feed with its
 * segments), signed by the object's owner. Storing nodes keep the highest version they have
 * seen and never replace it with a lower one. `objectId = H(tag || owner || nonce)`, so the
 * first record binds the object to its owner's key and nobody else can sign for it.
 */
export interface AclRecord {
  readonly objectId: Hex;
  /** Owner's Ed25519 public key, hex. */
  readonly owner: Hex;
  /** 16 random bytes, hex, chosen at creation. */
  readonly nonce: Hex;
  /** Monotonic, starting at 1. */
  readonly version: number;
  /** MSP ids allowed to read, sorted, unique. */
  readonly parties: readonly string[];
  /** Current manifest (object reference) for documents; absent for feeds. */
  readonly head?: Hex;
  readonly sig: Hex;
}

export const MSP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MAX_PARTIES = 64;

export function objectIdOf(owner: Hex, nonce: Hex): Hex {
  return toHex(sha256(utf8('twinledger/object/v1'), fromHex(owner), fromHex(nonce)));
}

export function normalizeParties(parties: readonly string[]): string[] {
  for (const p of parties) if (typeof p !== 'string' || !MSP_ID.test(p)) throw new MalformedMessageError('invalid MSP id in ACL', { details: { mspId: String(p) } });
  const out = [...new Set(parties)].sort();
  if (out.length === 0 || out.length > MAX_PARTIES) throw new MalformedMessageError('an ACL names 1 to 64 parties', { details: { count: out.length } });
  return out;
}

export function signAclRecord(
  key: SigningKey,
  body: { nonce: Hex; version: number; parties: readonly string[]; head?: Hex },
): AclRecord {
  const unsigned: Record<string, unknown> = {
    objectId: objectIdOf(key.publicKey, body.nonce),
    owner: key.publicKey,
    nonce: body.nonce,
    version: body.version,
    parties: normalizeParties(body.parties),
  };
  if (body.head !== undefined) unsigned['head'] = body.head;
  return signRecord('acl', key, unsigned) as unknown as AclRecord;
}

/**
 * Records whose signature already verified, by their canonical JSON (signature included): a
 * pure Ed25519 verify costs ~1 ms in JS and put-chunk/get-blob would otherwise pay it per chunk.
 */
const VERIFIED_CACHE = 4096;
const verified = new Set<string>();

/** Validates shape, the objectId binding and the owner's signature; throws a coded error. */
export function parseAclRecord(v: unknown): AclRecord {
  if (
    !isRecord(v) ||
    !isHash(v['objectId']) ||
    !isHexOfLength(v['owner'], 32) ||
    !isHexOfLength(v['nonce'], 16) ||
    !isSafeInt(v['version'], 1) ||
    !Array.isArray(v['parties']) ||
    !isHexOfLength(v['sig'], 64) ||
    (v['head'] !== undefined && !isHash(v['head'])) ||
    Object.keys(v).some((k) => !['objectId', 'owner', 'nonce', 'version', 'parties', 'head', 'sig'].includes(k))
  ) {
    throw new MalformedMessageError('malformed ACL record');
  }
  const parties = normalizeParties(v['parties'] as string[]);
  if (parties.join('\n') !== (v['parties'] as string[]).join('\n')) throw new MalformedMessageError('ACL parties must be sorted and unique');
  const rec = v as unknown as AclRecord;
  // Every chunk of an object travels with the same record: verify its exact bytes once.
  const canonical = canonicalJson(rec);
  if (verified.has(canonical)) return rec;
  if (objectIdOf(rec.owner, rec.nonce) !== rec.objectId) throw new InvalidSignatureError('objectId is not bound to the owner key');
  if (!verifyRecord('acl', rec.owner, rec as unknown as Record<string, unknown> & { sig: Hex })) {
    throw new InvalidSignatureError('ACL record signature does not verify', { details: { objectId: rec.objectId } });
  }
  verified.add(canonical);
  // Bounded: oldest first out (a Set iterates in insertion order).
  if (verified.size > VERIFIED_CACHE) verified.delete(verified.values().next().value as string);
  return rec;
}
