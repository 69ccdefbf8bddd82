// OpenID Connect sign-in through the console (ADR-19), against real oidc-provider instances on
// loopback (packages/oidc-dev-provider) and a real upstream: the flow, and the attacks on it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { silentLogger } from '@twinledger/observability';
import { startIdentityProvider, type StartedIdentityProvider } from '@twinledger/oidc-dev-provider';
import { ScriptedBrowser, type InjectFn } from '@twinledger/oidc-dev-provider/testing';
import { createDevIssuer, createJwtVerifier, type ServiceApp, type TokenVerifier } from '@twinledger/service-kit';
import { buildApp, createOidcSignIn, type OidcInit } from '../src/app.js';
import { webRoot } from './support/web-root.js';

const CONSOLE = 'http://127.0.0.1:18080';
const CLIENT = { clientId: 'console', clientSecret: 'console-secret-0123456789', redirectUris: [`${CONSOLE}/auth/callback`], postLogoutRedirectUris: [`${CONSOLE}/`] };
const PASSWORD = 'correct-horse-battery-1';
const COOKIE_SECRET = 'x'.repeat(48);

const injectOf = (app: ServiceApp): InjectFn => (req) => app.inject({ ...req, method: req.method as 'GET' });


/** An organization's provider: its own key, its users. */
async function provider(mspId: string, accessTokenTtlSeconds = 300): Promise<StartedIdentityProvider> {
  const key = await (await createDevIssuer(`https://keys.${mspId}`)).exportPrivate();
  return startIdentityProvider({
    mspId,
    audience: 'twinledger',
    signingKey: key,
    users: [
      { username: 'maintainer', password: PASSWORD, fabricIdentity: 'User1', roles: ['MAINTAINER'] },
      { username: 'auditor', password: PASSWORD, fabricIdentity: 'User2', roles: ['AUDITOR'] },
    ],
    clients: [CLIENT],
    cookieKeys: ['k'.repeat(40)],
    accessTokenTtlSeconds,
    logger: silentLogger(),
  });
}

/** Echoes what it received: the proxied request's headers prove what the console forwarded. */
async function startUpstream(): Promise<{ app: FastifyInstance; url: string; calls: number }> {
  const app = Fastify();
  const state = { app, url: '', calls: 0 };
  const echo = async (req: { url: string; headers: Record<string, unknown> }): Promise<unknown> => {
    state.calls++;
    return { path: req.url, authorization: req.headers['authorization'] ?? null, cookie: req.headers['cookie'] ?? null, csrf: req.headers['x-csrf-token'] ?? null };
  };
  app.get('/twins/:id', echo);
  app.post('/grants', echo);
  await app.listen({ host: '127.0.0.1', port: 0 });
  state.url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  return state;
}

describe('OpenID Connect sign-in through the console', () => {
  let idp: StartedIdentityProvider;
  let otherIdp: StartedIdentityProvider;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let verifier: TokenVerifier;
  const apps: ServiceApp[] = [];

  async function consoleApp(over: Partial<OidcInit> = {}, issuer = idp): Promise<ServiceApp> {
    const signIn = createOidcSignIn({
      issuer: issuer.url,
      clientId: CLIENT.clientId,
      clientSecret: CLIENT.clientSecret,
      redirectUrl: `${CONSOLE}/auth/callback`,
      scopes: ['openid', 'profile', 'twinledger'],
      resource: 'urn:twinledger:services',
      cookieSecret: COOKIE_SECRET,
      verifier,
      logger: silentLogger(),
      ...over,
    });
    const app = await buildApp({ logger: silentLogger(), auth: over.verifier ?? verifier, orgName: 'Org One', mspId: 'Org1MSP', upstreams: { spec: upstream.url, acl: upstream.url }, webRoot: webRoot(), oidc: { signIn, redirectUrl: `${CONSOLE}/auth/callback` } });
    apps.push(app);
    return app;
  }

  async function signedIn(app: ServiceApp): Promise<ScriptedBrowser> {
    const b = new ScriptedBrowser(CONSOLE, injectOf(app));
    const done = await b.signIn('maintainer', PASSWORD);
    expect({ status: done.status, location: done.location }).toEqual({ status: 302, location: `${CONSOLE}/` });
    return b;
  }

  const session = async (b: ScriptedBrowser, app: ServiceApp): Promise<{ statusCode: number; json: Record<string, unknown> }> => {
    const res = await app.inject({ url: '/api/console/session', headers: { cookie: b.cookieHeader(CONSOLE) } });
    return { statusCode: res.statusCode, json: res.json() };
  };

  beforeAll(async () => {
    idp = await provider('Org1MSP');
    otherIdp = await provider('Org2MSP');
    upstream = await startUpstream();
    // The services' verifier, unchanged: the provider's issuer URL and its public keys.
    verifier = createJwtVerifier({ issuer: idp.url, audience: 'twinledger', jwks: idp.jwks, expectedOrg: 'Org1MSP' });
  });

  afterAll(async () => {
    for (const a of apps) await a.close();
    await idp?.close();
    await otherIdp?.close();
    await upstream?.app.close();
  });

  it('signs in with code + PKCE; the browser holds only an HttpOnly cookie; the proxy sends the services a token they verify as today', async () => {
    const app = await consoleApp();
    const b = new ScriptedBrowser(CONSOLE, injectOf(app));
    const login = await b.request(`${CONSOLE}/auth/login`);
    expect(login.status).toBe(302);
    const auth = new URL(login.location!);
    expect(auth.origin).toBe(idp.url);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(auth.searchParams.get('state')).toBeTruthy();
    expect(auth.searchParams.get('nonce')).toBeTruthy();
    const done = await b.signIn('maintainer', PASSWORD);
    expect(done.status).toBe(302);
    const raw = (await app.inject({ url: '/auth/login' })).headers['set-cookie'];
    expect(String(raw)).toMatch(/HttpOnly/);
    expect(String(raw)).toMatch(/SameSite=Lax/);

    const s = await session(b, app);
    expect(s.statusCode).toBe(200);
    // Signing in again in the same browser replaces the session: the old cookie opens nothing.
    const firstCookie = b.cookieHeader(CONSOLE);
    await b.signIn('maintainer', PASSWORD);
    expect(b.cookieHeader(CONSOLE)).not.toBe(firstCookie);
    expect((await app.inject({ url: '/api/console/session', headers: { cookie: firstCookie } })).statusCode).toBe(401);
    expect(s.json).toMatchObject({ subject: 'maintainer', mspId: 'Org1MSP', fabricIdentity: 'User1', roles: ['MAINTAINER'] });
    expect(s.json['csrfToken']).toEqual(expect.any(String));

    const proxied = await app.inject({ url: '/api/spec/twins/t1', headers: { cookie: b.cookieHeader(CONSOLE) } });
    expect(proxied.statusCode).toBe(200);
    const seen = proxied.json() as { authorization: string; cookie: string | null };
    // The session cookie stays with the console; the service gets the bearer JWT.
    expect(seen.cookie).toBeNull();
    const token = seen.authorization.replace(/^Bearer /, '');
    expect(await verifier.verify(token)).toEqual({ subject: 'maintainer', mspId: 'Org1MSP', fabricIdentity: 'User1', roles: ['MAINTAINER'] });
    expect(decodeJwt(token)).toMatchObject({ iss: idp.url, aud: 'twinledger', org: 'Org1MSP', fabric_identity: 'User1' });
  });

  it('refuses a wrong password at the provider: no code reaches the console', async () => {
    const app = await consoleApp();
    const b = new ScriptedBrowser(CONSOLE, injectOf(app));
    const action = await b.openLoginForm();
    const hop = await b.submitLogin(action, 'maintainer', 'not-the-password');
    expect(hop.status).toBe(401);
    expect(hop.body).toContain('Wrong username or password.');
    const unknown = await b.submitLogin(action, 'root', PASSWORD);
    expect(unknown.status).toBe(401);
  });

  it('refuses a callback with the wrong state, a replayed callback and a replayed code', async () => {
    const app = await consoleApp();
    const b = new ScriptedBrowser(CONSOLE, injectOf(app));
    const hop = await b.submitLogin(await b.openLoginForm(), 'maintainer', PASSWORD);
    const callback = new URL(hop.location!);
    const loginCookie = b.cookie(CONSOLE, 'tl_login')!;

    // Wrong state: an attacker's callback planted in the victim's browser.
    const forged = new URL(callback);
    forged.searchParams.set('state', 'attacker-state');
    const wrongState = await b.request(forged.toString());
    expect(wrongState.status).toBe(401);
    expect(JSON.parse(wrongState.body)).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'state_mismatch' } });

    // The sign-in is spent: even the genuine callback with the same login cookie is refused now.
    b.setCookie(CONSOLE, 'tl_login', loginCookie);
    const replayed = await b.request(callback.toString());
    expect(replayed.status).toBe(401);
    expect(JSON.parse(replayed.body)).toMatchObject({ details: { reason: 'signin_not_started' } });

    // A used code in a fresh sign-in of the same browser (state matching the fresh one): the provider refuses it.
    const first = new ScriptedBrowser(CONSOLE, injectOf(app));
    const ok = await first.submitLogin(await first.openLoginForm(), 'maintainer', PASSWORD);
    const used = new URL(ok.location!);
    expect((await first.request(used.toString())).status).toBe(302);
    const second = new ScriptedBrowser(CONSOLE, injectOf(app));
    const fresh = new URL((await second.request(`${CONSOLE}/auth/login`)).location!);
    const swapped = new URL(used);
    swapped.searchParams.set('state', fresh.searchParams.get('state')!);
    const replay = await second.request(swapped.toString());
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.body)).toMatchObject({ details: { reason: 'signin_refused', error: 'invalid_grant' } });
    expect(second.cookie(CONSOLE, 'tl_session')).toBeUndefined();

    // A person's browser (Accept: text/html) is sent back to the app with the reason instead.
    const stranger = new ScriptedBrowser(CONSOLE, injectOf(app));
    const html = await stranger.request(callback.toString(), { headers: { accept: 'text/html' } });
    expect({ status: html.status, location: html.location }).toEqual({ status: 302, location: `${CONSOLE}/?signin_error=signin_not_started` });
  });

  it('the provider requires PKCE: no code_challenge is refused, and a code without its verifier is not exchanged', async () => {
    const app = await consoleApp();
    const b = new ScriptedBrowser(CONSOLE, injectOf(app));
    const login = new URL((await b.request(`${CONSOLE}/auth/login`)).location!);
    login.searchParams.delete('code_challenge');
    login.searchParams.delete('code_challenge_method');
    const noChallenge = await b.follow(login.toString(), {}, (loc) => loc.startsWith(CONSOLE));
    expect(new URL(noChallenge.location ?? 'http://x/').searchParams.get('error') ?? noChallenge.body).toMatch(/invalid_request/);

    const ok = await b.submitLogin(await b.openLoginForm(), 'maintainer', PASSWORD);
    const code = new URL(ok.location!).searchParams.get('code')!;
    const res = await fetch(`${idp.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUris[0]! }).toString(),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses another organization\'s issuer: its tokens as bearer, and a console pointed at it makes no session', async () => {
    const app = await consoleApp();
    // A user of Org2 signs in at Org2's provider; Org1's console is handed that token.
    const org2Console = await consoleApp({ issuer: otherIdp.url, verifier: createJwtVerifier({ issuer: otherIdp.url, audience: 'twinledger', jwks: otherIdp.jwks, expectedOrg: 'Org2MSP' }) });
    const org2 = new ScriptedBrowser(CONSOLE, injectOf(org2Console));
    await org2.signIn('maintainer', PASSWORD);
    const org2Token = ((await org2Console.inject({ url: '/api/spec/twins/t1', headers: { cookie: org2.cookieHeader(CONSOLE) } })).json() as { authorization: string }).authorization;
    const calls = upstream.calls;
    const res = await app.inject({ url: '/api/spec/twins/t1', headers: { authorization: org2Token } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'invalid' } });
    expect(upstream.calls).toBe(calls);

    // Org1's console misconfigured to (or tricked into) Org2's issuer: the tokens fail Org1's verifier, no session.
    const misdirected = await consoleApp({ issuer: otherIdp.url });
    const b = new ScriptedBrowser(CONSOLE, injectOf(misdirected));
    const done = await b.signIn('maintainer', PASSWORD);
    expect(done.status).toBe(401);
    expect(JSON.parse(done.body)).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'invalid' } });
    expect(b.cookie(CONSOLE, 'tl_session')).toBeUndefined();
  });

  it('refuses a tampered session cookie and a state-changing call without the CSRF token', async () => {
    const app = await consoleApp();
    const b = await signedIn(app);
    const cookie = b.cookie(CONSOLE, 'tl_session')!;
    const [id, mac] = cookie.split('.');
    const flipped = `${id!.slice(0, -1)}${id!.endsWith('A') ? 'B' : 'A'}.${mac}`;
    for (const bad of [flipped, `${id}.${'A'.repeat(mac!.length)}`, id!, '']) {
      const res = await app.inject({ url: '/api/spec/twins/t1', headers: { cookie: `tl_session=${bad}` } });
      expect({ bad, status: res.statusCode }).toEqual({ bad, status: 401 });
    }
    expect((await app.inject({ url: '/api/spec/twins/t1', headers: { cookie: `tl_session=${flipped}` } })).json()).toMatchObject({ details: { reason: 'session_cookie_invalid' } });

    const calls = upstream.calls;
    const noCsrf = await app.inject({ method: 'POST', url: '/api/acl/grants', headers: { cookie: b.cookieHeader(CONSOLE) }, payload: { mspId: 'Org2MSP' } });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json()).toMatchObject({ code: 'CSRF_TOKEN_INVALID' });
    const wrongCsrf = await app.inject({ method: 'POST', url: '/api/acl/grants', headers: { cookie: b.cookieHeader(CONSOLE), 'x-csrf-token': 'guess' }, payload: { mspId: 'Org2MSP' } });
    expect(wrongCsrf.statusCode).toBe(403);
    expect(upstream.calls).toBe(calls);
    const csrfToken = (await session(b, app)).json['csrfToken'] as string;
    const ok = await app.inject({ method: 'POST', url: '/api/acl/grants', headers: { cookie: b.cookieHeader(CONSOLE), 'x-csrf-token': csrfToken }, payload: { mspId: 'Org2MSP' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ csrf: null, cookie: null });
  });

  it('signs out: the session is gone, the refresh token revoked, the browser sent to the provider\'s end_session', async () => {
    const app = await consoleApp();
    const b = await signedIn(app);
    const before = b.cookieHeader(CONSOLE);
    const csrfToken = (await session(b, app)).json['csrfToken'] as string;
    const forged = await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: before } });
    expect(forged.statusCode).toBe(403);
    const out = await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: before, 'x-csrf-token': csrfToken } });
    expect(out.statusCode).toBe(200);
    const redirect = new URL(out.json().redirect as string);
    expect(`${redirect.origin}${redirect.pathname}`).toBe(`${idp.url}/session/end`);
    expect(redirect.searchParams.get('post_logout_redirect_uri')).toBe(`${CONSOLE}/`);
    expect(redirect.searchParams.get('id_token_hint')).toBeTruthy();
    expect(String(out.headers['set-cookie'])).toMatch(/tl_session=;.*Max-Age=0/);
    // The old cookie, kept by an attacker or a stale tab, opens nothing.
    const after = await app.inject({ url: '/api/spec/twins/t1', headers: { cookie: before } });
    expect(after.statusCode).toBe(401);
    expect(after.json()).toMatchObject({ details: { reason: 'session_ended' } });
    // The provider confirms sign-out and sends the browser back to the console.
    const confirm = await b.follow(redirect.toString());
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1];
    expect(xsrf).toBeDefined();
    const back = await b.follow(`${idp.url}/session/end/confirm`, { form: { xsrf: xsrf!, logout: 'yes' } }, (loc) => loc.startsWith(CONSOLE));
    expect(back.location).toBe(`${CONSOLE}/`);
  });

  it('refreshes an expiring access token transparently, and ends the session when the refresh token is revoked', async () => {
    // Every token counts as about to expire (margin = lifetime): each request refreshes first.
    const app = await consoleApp({ refreshMarginSeconds: 300 });
    const b = await signedIn(app);
    const tokenOf = async (): Promise<{ status: number; token: string }> => {
      const res = await app.inject({ url: '/api/spec/twins/t1', headers: { cookie: b.cookieHeader(CONSOLE) } });
      return { status: res.statusCode, token: ((res.json() as { authorization?: string }).authorization ?? '').replace(/^Bearer /, '') };
    };
    const one = await tokenOf();
    const two = await tokenOf();
    expect([one.status, two.status]).toEqual([200, 200]);
    expect(decodeJwt(two.token).jti).not.toBe(decodeJwt(one.token).jti);
    expect(await verifier.verify(two.token)).toMatchObject({ subject: 'maintainer', fabricIdentity: 'User1' });

    // The user signs out at the provider itself (another tab): the grant and its refresh token are revoked.
    const end = await b.follow(`${idp.url}/session/end`);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(end.body)![1]!;
    await b.follow(`${idp.url}/session/end/confirm`, { form: { xsrf, logout: 'yes' } });
    const res = await app.inject({ url: '/api/spec/twins/t1', headers: { cookie: b.cookieHeader(CONSOLE) } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'session_ended', why: 'refresh_refused' } });
    expect((await session(b, app)).statusCode).toBe(401);
  });

  it('answers SIGNIN_NOT_CONFIGURED without an issuer, and IDP_UNAVAILABLE when the provider is down', async () => {
    const plain = await buildApp({ logger: silentLogger(), auth: verifier, orgName: 'Org One', mspId: 'Org1MSP', upstreams: {}, webRoot: webRoot() });
    apps.push(plain);
    const res = await plain.inject({ url: '/auth/login' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'SIGNIN_NOT_CONFIGURED' });
    expect((await plain.inject({ url: '/api/console/config' })).json()).toMatchObject({ oidc: { enabled: false } });
    const down = await consoleApp({ issuer: 'http://127.0.0.1:9' });
    const r = await down.inject({ url: '/auth/login' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ code: 'IDP_UNAVAILABLE' });
    expect((await down.inject({ url: '/auth/callback?code=x&state=y&extra=1' })).json()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
