import { describe, expect, it } from '@jest/globals';
import { benchmarkAead, IntegrityError } from '@twinledger/dht';
import { aeadFor, CIPHER_NAMES } from '../src/aead.js';
import { random } from '../src/codec.js';

describe('chunk AEADs', () => {
  it.each(CIPHER_NAMES)('%s seals, opens, and rejects tampering or a wrong chunk index', (name) => {
    const aead = aeadFor(name);
    const key = random(32);
    const data = random(5000);
    const aad = new TextEncoder().encode('twinledger/chunk/v1:0');
    const sealed = aead.seal(key, data, aad);
    expect(Buffer.from(aead.open(key, sealed, aad)).equals(Buffer.from(data))).toBe(true);
    const bad = sealed.slice();
    bad[40] = (bad[40] as number) ^ 1;
    expect(() => aead.open(key, bad, aad)).toThrow(IntegrityError);
    expect(() => aead.open(key, sealed, new TextEncoder().encode('twinledger/chunk/v1:1'))).toThrow(IntegrityError);
  });

  it.each(CIPHER_NAMES)('%s seals into pieces (nonce first) whose bytes in order are a chunk that opens', (name) => {
    const aead = aeadFor(name);
    const key = random(32);
    const data = random(70_000);
    const aad = new TextEncoder().encode('twinledger/chunk/v1:3');
    const pieces = aead.sealPieces(key, data, aad);
    expect(pieces[0]?.byteLength).toBe(aead.nonceLength);
    const joined = Buffer.concat(pieces);
    expect(joined.byteLength).toBe(aead.nonceLength + data.byteLength + 16);
    expect(Buffer.from(aead.open(key, joined, aad)).equals(Buffer.from(data))).toBe(true);
    expect(() => aead.open(key, joined, new TextEncoder().encode('twinledger/chunk/v1:4'))).toThrow(IntegrityError);
  });

  it('benchmarks both ciphers', () => {
    const results = benchmarkAead({ size: 256 * 1024, iterations: 2 });
    expect(results.map((r) => r.cipher).sort()).toEqual(['aes-256-gcm', 'xchacha20-poly1305']);
    for (const r of results) expect(r.sealMiBps).toBeGreaterThan(0);
  });
});
