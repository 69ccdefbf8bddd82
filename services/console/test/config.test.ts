// The console's environment as checked at boot (config.ts): each problem named, none missed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier } from '@twinledger/service-kit';
import { loadEnv } from '@twinledger/config';
import { consoleConfig, consoleEnv, oidcInitFromEnv, type OidcEnv } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'console-oidc-env-'));
const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const good: OidcEnv = {
  OIDC_ISSUER: 'https://id.org1.example/realms/twinledger',
  OIDC_CLIENT_ID: 'twinledger-console',
  OIDC_CLIENT_SECRET_FILE: file('client', 'a-client-secret-of-some-length\n'),
  OIDC_REDIRECT_URL: 'https://console.org1.example/auth/callback',
  OIDC_POST_LOGOUT_REDIRECT_URL: undefined,
  OIDC_SCOPES: ['openid', 'profile'],
  OIDC_RESOURCE: undefined,
  OIDC_REFRESH_MARGIN_S: 30,
  SESSION_COOKIE_SECRET_FILE: file('cookie', 'c'.repeat(40)),
  SESSION_MAX_AGE_S: 3600,
};

const issuer = await createDevIssuer('https://id.org1.example/realms/twinledger');
const deps = { verifier: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }), logger: silentLogger() };

describe('oidcInitFromEnv', () => {
  it('is off without OIDC_ISSUER and reads the secrets (trimmed) with it', async () => {
    expect(await oidcInitFromEnv({ ...good, OIDC_ISSUER: undefined }, deps)).toBeUndefined();
    expect(await oidcInitFromEnv(good, deps)).toMatchObject({ clientSecret: 'a-client-secret-of-some-length', cookieSecret: 'c'.repeat(40), scopes: ['openid', 'profile'], sessionMaxAgeSeconds: 3600 });
    // Plain http is for this machine only (the local consortium).
    expect(await oidcInitFromEnv({ ...good, OIDC_ISSUER: 'http://127.0.0.1:7648', OIDC_REDIRECT_URL: 'http://127.0.0.1:7647/auth/callback' }, deps)).toBeDefined();
  });

  it('refuses each unsafe or missing setting by name', async () => {
    const cases: [Partial<OidcEnv>, string][] = [
      [{ OIDC_CLIENT_ID: undefined }, 'OIDC_CLIENT_ID: required'],
      [{ OIDC_REDIRECT_URL: undefined }, 'OIDC_REDIRECT_URL: required'],
      [{ SESSION_COOKIE_SECRET_FILE: undefined }, 'SESSION_COOKIE_SECRET_FILE: required'],
      [{ OIDC_ISSUER: 'http://id.org1.example' }, 'OIDC_ISSUER: must be https'],
      [{ OIDC_ISSUER: 'not a url' }, 'OIDC_ISSUER: not an absolute URL'],
      [{ OIDC_REDIRECT_URL: 'http://console.org1.example/auth/callback' }, 'OIDC_REDIRECT_URL: must be https'],
      [{ OIDC_REDIRECT_URL: 'https://console.org1.example/callback' }, 'OIDC_REDIRECT_URL: its path must be /auth/callback'],
      [{ OIDC_POST_LOGOUT_REDIRECT_URL: 'http://evil.example/' }, 'OIDC_POST_LOGOUT_REDIRECT_URL: must be https'],
      [{ OIDC_SCOPES: ['profile'] }, 'OIDC_SCOPES: must include openid'],
      [{ SESSION_COOKIE_SECRET_FILE: file('short', 'too-short') }, 'shorter than 32 characters'],
      [{ OIDC_CLIENT_SECRET_FILE: join(dir, 'missing') }, 'is not readable'],
    ];
    for (const [over, message] of cases) {
      await expect(oidcInitFromEnv({ ...good, ...over }, deps)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining(message) });
    }
  });
});

describe('consoleConfig (dev sign-in: test harnesses only)', () => {
  const env = (over: Record<string, string>) => loadEnv(consoleEnv, { ORG_NAME: 'Org1', MSP_ID: 'Org1MSP', AUTH_ISSUER: 'https://idp.test', AUTH_JWKS_FILE: '/etc/jwks.json', ...over });

  it('is off without DEV_SIGNIN_KEY_FILE, and on with users on a loopback address', () => {
    expect(consoleConfig(env({ HOST: '0.0.0.0' }))).toMatchObject({ HOST: '0.0.0.0', PORT: 8080 });
    expect(consoleConfig(env({ DEV_SIGNIN_KEY_FILE: '/k.json', DEV_SIGNIN_USERS: 'alice:User1' }))).toMatchObject({ DEV_SIGNIN_USERS: ['alice:User1'] });
  });

  it('refuses minting tokens off loopback unless asked twice, without users, or longer-lived than the services accept', () => {
    const cases: [Record<string, string>, string[]][] = [
      [{ HOST: '0.0.0.0', DEV_SIGNIN_USERS: 'alice:User1' }, ['DEV_SIGNIN_ALLOW_REMOTE']],
      [{}, ['DEV_SIGNIN_USERS']],
      [{ DEV_SIGNIN_USERS: 'alice:User1', DEV_SIGNIN_TTL_SECONDS: '7200', AUTH_MAX_TOKEN_LIFETIME_S: '3600' }, ['DEV_SIGNIN_TTL_SECONDS']],
    ];
    for (const [over, problems] of cases) {
      expect(() => consoleConfig(env({ DEV_SIGNIN_KEY_FILE: '/k.json', ...over }))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { problems } }));
    }
    expect(consoleConfig(env({ DEV_SIGNIN_KEY_FILE: '/k.json', HOST: '0.0.0.0', DEV_SIGNIN_ALLOW_REMOTE: 'true', DEV_SIGNIN_USERS: 'alice:User1' }))).toBeDefined();
  });
});
