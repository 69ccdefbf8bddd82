import { createRequire } from 'node:module';

/**
 * libp2p's private network (@libp2p/pnet) encrypts every byte with `xsalsa20` 1.2.0, whose
 * WebAssembly instances share one memory but each keep their own Uint8Array view of it. When
 * one instance grows the memory, every other view is detached (length 0), and the next
 * `update` on such an instance "reallocs" by the whole input size again: the memory grows on
 * nearly every switch between connections (inbound/outbound included) until it hits the WASM
 * cap (~64 MiB) and `Memory.grow` throws inside a socket listener, which kills the process.
 * Measured: a 5-node put of 1 MiB chunks crashed this way; two instances alternating 3 MB
 * updates crash within a few hundred calls.
 *
 * There is no fixed release, so this refreshes a stale view from the latest memory before
 * each update (the same single module instance pnet loads, resolved from this package).
 * Imported for its side effect by dht-node.ts, before libp2p is created.
 */
interface WasmXor {
  _memory: Uint8Array;
  update(input: Uint8Array, output: Uint8Array): void;
  realloc(size: number): void;
}
type XSalsa20 = ((nonce: Uint8Array, key: Uint8Array) => { _xor: unknown; finalize(): void }) & { __twinledgerFixed?: boolean };

const require = createRequire(import.meta.url);

export function installXsalsa20Fix(): boolean {
  let xsalsa20: XSalsa20;
  try {
    xsalsa20 = require('xsalsa20') as XSalsa20;
  } catch {
    return false; // not installed: nothing to fix
  }
  if (xsalsa20.__twinledgerFixed) return true;
  const probe = xsalsa20(new Uint8Array(24), new Uint8Array(32));
  const impl = probe._xor as Partial<WasmXor>;
  probe.finalize();
  // The pure-JS fallback (no WebAssembly) has no shared memory and no bug.
  if (!(impl._memory instanceof Uint8Array) || typeof impl.update !== 'function' || typeof impl.realloc !== 'function') return false;
  const proto = Object.getPrototypeOf(impl) as WasmXor;
  const update = proto.update;
  const realloc = proto.realloc;
  let latest: Uint8Array = impl._memory;
  proto.realloc = function (this: WasmXor, size: number): void {
    realloc.call(this, size);
    latest = this._memory;
  };
  proto.update = function (this: WasmXor, input: Uint8Array, output: Uint8Array): void {
    if (this._memory.buffer !== latest.buffer) this._memory = new Uint8Array(latest.buffer);
    update.call(this, input, output);
  };
  xsalsa20.__twinledgerFixed = true;
  return true;
}

installXsalsa20Fix();
