import { ed25519 } from './curves.js';
import { canonicalBytes, concat, fromHex, toHex, utf8, type Hex } from './codec.js';

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

function signedBytes(domain: Domain, body: Record<string, unknown>): Uint8Array {
  const { sig: _omit, ...rest } = body;
  return concat(utf8(`twinledger/${domain}/v1\n`), canonicalBytes(rest));
}

export function signRecord<T extends Record<string, unknown>>(domain: Domain, key: SigningKey, body: T): T & { sig: Hex } {
  return { ...body, sig: toHex(key.sign(signedBytes(domain, body))) };
}

export function verifyRecord(domain: Domain, publicKey: Hex, body: Record<string, unknown> & { sig: Hex }): boolean {
  try {
    return ed25519.verify(fromHex(body.sig), signedBytes(domain, body), fromHex(publicKey));
  } catch {
    return false; // malformed hex
  }
}
