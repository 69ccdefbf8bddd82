import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { IntegrityError } from './errors.js';
import { concat, random, utf8 } from './codec.js';
import { x25519 } from './curves.js';

/**
 * Data-key wrapping to a party's X25519 key: an ECIES construction (X25519 + HKDF-SHA256 +
 * XChaCha20-Poly1305), the same shape as HPKE base mode (RFC 9180) with a fixed suite.
 * Wrapped form: ephemeralPublic(32) || nonce(24) || sealed key(32) || tag(16) = 104 bytes.
 * The context (object id and MSP id) is bound as HKDF info and as AEAD data, so a wrapped
 * key cannot be moved to another object or another party's slot.
 */
export interface EncryptionKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

export const WRAPPED_KEY_LENGTH = 104;

export function generateEncryptionKeyPair(): EncryptionKeyPair {
  const privateKey = x25519.randomSecret();
  return { privateKey, publicKey: x25519.publicKey(privateKey) };
}

export function encryptionPublicKeyOf(privateKey: Uint8Array): Uint8Array {
  return x25519.publicKey(privateKey);
}

function kek(shared: Uint8Array, ephPub: Uint8Array, recipientPub: Uint8Array, context: Uint8Array): Uint8Array {
  return hkdf(nobleSha256, shared, concat(ephPub, recipientPub), concat(utf8('twinledger/wrap/v1'), context), 32);
}

export function wrapKey(dataKey: Uint8Array, recipientPublicKey: Uint8Array, context: string): Uint8Array {
  const { publicKey: ephPub, shared } = x25519.ephemeralAgreement(recipientPublicKey);
  const ctx = utf8(context);
  const nonce = random(24);
  const sealed = xchacha20poly1305(kek(shared, ephPub, recipientPublicKey, ctx), nonce, ctx).encrypt(dataKey);
  return concat(ephPub, nonce, sealed);
}

export function unwrapKey(wrapped: Uint8Array, recipient: EncryptionKeyPair, context: string): Uint8Array {
  if (wrapped.byteLength !== WRAPPED_KEY_LENGTH) throw new IntegrityError('wrapped key has the wrong length');
  const ephPub = wrapped.subarray(0, 32);
  const ctx = utf8(context);
  try {
    const shared = x25519.sharedSecret(recipient.privateKey, ephPub);
    return xchacha20poly1305(kek(shared, ephPub, recipient.publicKey, ctx), wrapped.subarray(32, 56), ctx).decrypt(
      wrapped.subarray(56),
    );
  } catch (cause) {
    throw new IntegrityError('wrapped key does not open', { cause });
  }
}
