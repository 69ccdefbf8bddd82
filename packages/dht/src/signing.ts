import { ed25519 } from './curves.js';
import { canonicalJson, fromHex, isHexOfLength, toHex, utf8, type Hex } from './codec.js';

/**
 * An Ed25519 signing key: an object's owner (ACL records, locators) or a feed's owner (a
 * device key). Signatures cover a domain tag and the canonical JSON of the record without
 * its `sig` field, so a signature for one record type never verifies as another.
 */
export interface SigningKey {
  /** Public key, hex. */
  readonly publicKey: Hex;
  sign(message: Uint8Array): Uint8Array;
}

export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  const signer = ed25519.signer(seed.slice(0, 32));
  return { publicKey: toHex(signer.publicKey), sign: signer.sign };
}

export function generateSigningKey(): { seed: Uint8Array; key: SigningKey } {
  const seed = ed25519.randomSecret();
  return { seed, key: signingKeyFromSeed(seed) };
}

export type Domain = 'acl' | 'locator' | 'feed-update' | 'feed-head';

function signedText(domain: Domain, body: Record<string, unknown>): string {
  const { sig: _omit, ...rest } = body;
  return `twinledger/${domain}/v1\n${canonicalJson(rest)}`;
}

function signedBytes(domain: Domain, body: Record<string, unknown>): Uint8Array {
  return utf8(signedText(domain, body));
}

/**
 * Signatures that verified, as `publicKey || sig || signed text` (fixed-length hex first, so the
 * key is unambiguous; the text carries the domain): the same record is verified again each time a
 * replica receives it, re-reads it from its store or a reader fetches it (a feed append's
 * records, repair pushes, head polls), and in one process with several nodes by each of them.
 * Ed25519 verification was ~2 ms of a feed append's CPU in the one-process bench (issue #25).
 * Only successes are kept; bounded, oldest out.
 */
const VERIFIED_MAX = 4096;
const verified = new Set<string>();

export function signRecord<T extends Record<string, unknown>>(domain: Domain, key: SigningKey, body: T): T & { sig: Hex } {
  return { ...body, sig: toHex(key.sign(signedBytes(domain, body))) };
}

export function verifyRecord(domain: Domain, publicKey: Hex, body: Record<string, unknown> & { sig: Hex }): boolean {
  let text: string;
  try {
    text = signedText(domain, body);
  } catch {
    return false; // not canonicalizable (a non-finite number)
  }
  // Only well-formed keys and signatures are remembered: fixed lengths keep the id unambiguous.
  const id = isHexOfLength(publicKey, 32) && isHexOfLength(body.sig, 64) ? `${publicKey}${body.sig}${text}` : undefined;
  if (id !== undefined && verified.has(id)) return true;
  let ok: boolean;
  try {
    ok = ed25519.verify(fromHex(body.sig), utf8(text), fromHex(publicKey));
  } catch {
    return false; // malformed hex
  }
  if (ok && id !== undefined) {
    verified.add(id);
    if (verified.size > VERIFIED_MAX) verified.delete(verified.values().next().value as string);
  }
  return ok;
}
