import { performance } from 'node:perf_hooks';
import { CIPHER_NAMES, aeadFor, type CipherName } from './aead.js';
import { random } from './codec.js';

export interface AeadBenchmarkOptions {
  /** Bytes per message; defaults to 1 MiB. */
  readonly size?: number;
  /** Measured iterations per cipher (after one warm-up); defaults to 20. */
  readonly iterations?: number;
}

export interface AeadBenchmarkResult {
  readonly cipher: CipherName;
  readonly size: number;
  readonly iterations: number;
  /** Mean MiB/s for seal. */
  readonly sealMiBps: number;
  /** Mean MiB/s for open. */
  readonly openMiBps: number;
}

/**
 * Compares the chunk AEADs (XChaCha20-Poly1305 from @noble/ciphers, AES-256-GCM from
 * node:crypto) on one message size. Exported for the project's `dht` bench suite.
 */
export function benchmarkAead(options: Readonly<AeadBenchmarkOptions> = {}): AeadBenchmarkResult[] {
  const size = options.size ?? 1024 * 1024;
  const iterations = options.iterations ?? 20;
  const data = random(size);
  const aad = random(16);
  return CIPHER_NAMES.map((cipher) => {
    const aead = aeadFor(cipher);
    const key = random(aead.keyLength);
    aead.open(key, aead.seal(key, data, aad), aad);
    let sealed: Uint8Array = new Uint8Array();
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) sealed = aead.seal(key, data, aad);
    const t1 = performance.now();
    for (let i = 0; i < iterations; i++) aead.open(key, sealed, aad);
    const t2 = performance.now();
    const mib = (size * iterations) / (1024 * 1024);
    return {
      cipher,
      size,
      iterations,
      sealMiBps: Math.round((mib / ((t1 - t0) / 1000)) * 10) / 10,
      openMiBps: Math.round((mib / ((t2 - t1) / 1000)) * 10) / 10,
    };
  });
}
