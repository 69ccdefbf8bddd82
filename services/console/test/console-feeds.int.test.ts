// The console in headless Chromium against real services: sign-in, refusals shown plainly, and a
// twin's sensor feed (real feed-ingest process, real Kafka, real DHT nodes) read through the
// console's proxy, with axe-core checks and screenshots in test-artifacts/console/. The feeds
// *screen* lists a twin's feeds from the ledger through spec-service (issue #26), which this
// console does not have: it is exercised in console-parties.int.test.ts. feed-ingest decides feed access on the ledger (issue
// #17) and refuses to boot without one, so the suite runs on real Fabric (two organizations, the
// twinledger chaincode); the console itself is given no ledger service (no spec-service).
// Fabric-gated: CI, which cannot install Fabric, reports it skipped.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { axeViolations, describeViolations, launchBrowser, screenshot } from './support/browser.js';
import { buildForTests, stepLogger } from './support/build.js';
import { ROOT, startConsole, startFeedStack, type FeedStack, type ServiceProcess } from './support/processes.js';

const fabric = await fabricAvailability();
(fabric.ok ? describe : describe.skip)('console in Chromium: sign-in and sensor feeds (real feed-ingest, Kafka, DHT, Fabric)', () => {
  let net: DevNetwork;
  let issuer: DevIssuer;
  let feeds: FeedStack;
  let consoleProc: ServiceProcess;
  let browser: Browser;
  let page: Page;
  let dir: string;
  let feedId: string;
  const twinId = 'twin-bottling-plant-ci';
  /** Org2's twin: Org1 registers a feed on it as its MAINTAINER, then Org2 takes every read right back. */
  const otherTwinId = 'twin-org2-private-ci';
  const t0 = Date.now() - 10 * 60_000;

  const api = async (path: string, init: { method?: string; body?: unknown; sub?: string; org?: string } = {}) => {
    const token = await issuer.issue({ sub: init.sub ?? 'ops', org: init.org ?? 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
    const res = await fetch(`${consoleProc.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  const signInAs = async (user: string): Promise<void> => {
    await page.goto(`${consoleProc.url}/`);
    await page.getByRole('button', { name: `Sign in as ${user}` }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  };

  beforeAll(async () => {
    const step = stepLogger('console-feeds');
    buildForTests(['console', 'feed-ingest']);
    step('built');
    dir = await mkdtemp(join(tmpdir(), 'console-feeds-'));
    issuer = await createDevIssuer('https://idp.org1.console-test');
    net = await startNetwork({ orgs: ['org1', 'org2'], fabric: true, kafka: true, ...testNetworkInit() });
    step('fabric and kafka up');
    feeds = await startFeedStack(dir, issuer, net);
    step('feed-ingest and DHT up');
    const aml = await readFile(join(ROOT, 'chaincode/fixtures/bottling-plant.aml'), 'utf8');
    // Org1 operates the plant: its User1 creates the twin, so Org1 is OWNER (feed:register,
    // feed:read for every Org1 identity the dev sign-in offers); every MSP reads (default grants).
    await (await feeds.ledgerAs('Org1MSP', 'User1')).createTwin(twinId, 'Bottling plant', aml);
    await (await feeds.ledgerAs('Org2MSP', 'User1')).createTwin(otherTwinId, 'Org2 plant', aml, { Org1MSP: 'MAINTAINER' });
    step('twins on the ledger');
    consoleProc = await startConsole(dir, issuer, { FEED_INGEST_URL: feeds.feedIngest.url }, 'maintainer=User1:MAINTAINER,auditor=User2:AUDITOR');
    browser = await launchBrowser();
    // bypassCSP: the console's CSP (script-src 'self') would refuse the injected axe-core script.
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    step('console and chromium up');
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await consoleProc?.stop();
    await feeds?.stop();
    await net?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows an accessible sign-in page with the dev users and refuses a forged token', async () => {
    await page.goto(`${consoleProc.url}/`);
    await page.getByRole('heading', { name: /Sign in to Org1/ }).waitFor();
    expect(await page.getByRole('button', { name: /Sign in as / }).allTextContents()).toEqual(['Sign in as maintainer', 'Sign in as auditor']);
    const violations = await axeViolations(page);
    await screenshot(page, 'sign-in');
    expect(describeViolations(violations)).toBe('');

    // The app takes no pasted tokens any more (ADR-19); a forged one sent to the console's API is refused.
    const forged = await (await createDevIssuer(issuer.issuer)).issue({ sub: 'mallory', org: 'Org1MSP', audience: 'twinledger' });
    const refused = await page.evaluate(async (t) => {
      const res = await fetch('/api/console/session', { headers: { authorization: `Bearer ${t}` } });
      return { status: res.status, body: (await res.json()) as { code: string } };
    }, forged);
    expect(refused).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
  });

  it('signs a dev user in and shows an unreachable ledger service as a refusal, not an empty list', async () => {
    await signInAs('maintainer');
    expect(await page.locator('header .who').textContent()).toBe('maintainer · Org1MSP · User1');
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    // This console has no spec-service: the twin list says so instead of showing nothing.
    expect(await alert.getAttribute('data-code')).toBe('UPSTREAM_NOT_CONFIGURED');
    expect(describeViolations(await axeViolations(page))).toBe('');
    await screenshot(page, 'twin-list-no-ledger');
  });

  it("reads a feed's downsampled history with its out-of-range buckets through the console's proxy", async () => {
    const reg = await api('/api/feeds/feeds', { method: 'POST', body: { twinId, componentId: 'sensor-fill-level-1', unit: 'mm', expectedRange: { min: 180, max: 195 }, acl: ['Org2MSP'] } });
    expect(reg.status).toBe(201);
    feedId = String(reg.json['feedId']);
    // 3,000 readings over the last ten minutes: a slow wave inside the range, every 500th out of it.
    const readings = Array.from({ length: 3000 }, (_, i) => ({ feed: feedId, component: 'sensor-fill-level-1', ts: t0 + i * 200, v: i % 500 === 499 ? 201 : 187 + 5 * Math.sin(i / 150), u: 'mm' }));
    const ingest = await api('/api/feeds/readings', { method: 'POST', body: readings });
    expect(ingest).toEqual({ status: 202, json: { accepted: 3000 } });
    // Wait until the last reading is readable from the DHT (segments flush every 250 ms).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const latest = await api(`/api/feeds/feeds/${encodeURIComponent(feedId)}/latest`);
      if (latest.status === 200 && (latest.json['reading'] as { ts?: number } | null)?.ts === readings.at(-1)!.ts) break;
      if (Date.now() > deadline) throw new Error(`readings not in the DHT: ${JSON.stringify(latest)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    // The window the feeds screen asks for: the hour before the latest reading, 400 buckets of 9 s;
    // ten minutes of readings fill about 67 of them, and each of the six excursions flags its bucket.
    const series = await api(`/api/feeds/feeds/${encodeURIComponent(feedId)}/series?last=3600000&buckets=400`);
    expect(series.status).toBe(200);
    const buckets = (series.json['buckets'] as { count: number; values: { v: { min: number; max: number } } }[]).filter((b) => b.count > 0);
    expect(buckets.length).toBeGreaterThanOrEqual(66);
    expect(buckets.length).toBeLessThanOrEqual(68);
    expect(buckets.filter((b) => b.values.v.max > 195 || b.values.v.min < 180)).toHaveLength(6);
  });

  it('hides and refuses a feed the ledger no longer lets this organization read', async () => {
    // Org1 registers a feed on Org2's twin as its MAINTAINER; then Org2 takes Org1's role and the
    // everyone-reads grant back on the ledger: feed-ingest, deciding on the ledger, hides and refuses it.
    const other = await api('/api/feeds/feeds', { method: 'POST', body: { twinId: otherTwinId, componentId: 'sensor-private', unit: 'mm', expectedRange: { min: 0, max: 1 } } });
    expect(other.status).toBe(201);
    const org2 = await feeds.ledgerAs('Org2MSP', 'User1');
    await org2.revoke(otherTwinId, { mspId: 'Org1MSP', role: 'MAINTAINER' });
    await org2.revoke(otherTwinId, { mspId: '*', role: 'READER' });
    expect(((await api('/api/feeds/feeds')).json['feeds'] as { twinId: string }[]).map((f) => f.twinId)).not.toContain(otherTwinId);
    const res = await api(`/api/feeds/feeds/${encodeURIComponent(String(other.json['feedId']))}/series?from=0&to=1`);
    expect(res.status).toBe(403);
    expect(res.json['code']).toBe('FEED_ACCESS_DENIED');
    // A token of another organization does not get past the console (each service acts for its own organization).
    const foreign = await api('/api/feeds/feeds', { org: 'Org3MSP', sub: 'org3-user' });
    expect(foreign.status).toBe(403);
    expect(foreign.json['code']).toBe('FOREIGN_ORGANIZATION');
  });
});
