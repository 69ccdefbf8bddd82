import { describe, expect, it } from '@jest/globals';
import { ed25519 as nobleEd, x25519 as nobleX } from '@noble/curves/ed25519.js';
import { ed25519, x25519 } from '../src/curves.js';
import { generateEncryptionKeyPair, unwrapKey, wrapKey } from '../src/key-wrap.js';

/**
 * The curve operations moved from @noble/curves to node:crypto for speed: the bytes must not
 * change, or records and wrapped keys stored by earlier versions would stop verifying/opening.
 */
describe('curves on node:crypto match @noble/curves', () => {
  it('Ed25519: same public key and same (deterministic) signature; each verifies the other', () => {
    for (let i = 0; i < 20; i++) {
      const secret = nobleEd.utils.randomSecretKey();
      const msg = new Uint8Array(Array.from({ length: 50 + i * 13 }, (_, k) => (k * 7 + i) & 0xff));
      const signer = ed25519.signer(secret);
      expect(Buffer.from(signer.publicKey).toString('hex')).toBe(Buffer.from(nobleEd.getPublicKey(secret)).toString('hex'));
      const sig = signer.sign(msg);
      expect(Buffer.from(sig).toString('hex')).toBe(Buffer.from(nobleEd.sign(msg, secret)).toString('hex'));
      expect(nobleEd.verify(sig, msg, signer.publicKey)).toBe(true);
      expect(ed25519.verify(nobleEd.sign(msg, secret), msg, signer.publicKey)).toBe(true);
    }
  });

  it('Ed25519 verify refuses a changed message, a changed signature and malformed keys without throwing', () => {
    const secret = ed25519.randomSecret();
    const s = ed25519.signer(secret);
    const msg = new TextEncoder().encode('twinledger');
    const sig = s.sign(msg);
    expect(ed25519.verify(sig, new TextEncoder().encode('twinledgex'), s.publicKey)).toBe(false);
    const bad = sig.slice();
    bad[10] ^= 1;
    expect(ed25519.verify(bad, msg, s.publicKey)).toBe(false);
    expect(ed25519.verify(sig.subarray(0, 63), msg, s.publicKey)).toBe(false);
    expect(ed25519.verify(sig, msg, new Uint8Array(31))).toBe(false);
  });

  it('X25519: same public key and shared secret as noble; a key wrapped here opens with noble’s agreement and back', () => {
    for (let i = 0; i < 10; i++) {
      const a = nobleX.utils.randomSecretKey();
      const b = nobleX.utils.randomSecretKey();
      expect(Buffer.from(x25519.publicKey(a)).toString('hex')).toBe(Buffer.from(nobleX.getPublicKey(a)).toString('hex'));
      expect(Buffer.from(x25519.sharedSecret(a, nobleX.getPublicKey(b))).toString('hex')).toBe(Buffer.from(nobleX.getSharedSecret(b, nobleX.getPublicKey(a))).toString('hex'));
      const eph = x25519.ephemeralAgreement(nobleX.getPublicKey(b));
      expect(Buffer.from(eph.shared).toString('hex')).toBe(Buffer.from(nobleX.getSharedSecret(b, eph.publicKey)).toString('hex'));
    }
    const party = generateEncryptionKeyPair();
    const dataKey = new Uint8Array(32).fill(9);
    expect(unwrapKey(wrapKey(dataKey, party.publicKey, 'obj/Org1MSP'), party, 'obj/Org1MSP')).toEqual(dataKey);
    expect(() => unwrapKey(wrapKey(dataKey, party.publicKey, 'obj/Org1MSP'), party, 'obj/Org2MSP')).toThrow(/does not open/);
  });

  it('X25519 refuses a low-order peer key (all-zero shared secret)', () => {
    expect(() => x25519.sharedSecret(x25519.randomSecret(), new Uint8Array(32))).toThrow();
  });
});
