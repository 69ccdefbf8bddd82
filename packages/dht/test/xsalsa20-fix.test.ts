import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { xsalsa20 as reference } from '@noble/ciphers/salsa.js';
import { installXsalsa20Fix } from '../src/xsalsa20-fix.js';

// The pnet cipher's shared WASM memory must not grow on every switch between instances
// (which crashed nodes with `Memory.grow(): Maximum memory size exceeded`), and the
// keystream must stay exactly XSalsa20 across calls of any size.
const require = createRequire(import.meta.url);
type Xor = { update(input: Uint8Array, output?: Uint8Array): Uint8Array; _xor: { _memory: Uint8Array } };
const xsalsa20 = require('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => Xor;

describe('xsalsa20 fix', () => {
  it('alternating instances with large updates neither crash nor grow without bound, and encrypt correctly', () => {
    expect(installXsalsa20Fix()).toBe(true);
    const key = randomBytes(32);
    const nonces = [randomBytes(24), randomBytes(24)];
    const ciphers = nonces.map((n) => xsalsa20(n, key));
    const inputs: Buffer[][] = [[], []];
    const outputs: Uint8Array[][] = [[], []];
    for (let i = 0; i < 300; i++) {
      const who = i % 2;
      // Sizes not aligned to the 64-byte block, up to 3 MB: what a busy connection hands over.
      const data = randomBytes(i % 10 === 0 ? 3_000_000 + i : 1 + ((i * 7919) % 70_000));
      inputs[who]!.push(data);
      outputs[who]!.push(ciphers[who]!.update(data));
    }
    for (const who of [0, 1]) {
      const expected = reference(key, nonces[who]!, Buffer.concat(inputs[who]!));
      expect(Buffer.concat(outputs[who]!).equals(Buffer.from(expected))).toBe(true);
    }
    // Without the fix this loop throws long before; with it the memory stays near the largest update.
    expect(ciphers[0]!._xor._memory.byteLength).toBeLessThan(8 * 1024 * 1024);
  });
});
