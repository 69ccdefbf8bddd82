import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadEnv } from '@twinledger/config';
import { authEnv, authFromEnv, createDevIssuer, createJwtVerifier } from '../src/index.js';

describe('authEnv / authFromEnv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-env-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds a verifier that accepts the issuer’s tokens for the default audience', async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify(issuer.jwks));
    const env = loadEnv(authEnv, { AUTH_ISSUER: issuer.issuer, AUTH_JWKS_FILE: file });
    const init = authFromEnv(env);
    expect(init.audience).toBe('twinledger');
    const principal = await createJwtVerifier(init).verify(await issuer.issue({ sub: 'alice', org: 'Org1MSP', audience: 'twinledger' }));
    expect(principal).toMatchObject({ subject: 'alice', mspId: 'Org1MSP' });
  });

  it('refuses a boot without an issuer, and an unreadable or malformed key set, with CONFIG_INVALID', () => {
    expect(() => loadEnv(authEnv, { AUTH_JWKS_FILE: '/x' })).toThrow(/AUTH_ISSUER is required/);
    const env = (file: string) => loadEnv(authEnv, { AUTH_ISSUER: 'https://idp', AUTH_JWKS_FILE: file });
    expect(() => authFromEnv(env(join(dir, 'missing.json')))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{not json');
    expect(() => authFromEnv(env(notJson))).toThrow(/not a readable JSON key set/);
    const noKeys = join(dir, 'nokeys.json');
    writeFileSync(noKeys, '{"kty":"EC"}');
    expect(() => authFromEnv(env(noKeys))).toThrow(/has no "keys" array/);
  });
});
