import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const script = fileURLToPath(new URL('../scripts/gen-api-types.mjs', import.meta.url));

describe('generated API types', () => {
  // The committed types must equal what the services' OpenAPI documents give now (from their
  // built dist/, which `npm test`'s pretest builds): a schema change without regeneration fails.
  it('match the services\' OpenAPI documents', () => {
    const res = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8', timeout: 120_000 });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('checked 4 files');
  }, 150_000);
});
