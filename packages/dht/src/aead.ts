import { createCipheriv, createDecipheriv } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { IntegrityError } from './errors.js';
import { concat, random } from './codec.js';

/** The AEADs a manifest may name. Chunks are `nonce || ciphertext || tag`. */
export type CipherName = 'aes-256-gcm' | 'xchacha20-poly1305';

export const CIPHER_NAMES: readonly CipherName[] = ['aes-256-gcm', 'xchacha20-poly1305'];

export interface Aead {
  readonly name: CipherName;
  readonly keyLength: number;
  readonly nonceLength: number;
  /** Encrypts with a fresh random nonce; returns nonce || ciphertext || tag. */
  seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /**
   * The same sealed bytes as pieces to be used in order (hashed, sent, written), never joined:
   * joining copies the chunk once more (issue #25).
   */
  sealPieces(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array[];
  /** Reverses seal; throws IntegrityError when the tag does not verify. */
  open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array;
}

const TAG = 16;

const aesGcm: Aead = {
  name: 'aes-256-gcm',
  keyLength: 32,
  nonceLength: 12,
  seal(key, plaintext, aad) {
    return concat(...aesGcm.sealPieces(key, plaintext, aad));
  },
  sealPieces(key, plaintext, aad) {
    const nonce = random(12);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.setAAD(aad);
    const body = c.update(plaintext);
    const fin = c.final();
    // GCM is a stream mode: final() yields nothing.
    return fin.byteLength === 0 ? [nonce, body, c.getAuthTag()] : [nonce, body, fin, c.getAuthTag()];
  },
  open(key, sealed, aad) {
    if (sealed.byteLength < 12 + TAG) throw new IntegrityError('ciphertext too short');
    const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.byteLength - TAG));
    try {
      const body = d.update(sealed.subarray(12, sealed.byteLength - TAG));
      const fin = d.final();
      // GCM is a stream mode: final() yields nothing, and concatenating would copy the chunk.
      return fin.byteLength === 0 ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : concat(body, fin);
    } catch (cause) {
      throw new IntegrityError('AEAD tag does not verify', { cause });
    }
  },
};

const xchacha: Aead = {
  name: 'xchacha20-poly1305',
  keyLength: 32,
  nonceLength: 24,
  seal(key, plaintext, aad) {
    return concat(...xchacha.sealPieces(key, plaintext, aad));
  },
  sealPieces(key, plaintext, aad) {
    const nonce = random(24);
    return [nonce, xchacha20poly1305(key, nonce, aad).encrypt(plaintext)];
  },
  open(key, sealed, aad) {
    if (sealed.byteLength < 24 + TAG) throw new IntegrityError('ciphertext too short');
    try {
      return xchacha20poly1305(key, sealed.subarray(0, 24), aad).decrypt(sealed.subarray(24));
    } catch (cause) {
      throw new IntegrityError('AEAD tag does not verify', { cause });
    }
  },
};

export function aeadFor(name: CipherName): Aead {
  return name === 'aes-256-gcm' ? aesGcm : xchacha;
}
