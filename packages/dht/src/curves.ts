import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Ed25519 and X25519 on Node's OpenSSL instead of @noble/curves. Same algorithms, same bytes:
 * Ed25519 signatures are deterministic (RFC 8032), so a key signs exactly what noble signed,
 * and records stored by earlier versions still verify (a test checks both against noble).
 * Why: every DHT write carries signed records that each replica verifies (ACL record, locator,
 * feed update, head) and every object wraps its key per party. Measured on this machine,
 * noble took ~0.9 ms per sign, ~1.3 ms per verify and ~1 ms per X25519; OpenSSL ~0.04, ~0.1
 * and ~0.05 ms. At tens of appends per second over three replicas that was a whole core.
 * OpenSSL verifies strictly (RFC 8032: canonical encodings only); every signer here is this
 * code, so no honest record is refused by that.
 */

const b64url = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

/** PKCS#8 prefixes of a raw 32-byte Ed25519 / X25519 secret (RFC 8410); JWK import needs the public half. */
const PKCS8_PREFIX = {
  Ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
  X25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
};

function privateKeyObject(crv: 'Ed25519' | 'X25519', secret: Uint8Array): KeyObject {
  if (secret.byteLength !== 32) throw new RangeError(`${crv} secret must be 32 bytes`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX[crv], secret]), format: 'der', type: 'pkcs8' });
}

function rawPublic(key: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url'));
}

function publicOf(crv: 'Ed25519' | 'X25519', secret: Uint8Array): Uint8Array {
  return rawPublic(privateKeyObject(crv, secret));
}

/**
 * Public keys verified against, as KeyObjects: a handful of owners sign nearly everything, and
 * importing a key costs more than verifying with it.
 */
const publicKeys = new Map<string, KeyObject>();
function publicKeyObject(crv: 'Ed25519' | 'X25519', raw: Uint8Array): KeyObject {
  const id = `${crv}:${b64url(raw)}`;
  let k = publicKeys.get(id);
  if (k === undefined) {
    if (raw.byteLength !== 32) throw new RangeError(`${crv} public key must be 32 bytes`);
    if (publicKeys.size >= 4096) publicKeys.clear();
    k = createPublicKey({ key: { kty: 'OKP', crv, x: b64url(raw) }, format: 'jwk' });
    publicKeys.set(id, k);
  }
  return k;
}

export const ed25519 = {
  randomSecret: (): Uint8Array => new Uint8Array(randomBytes(32)),
  publicKey: (secret: Uint8Array): Uint8Array => publicOf('Ed25519', secret),
  /** A signer for one secret (the key is imported once). */
  signer(secret: Uint8Array): { publicKey: Uint8Array; sign(message: Uint8Array): Uint8Array } {
    const key = privateKeyObject('Ed25519', secret);
    const publicKey = rawPublic(key);
    return { publicKey, sign: (m) => new Uint8Array(sign(null, m, key)) };
  },
  /** False for a bad signature or a malformed key or signature, never throws. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    try {
      return signature.byteLength === 64 && verify(null, message, publicKeyObject('Ed25519', publicKey), signature);
    } catch {
      return false;
    }
  },
};

export const x25519 = {
  randomSecret: (): Uint8Array => new Uint8Array(randomBytes(32)),
  publicKey: (secret: Uint8Array): Uint8Array => publicOf('X25519', secret),
  /** Throws on a low-order peer key (all-zero shared secret), as RFC 7748 section 6.1 allows. */
  sharedSecret(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array {
    return new Uint8Array(diffieHellman({ privateKey: privateKeyObject('X25519', secret), publicKey: publicKeyObject('X25519', peerPublic) }));
  },
  /** An ephemeral pair and its shared secret with `peerPublic` (one key generation, no import). */
  ephemeralAgreement(peerPublic: Uint8Array): { publicKey: Uint8Array; shared: Uint8Array } {
    const { privateKey: priv, publicKey: pub } = generateKeyPairSync('x25519');
    const publicKey = new Uint8Array(Buffer.from(pub.export({ format: 'jwk' }).x!, 'base64url'));
    return { publicKey, shared: new Uint8Array(diffieHellman({ privateKey: priv, publicKey: publicKeyObject('X25519', peerPublic) })) };
  },
};
