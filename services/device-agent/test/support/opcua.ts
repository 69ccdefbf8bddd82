// node-opcua (CommonJS) require()s the ESM-only `hexy` (hex dumps in debug output). Plain
// Node 20.19+ loads that through require(esm); Jest's module registry cannot. Register a CJS
// stand-in for that one debug helper, then load every module that pulls in node-opcua
// dynamically, after the registration (static imports would be evaluated first).
import { jest } from '@jest/globals';

jest.mock('hexy', () => ({ __esModule: true, hexy: (b: Buffer) => Buffer.from(b).toString('hex') }));

export const simulator = await import('@twinledger/plant-sim');
export const opcua = await import('../../src/domain/opcua-adapter.js');
export const runtime = await import('../../src/runtime.js');
export const opcuaPki = await import('@twinledger/opcua');

export async function until<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (ok(v)) return v;
      last = v;
    } catch (err) {
      last = err instanceof Error ? `${err.name}: ${err.message}` : err;
    }
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
