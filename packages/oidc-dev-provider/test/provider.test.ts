// The local OpenID provider on its own: what it refuses at start, password guessing, and the
// access tokens it issues (what the services verify).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer } from '@twinledger/service-kit';
import { createIdentityProvider, DEFAULT_RESOURCE, generatePassword, startIdentityProvider, type StartedIdentityProvider } from '../src/index.js';
import { ScriptedBrowser } from '../src/testing.js';

const APP = 'http://127.0.0.1:1'; // never contacted: the scripted browser stops before the callback
const CLIENT = { clientId: 'console', clientSecret: 'secret-of-the-console', redirectUris: [`${APP}/auth/callback`], postLogoutRedirectUris: [`${APP}/`] };
const PASSWORD = generatePassword();

describe('oidc-dev-provider', () => {
  let idp: StartedIdentityProvider;
  let key: Awaited<ReturnType<Awaited<ReturnType<typeof createDevIssuer>>['exportPrivate']>>;
  const base = () => ({ mspId: 'Org1MSP', audience: 'twinledger', signingKey: key, clients: [CLIENT], cookieKeys: ['c'.repeat(32)], logger: silentLogger() });

  beforeAll(async () => {
    key = await (await createDevIssuer('org1-key')).exportPrivate();
    idp = await startIdentityProvider({ ...base(), users: [{ username: 'alice', password: PASSWORD, fabricIdentity: 'User2', roles: ['AUDITOR'] }], maxFailedLogins: 3 });
  });
  afterAll(async () => {
    await idp?.close();
  });

  it('refuses short passwords, duplicate or malformed users, short cookie keys and a public signing key', async () => {
    const user = { username: 'bob', password: PASSWORD, fabricIdentity: 'User1', roles: [] };
    const bad = [
      { users: [{ ...user, password: 'short' }] },
      { users: [user, user] },
      { users: [{ ...user, username: 'bob smith' }] },
      { users: [user], cookieKeys: ['too-short'] },
      { users: [user], signingKey: (({ d: _d, ...pub }) => pub)(key) },
    ];
    for (const b of bad) await expect(createIdentityProvider({ ...base(), issuer: 'http://127.0.0.1:2', ...b })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('issues an access token the services verify: iss, aud, org, fabric_identity, roles, short-lived', async () => {
    const b = new ScriptedBrowser(APP);
    const auth = new URL(`${idp.url}/auth`);
    const verifier = 'v'.repeat(43);
    const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url');
    for (const [k, v] of Object.entries({ client_id: 'console', response_type: 'code', scope: 'openid profile twinledger', redirect_uri: CLIENT.redirectUris[0]!, code_challenge: challenge, code_challenge_method: 'S256', state: 's1', nonce: 'n1', resource: DEFAULT_RESOURCE })) auth.searchParams.set(k, v);
    const form = await b.follow(auth.toString());
    const action = new URL(/action="([^"]+)"/.exec(form.body)![1]!, idp.url).toString();
    const hop = await b.follow(action, { form: { username: 'alice', password: PASSWORD } }, (loc) => loc.startsWith(APP));
    const code = new URL(hop.location!).searchParams.get('code')!;
    const res = await fetch(`${idp.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('console:secret-of-the-console').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUris[0]!, code_verifier: verifier, resource: DEFAULT_RESOURCE }).toString(),
    });
    const tokens = (await res.json()) as { access_token: string; refresh_token?: string; id_token?: string; expires_in: number };
    expect(res.status).toBe(200);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.expires_in).toBeLessThanOrEqual(300);
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, createLocalJWKSet(idp.jwks), { issuer: idp.url, audience: 'twinledger' });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: 'alice', org: 'Org1MSP', fabric_identity: 'User2', roles: ['AUDITOR'] });
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(decodeJwt(tokens.id_token!)).toMatchObject({ sub: 'alice', nonce: 'n1', aud: 'console' });
    // The published key set is the public half only.
    const published = (await (await fetch(`${idp.url}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(published.keys.map((k) => k['kid'])).toEqual([key.kid]);
    expect(published.keys.some((k) => 'd' in k)).toBe(false);
  });

  it('refuses an unknown resource, and ends a sign-in after repeated wrong passwords', async () => {
    const b = new ScriptedBrowser(APP);
    const auth = new URL(`${idp.url}/auth`);
    for (const [k, v] of Object.entries({ client_id: 'console', response_type: 'code', scope: 'openid', redirect_uri: CLIENT.redirectUris[0]!, code_challenge: 'c'.repeat(43), code_challenge_method: 'S256', state: 's2' })) auth.searchParams.set(k, v);
    const other = new URL(auth);
    other.searchParams.set('resource', 'urn:another:api');
    const refused = await b.follow(other.toString(), {}, (loc) => loc.startsWith(APP));
    expect(new URL(refused.location!).searchParams.get('error')).toBe('invalid_target');

    const form = await b.follow(auth.toString());
    const action = new URL(/action="([^"]+)"/.exec(form.body)![1]!, idp.url).toString();
    for (let i = 0; i < 2; i++) expect((await b.follow(action, { form: { username: 'alice', password: 'wrong-password-0' } })).status).toBe(401);
    // The third failure (maxFailedLogins: 3) ends the interaction: access_denied back to the client, no code.
    const last = await b.follow(action, { form: { username: 'alice', password: 'wrong-password-0' } }, (loc) => loc.startsWith(APP));
    const back = new URL(last.location!);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('code')).toBeNull();
    // The right password is of no use in that interaction any more.
    expect((await b.follow(action, { form: { username: 'alice', password: PASSWORD } }, (loc) => loc.startsWith(APP))).location ?? '').not.toContain('code=');
  });
});
