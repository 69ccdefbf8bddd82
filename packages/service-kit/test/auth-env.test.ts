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
    const init = authFromEnv(env, { expectedOrg: 'Org1MSP' });
    expect(init).toMatchObject({ audience: 'twinledger', expectedOrg: 'Org1MSP', maxLifetimeSec: 3600 });
    const principal = await createJwtVerifier(init).verify(await issuer.issue({ sub: 'alice', org: 'Org1MSP', audience: 'twinledger' }));
    expect(principal).toMatchObject({ subject: 'alice', mspId: 'Org1MSP' });
  });

  it('takes a service\'s own audience and AUTH_MAX_TOKEN_LIFETIME_S (bounded: expiry cannot be switched off)', async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    const file = join(dir, 'jwks2.json');
    writeFileSync(file, JSON.stringify(issuer.jwks));
    const env = loadEnv(authEnv, { AUTH_ISSUER: issuer.issuer, AUTH_JWKS_FILE: file, AUTH_MAX_TOKEN_LIFETIME_S: '86400' });
    const init = authFromEnv(env, { expectedOrg: 'Org1MSP', audience: 'twinledger-dht' });
    expect(init).toMatchObject({ audience: 'twinledger-dht', maxLifetimeSec: 86_400 });
    const verifier = createJwtVerifier(init);
    await expect(verifier.verify(await issuer.issue({ sub: 'spec-service', svc: 'spec-service', org: 'Org1MSP', audience: 'twinledger-dht', expiresIn: '12h' }))).resolves.toMatchObject({ service: 'spec-service' });
    // A user token (the user-facing audience) is no credential here.
    await expect(verifier.verify(await issuer.issue({ sub: 'alice', org: 'Org1MSP', audience: 'twinledger' }))).rejects.toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'invalid' } });
    expect(() => loadEnv(authEnv, { AUTH_ISSUER: 'x', AUTH_JWKS_FILE: file, AUTH_MAX_TOKEN_LIFETIME_S: String(31 * 86_400) })).toThrow(/AUTH_MAX_TOKEN_LIFETIME_S/);
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
