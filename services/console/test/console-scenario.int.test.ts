// The maintainer's and the auditor's paths through the bottling-plant scenario (paper 5), in
// headless Chromium, each through their own organization's console, against the real ledger
// (Fabric), real Kafka and real dht-gateways. Screenshots in test-artifacts/console/, axe-core
// checks on the main pages. Fabric-gated: CI, which cannot install Fabric, reports it skipped.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { fabricAvailability } from '@twinledger/devnet';
import { expectAccessible, launchBrowser, screenshot, signedInPage } from './support/browser.js';
import { stepLogger } from './support/build.js';
import { startLedgerWorld, startOrgConsole, type LedgerOrg, type LedgerWorld } from './support/ledger-orgs.js';
import { ROOT } from './support/processes.js';

const fabric = await fabricAvailability();

(fabric.ok ? describe : describe.skip)('console scenario in Chromium: maintainer and auditor (real Fabric, Kafka, DHT)', () => {
  let world: LedgerWorld;
  let browser: Browser;
  let twinId: string;
  let createTx: string;
  const docTitle = 'Filler maintenance manual';
  const docBytes = Buffer.from('Filler FL-1: replace the fill valve seals every 2,000 operating hours.\n');

  const owner = (): LedgerOrg => world.orgs[0]!;
  const maintainerOrg = (): LedgerOrg => world.orgs[1]!;
  const auditorOrg = (): LedgerOrg => world.orgs[2]!;

  beforeAll(async () => {
    const step = stepLogger('console-scenario');
    world = await startLedgerWorld('console-scenario', ['console', 'spec-service', 'acl-service', 'dht-gateway']);
    // Org1 owns and operates the plant; Org2 maintains it, Org3 audits it.
    const aml = await readFile(join(ROOT, 'chaincode/fixtures/bottling-plant.aml'), 'utf8');
    const res = await fetch(`${owner().spec.url}/twins`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await owner().token('User1')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: 'bottling-plant-1', deviceName: 'Bottling plant', aml, grants: { [maintainerOrg().mspId]: 'MAINTAINER', [auditorOrg().mspId]: 'AUDITOR' } }),
    });
    const created = (await res.json()) as { transactionId: string; result: { twinId: string } };
    expect(res.status).toBe(201);
    twinId = created.result.twinId;
    createTx = created.transactionId;
    await startOrgConsole(world, maintainerOrg(), 'maintainer=User1:MAINTAINER', 'maintenance contractor');
    await startOrgConsole(world, auditorOrg(), 'auditor=User1:AUDITOR', 'auditor');
    browser = await launchBrowser();
    step('consoles and chromium up');
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  it('maintainer: finds the twin, reads the specification tree and an element history', async () => {
    const page = await signedInPage(browser, maintainerOrg().console!.url, 'maintainer');
    // The twin list comes from the relay journal: it appears once Org2's relay has seen the TwinCreated event.
    const link = page.getByRole('link', { name: 'Bottling plant' });
    for (let i = 0; i < 30 && (await link.count()) === 0; i++) {
      await page.waitForTimeout(1000);
      await page.reload();
    }
    await expectAccessible(page);
    await screenshot(page, 'maintainer-twin-list');
    await link.click();
    await page.getByRole('tree', { name: 'AML specification' }).waitFor();
    expect(await page.getByTestId('spec-summary').textContent()).toBe('9 components, 25 attributes, 5 interfaces, 3 programs');
    await page.getByRole('treeitem', { name: /Filler/ }).first().click();
    const detail = page.getByTestId('element-detail');
    await detail.getByRole('table').waitFor();
    expect(await detail.textContent()).toContain(owner().mspId);
    expect(await detail.textContent()).toContain(createTx.slice(0, 12));
    await expectAccessible(page);
    await screenshot(page, 'maintainer-spec');
    await page.close();
  });

  it('maintainer: uploads a document to a component and downloads it verified against the ledger', async () => {
    const page = await signedInPage(browser, maintainerOrg().console!.url, 'maintainer');
    await page.goto(`${maintainerOrg().console!.url}/#/twins/${encodeURIComponent(twinId)}/documents`);
    await page.getByLabel('File', { exact: true }).setInputFiles({ name: 'filler-manual.txt', mimeType: 'text/plain', buffer: docBytes });
    await page.getByLabel('Title', { exact: true }).fill(docTitle);
    await page.getByLabel('Component ID (optional)').fill('filler-1');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByRole('status').filter({ hasText: 'Stored' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: `Download ${docTitle}` }).click();
    await page.getByText('✔ verified against the ledger').waitFor({ timeout: 30_000 });
    expect(await page.getByText(/verified against the ledger \(\d+ bytes\)/).textContent()).toContain(`(${docBytes.length} bytes)`);
    await expectAccessible(page);
    await screenshot(page, 'maintainer-documents');
    await page.close();
  });

  it('maintainer: requests a program call within its safety bounds; one outside them is refused plainly', async () => {
    const page = await signedInPage(browser, maintainerOrg().console!.url, 'maintainer');
    await page.goto(`${maintainerOrg().console!.url}/#/twins/${encodeURIComponent(twinId)}/programs`);
    const form = page.getByRole('form', { name: 'Call SetConveyorSpeed' });
    await form.waitFor();
    expect(await form.textContent()).toContain('≥ 0, ≤ 2.5');
    await form.getByLabel(/speed/).fill('3.5');
    await form.getByRole('button', { name: 'Request call' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor({ timeout: 60_000 });
    expect(await alert.getAttribute('data-code')).toBe('OUT_OF_BOUNDS');
    await form.getByLabel(/speed/).fill('1.8');
    await form.getByRole('button', { name: 'Request call' }).click();
    await form.getByRole('status').waitFor({ timeout: 60_000 });
    expect(await form.getByRole('status').textContent()).toMatch(/Requested call \S+/);
    // The grants page says what the maintainer may not do, with the ledger's reason.
    await page.goto(`${maintainerOrg().console!.url}/#/twins/${encodeURIComponent(twinId)}/access`);
    await page.getByText('You may not manage grants on this twin.').waitFor({ timeout: 30_000 });
    await expectAccessible(page);
    await screenshot(page, 'maintainer-access');
    // The ledger events the maintainer's actions caused reached the console live.
    await page.getByRole('button', { name: /Ledger events/ }).click();
    await page.locator('#notification-list li').first().waitFor({ timeout: 30_000 });
    await screenshot(page, 'maintainer-notifications');
    await page.close();
  });

  it('auditor: reads the history, downloads the document verified, may not call programs, exports the audit bundle', async () => {
    const page = await signedInPage(browser, auditorOrg().console!.url, 'auditor');
    const base = `${auditorOrg().console!.url}/#/twins/${encodeURIComponent(twinId)}`;
    await page.goto(`${base}/history`);
    await page.getByRole('table').waitFor({ timeout: 30_000 });
    const history = await page.getByRole('table').textContent();
    expect(history).toContain(maintainerOrg().mspId);
    expect(history).toContain(createTx.slice(0, 12));
    await expectAccessible(page);
    await screenshot(page, 'auditor-history');

    await page.goto(`${base}/documents`);
    await page.getByRole('button', { name: `Download ${docTitle}` }).click();
    await page.getByText('✔ verified against the ledger').waitFor({ timeout: 30_000 });
    await screenshot(page, 'auditor-documents');

    await page.goto(`${base}/programs`);
    await page.getByText('You may not call programs of this twin.').waitFor({ timeout: 30_000 });
    expect(await page.getByRole('button', { name: 'Request call' }).first().isDisabled()).toBe(true);

    await page.goto(`${base}/audit`);
    await page.getByLabel(/Transaction ID, ISO time/).fill(createTx);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByTestId('as-of').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('as-of').textContent()).toContain(createTx);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export audit bundle' }).click();
    const file = await (await download).path();
    const bundle = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(bundle)).toContain(twinId);
    await expectAccessible(page);
    await screenshot(page, 'auditor-audit');
    await page.close();
  });
});
