// Sign-in through the organization's OpenID provider in headless Chromium (ADR-19), on the real
// network: Fabric, Kafka, the org's dht-gateway, acl-service and spec-service trusting the
// provider's key, the console as a child process signing users in there. The provider issues
// 8-second access tokens, so the test sees one expire and the console refresh it. Fabric-gated.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { DEFAULT_RESOURCE, generatePassword, startIdentityProvider, type StartedIdentityProvider } from '@twinledger/oidc-dev-provider';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer } from '@twinledger/service-kit';
import { axeViolations, describeViolations, launchBrowser, screenshot } from './support/browser.js';
import { buildForTests, stepLogger } from './support/build.js';
import { startLedgerOrgs, stopLedgerOrgs, type LedgerOrg } from './support/ledger-orgs.js';
import { startService } from './support/processes.js';

const fabric = await fabricAvailability();
const ACCESS_TTL_S = 8;

(fabric.ok ? describe : describe.skip)('console sign-in in Chromium through the organization\'s OpenID provider (real Fabric, Kafka, DHT)', () => {
  let net: DevNetwork;
  let orgs: LedgerOrg[];
  let idp: StartedIdentityProvider;
  let dir: string;
  let browser: Browser;
  let consoleUrl: string;
  const password = generatePassword();

  const sessionOf = (page: Page): Promise<{ status: number; body: { subject?: string; accessTokenExpiresAt?: string | null } }> =>
    page.evaluate(async () => {
      const res = await fetch('/api/console/session');
      return { status: res.status, body: (await res.json()) as { subject?: string; accessTokenExpiresAt?: string | null } };
    });

  beforeAll(async () => {
    const step = stepLogger('console-signin');
    buildForTests(['console', 'spec-service', 'acl-service', 'dht-gateway']);
    dir = await mkdtemp(join(tmpdir(), 'console-signin-'));
    net = await startNetwork({ orgs: ['org1'], fabric: true, kafka: true, ...testNetworkInit() });
    step('fabric and kafka up');
    // Inside the port block this network owns (the consortium's layout puts its services there too).
    consoleUrl = `http://127.0.0.1:${net.basePort + 47}`;
    const key = await (await createDevIssuer('org1-signing-key')).exportPrivate();
    idp = await startIdentityProvider({
      mspId: 'Org1MSP',
      audience: 'twinledger',
      signingKey: key,
      users: [{ username: 'maintainer', password, fabricIdentity: 'User1', roles: ['MAINTAINER'] }],
      clients: [{ clientId: 'console', clientSecret: 'console-secret-for-this-test', redirectUris: [`${consoleUrl}/auth/callback`], postLogoutRedirectUris: [`${consoleUrl}/`] }],
      cookieKeys: [generatePassword() + generatePassword()],
      accessTokenTtlSeconds: ACCESS_TTL_S,
      logger: silentLogger(),
    });
    // The services trust the provider's issuer URL and key, exactly as they trust any issuer.
    orgs = await startLedgerOrgs(dir, net, { issuerFor: () => createDevIssuer(idp.url, key) });
    const org = orgs[0]!;
    await writeFile(join(dir, 'client.secret'), 'console-secret-for-this-test', { mode: 0o600 });
    await writeFile(join(dir, 'cookie.secret'), generatePassword() + generatePassword(), { mode: 0o600 });
    org.console = await startService('console', 'console', {
      HOST: '127.0.0.1',
      PORT: String(net.basePort + 47),
      LOG_LEVEL: 'info',
      ORG_NAME: 'Org1 (bottling plant operator)',
      MSP_ID: org.mspId,
      AUTH_ISSUER: idp.url,
      AUTH_JWKS_FILE: join(dir, org.mspId, 'jwks.json'),
      SPEC_SERVICE_URL: org.spec.url,
      ACL_SERVICE_URL: org.acl.url,
      OIDC_ISSUER: idp.url,
      OIDC_CLIENT_ID: 'console',
      OIDC_CLIENT_SECRET_FILE: join(dir, 'client.secret'),
      OIDC_REDIRECT_URL: `${consoleUrl}/auth/callback`,
      OIDC_RESOURCE: DEFAULT_RESOURCE,
      // Refresh only once the token has expired: the test then sees a real expiry.
      OIDC_REFRESH_MARGIN_S: '0',
      SESSION_COOKIE_SECRET_FILE: join(dir, 'cookie.secret'),
    });
    browser = await launchBrowser();
    step('services, provider, console and chromium up');
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    if (orgs) await stopLedgerOrgs(orgs);
    await idp?.close();
    await net?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('signs in through the provider\'s form, outlives an access token\'s expiry by refreshing, and signs out', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    await page.goto(`${consoleUrl}/`);
    const signInLink = page.getByRole('link', { name: 'Sign in with your organization account' });
    await signInLink.waitFor();
    expect(describeViolations(await axeViolations(page))).toBe('');
    await screenshot(page, 'signin-console');
    await signInLink.click();

    // The provider's form, on the provider's origin.
    await page.getByLabel('Username').waitFor();
    expect(new URL(page.url()).origin).toBe(idp.url);
    await page.getByLabel('Username').fill('maintainer');
    await page.getByLabel('Password').fill('wrong-password-123');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
    await page.getByLabel('Username').fill('maintainer');
    await page.getByLabel('Password').fill(password);
    await screenshot(page, 'signin-provider-form');
    await page.getByRole('button', { name: 'Sign in' }).click();

    // Back in the console, signed in; the browser has only the HttpOnly session cookie.
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(await page.locator('.who').textContent()).toBe('maintainer · Org1MSP · User1');
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const cookies = await page.context().cookies(consoleUrl);
    expect(cookies.find((c) => c.name === 'tl_session')).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    expect(JSON.stringify(await page.evaluate(() => ({ ...sessionStorage, ...localStorage })))).not.toMatch(/eyJ/);
    await screenshot(page, 'signin-signed-in');

    // The services answer through the session: spec-service lists twins for this user.
    const list = async (): Promise<number> => page.evaluate(async () => (await fetch('/api/spec/twins?limit=5')).status);
    expect(await list()).toBe(200);
    const first = await sessionOf(page);
    expect(first.status).toBe(200);
    const expiresAt = Date.parse(first.body.accessTokenExpiresAt!);

    // Past the access token's expiry, the next call is still answered: the console refreshed it.
    await page.waitForTimeout(Math.max(0, expiresAt - Date.now()) + 1000);
    expect(await list()).toBe(200);
    const second = await sessionOf(page);
    expect(second.status).toBe(200);
    expect(Date.parse(second.body.accessTokenExpiresAt!)).toBeGreaterThan(expiresAt);

    // Sign-out: the console drops the session, the provider confirms and sends the browser back.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await signInLink.waitFor();
    expect(page.url()).toBe(`${consoleUrl}/`);
    expect((await sessionOf(page)).status).toBe(401);
    expect(await list()).toBe(401);
    await screenshot(page, 'signin-signed-out');

    // Signing in again needs the password again: the provider's session ended too.
    await signInLink.click();
    await page.getByLabel('Password').waitFor();

    // A forged callback (an attacker's link) while this browser's own sign-in is open: the state
    // does not match, the sign-in is spent, and the browser lands on the sign-in page with the reason.
    await page.goto(`${consoleUrl}/auth/callback?code=forged&state=forged`);
    const refusal = page.getByRole('alert').filter({ hasText: 'did not complete' });
    await refusal.waitFor();
    expect(await refusal.getAttribute('data-code')).toBe('state_mismatch');
    expect((await sessionOf(page)).status).toBe(401);
    await page.close();
  });
});
