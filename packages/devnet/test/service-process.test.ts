import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ProcessStartError } from '../src/errors.js';
import { serviceEntry, startServiceProcess } from '../src/service-process.js';

// A real service process built with service-kit (its compiled output: `npm test` builds first),
// so the whole contract is exercised: runService writes the report, devnet reads it.
const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const kit = pathToFileURL(join(ROOT, 'packages/service-kit/dist/index.js')).href;
const obs = pathToFileURL(join(ROOT, 'packages/observability/dist/index.js')).href;
const dir = mkdtempSync(join(tmpdir(), 'service-process-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, `import { buildService, runService } from '${kit}';\nimport { createLogger } from '${obs}';\n${body}\n`);
  return file;
}

describe('startServiceProcess', () => {
  it('resolves with the bound address and the service facts from the ready report (PORT 0)', async () => {
    const entry = script(
      'ok',
      `const app = await buildService({ name: 'probe', logger: createLogger({ name: 'probe', level: 'warn' }) });
await runService({ app, host: '127.0.0.1', port: Number(process.env.PORT), ready: () => ({ flavour: process.env.FLAVOUR }) });`,
    );
    const svc = await startServiceProcess({ name: 'probe', entry, env: { PORT: '0', FLAVOUR: 'vanilla' } });
    try {
      expect(svc.port).toBeGreaterThan(0);
      expect(svc.url).toBe(`http://127.0.0.1:${svc.port}`);
      expect(svc.details).toEqual({ flavour: 'vanilla' });
      expect(svc.pid).toBe(svc.process.pid);
      const res = await fetch(`${svc.url}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      await svc.stop();
    }
    expect(svc.process.isRunning()).toBe(false);
  });

  it('fails with the log tail when the service exits before it is ready', async () => {
    const entry = script('dies', `console.error('CONFIG_INVALID: PORT is not a port'); process.exit(3);`);
    const err = await startServiceProcess({ name: 'dies', entry, env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessStartError);
    expect((err as Error).message).toMatch(/exited before it was ready \(exited: code 3\)/);
    expect((err as Error).message).toMatch(/CONFIG_INVALID: PORT is not a port/);
  });

  it('stops a service that stays silent past the timeout', async () => {
    const entry = script('silent', `setInterval(() => undefined, 1000);`);
    const err = await startServiceProcess({ name: 'silent', entry, env: {}, readyTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessStartError);
    expect((err as Error).message).toMatch(/wrote no ready report within 500 ms/);
  });

  it('names the built entry of a repo service', () => {
    expect(serviceEntry('spec-service')).toBe(join(ROOT, 'services/spec-service/dist/server.js'));
  });
});
