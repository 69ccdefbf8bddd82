// Issue #26 items 1, 2 and 4 in headless Chromium against the real network (Fabric, Kafka, the
// organizations' DHT nodes and services as processes): every party that may read a sensor feed
// sees it, whoever operates the device; a party without feed:read sees the ledger's refusal; the
// owner creates a twin from an AML file and edits its specification with a preview, each write
// answered with its transaction and block; external sources; the tree by keyboard alone.
// Org1 owns and operates the plant (its feed-ingest writes the feed), Org2 audits it (its own
// feed-ingest reads Org1's feed from the DHT), Org3 is the manufacturer, granted spec:read only.
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

const NEW_SENSOR = 'sensor-temperature-2';
const NEW_SENSOR_AML = `<InternalElement Name="TemperatureSensor2" ID="${NEW_SENSOR}">
  <Attribute Name="MeasuredQuantity" AttributeDataType="xs:string"><Value>temperature</Value></Attribute>
  <Attribute Name="ExpectedMin" AttributeDataType="xs:double" Unit="degC"><Value>4</Value></Attribute>
  <Attribute Name="ExpectedMax" AttributeDataType="xs:double" Unit="degC"><Value>8</Value></Attribute>
</InternalElement>`;
/** The one reading outside 4–8 degC the auditor must be shown. */
const ANOMALY = 12.75;

async function api<T>(url: string, token: string, method = 'GET', body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? null : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

(fabric.ok ? describe : describe.skip)('console for every party in Chromium: feeds, twin creation and editing (real Fabric, Kafka, DHT)', () => {
  let world: LedgerWorld;
  let browser: Browser;
  let twinId: string;
  let feedId: string;
  let readingsFrom: number;

  const owner = (): LedgerOrg => world.orgs[0]!;
  const auditor = (): LedgerOrg => world.orgs[1]!;
  const manufacturer = (): LedgerOrg => world.orgs[2]!;

  beforeAll(async () => {
    const step = stepLogger('console-parties');
    world = await startLedgerWorld('console-parties', ['console', 'spec-service', 'acl-service', 'dht-gateway', 'feed-ingest'], { feedIngest: ['Org1MSP', 'Org2MSP'] });
    const ownerToken = await owner().token('User1');

    // The feed twin: Org2 audits; Org3 may read the specification only (no role, so no feed:read),
    // and the default READER grant to every party is revoked, which would give it feed:read.
    const aml = await readFile(join(ROOT, 'chaincode/fixtures/bottling-plant.aml'), 'utf8');
    const created = await api<{ result: { twinId: string } }>(`${owner().spec.url}/twins`, ownerToken, 'POST', {
      deviceId: 'bottling-plant-feeds',
      deviceName: 'Bottling plant (feeds)',
      aml,
      grants: [
        { mspId: auditor().mspId, role: 'AUDITOR' },
        { mspId: manufacturer().mspId, permission: 'spec:read' },
      ],
    });
    expect(created.status).toBe(201);
    twinId = created.body.result.twinId;
    expect((await api(`${owner().acl.url}/twins/${twinId}/grants/revoke`, ownerToken, 'POST', { mspId: '*', role: 'READER' })).status).toBe(200);

    // The paper's maintenance step as the device agent does it: the new sensor into the
    // specification, its feed registered with feed-ingest and on the ledger, readings flowing.
    expect((await api(`${owner().spec.url}/twins/${twinId}/elements`, ownerToken, 'POST', { aml: NEW_SENSOR_AML, parentId: 'filler-1', afterId: 'sensor-temperature-1' })).status).toBe(201);
    const feed = await api<{ feedId: string }>(`${owner().feeds!.url}/feeds`, ownerToken, 'POST', { twinId, componentId: NEW_SENSOR, unit: 'degC', aml: NEW_SENSOR_AML });
    expect(feed.status).toBe(201);
    feedId = feed.body.feedId;
    expect((await api(`${owner().spec.url}/twins/${twinId}/feeds/${NEW_SENSOR}`, ownerToken, 'PUT', { feedRef: feedId })).status).toBe(201);
    readingsFrom = Date.now() - 120_000;
    const readings = Array.from({ length: 120 }, (_, i) => ({ feed: feedId, component: NEW_SENSOR, ts: readingsFrom + i * 1000, v: i === 90 ? ANOMALY : 5 + (i % 20) / 10, u: 'degC' }));
    expect((await api(`${owner().feeds!.url}/readings`, ownerToken, 'POST', readings)).status).toBe(202);
    step('feed twin, new sensor and its readings written');

    // The readings are in the DHT once the owner's segment builder appended them; the auditor's
    // own feed-ingest must read them before its console can (its node fetches from the replicas).
    const auditorToken = await auditor().token('User1');
    for (let i = 0; i < 120; i++) {
      const latest = await api<{ reading: { ts: number } | null }>(`${auditor().feeds!.url}/feeds/${feedId}/latest`, auditorToken);
      if (latest.status === 200 && latest.body.reading?.ts === readings.at(-1)!.ts) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    step('feed readable by the auditor');

    await startOrgConsole(world, owner(), 'owner=User1:OWNER', 'bottling plant owner and operator');
    await startOrgConsole(world, auditor(), 'auditor=User1:AUDITOR', 'auditor');
    await startOrgConsole(world, manufacturer(), 'manufacturer=User1:MANUFACTURER', 'manufacturer');
    browser = await launchBrowser();
    step('consoles and chromium up');
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  it("auditor: the new sensor's feed, listed from the ledger and read through its own feed-ingest, with its history and the anomaly", async () => {
    const page = await signedInPage(browser, auditor().console!.url, 'auditor');
    await page.goto(`${auditor().console!.url}/#/twins/${encodeURIComponent(twinId)}/feeds`);
    const panel = page.locator(`section[data-component-id="${NEW_SENSOR}"]`);
    await panel.waitFor({ timeout: 30_000 });
    expect(await panel.getAttribute('data-feed-id')).toBe(feedId);
    await panel.getByTestId('expected-range').waitFor({ timeout: 30_000 });
    expect(await panel.getByTestId('expected-range').textContent()).toContain('4–8 degC');
    await panel.getByTestId('latest-reading').waitFor({ timeout: 30_000 });
    // The history: the last hour up to the newest reading, 120 readings in the chart's buckets.
    await panel.locator('canvas[data-drawn]').last().waitFor({ timeout: 30_000 });
    const anomalies = panel.getByTestId('history-anomalies');
    await anomalies.waitFor({ timeout: 30_000 });
    expect(Number(await anomalies.getAttribute('data-count'))).toBe(1);
    const row = anomalies.getByRole('row').filter({ hasText: String(ANOMALY) });
    await row.waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toContain(new Date(readingsFrom + 90 * 1000).toISOString());
    expect(await row.textContent()).toContain('4–8 degC');
    await expectAccessible(page);
    await screenshot(page, 'auditor-feeds');
    await page.close();
  });

  it("auditor: live readings of Org1's feed over SSE through its own feed-ingest, an out-of-range one flagged as it arrives", async () => {
    const page = await signedInPage(browser, auditor().console!.url, 'auditor');
    await page.goto(`${auditor().console!.url}/#/twins/${encodeURIComponent(twinId)}/feeds`);
    const panel = page.locator(`section[data-component-id="${NEW_SENSOR}"]`);
    await panel.getByTestId('latest-reading').waitFor({ timeout: 30_000 });
    const live = panel.locator('canvas[data-testid="series-chart"]').first();
    const ownerToken = await owner().token('User1');
    // The page's stream starts after the feed's newest segment when it connects, which the page
    // does not announce: batches go out until one is drawn (each batch is 20 readings, one of them 3.5 degC).
    for (let batch = 0; batch < 10 && Number((await live.getAttribute('data-drawn')) ?? '0') < 20; batch++) {
      const now = Date.now();
      const readings = Array.from({ length: 20 }, (_, i) => ({ feed: feedId, component: NEW_SENSOR, ts: now + i * 10, v: i === 10 ? 3.5 : 6, u: 'degC' }));
      expect((await api(`${owner().feeds!.url}/readings`, ownerToken, 'POST', readings)).status).toBe(202);
      await page.waitForFunction((el) => Number((el as HTMLCanvasElement).dataset['drawn'] ?? '0') >= 20, await live.elementHandle(), { timeout: 5_000 }).catch(() => undefined);
    }
    expect(Number(await live.getAttribute('data-drawn'))).toBeGreaterThanOrEqual(20);
    expect(await panel.locator('figcaption').first().textContent()).toMatch(/expected 4–8 degC, [1-9]\d* outside the expected range/);
    const log = page.getByRole('log', { name: 'Live anomalies of TemperatureSensor2' });
    await log.waitFor({ timeout: 30_000 });
    expect(await log.textContent()).toContain('3.5 degC');
    await expectAccessible(page);
    await screenshot(page, 'auditor-feeds-live');
    await page.close();
  });

  it('manufacturer without feed:read: the feeds tab shows the ledger refusal and why', async () => {
    const page = await signedInPage(browser, manufacturer().console!.url, 'manufacturer');
    // It may read the specification...
    await page.goto(`${manufacturer().console!.url}/#/twins/${encodeURIComponent(twinId)}/spec`);
    await page.getByRole('tree', { name: 'AML specification' }).waitFor({ timeout: 30_000 });
    // ...not the feeds: the chaincode refuses the feed list, and the page says so with its code.
    await page.goto(`${manufacturer().console!.url}/#/twins/${encodeURIComponent(twinId)}/feeds`);
    const alert = page.getByRole('alert').filter({ hasText: 'list the twin' });
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.getAttribute('data-code')).toBe('ACCESS_DENIED');
    expect(await alert.textContent()).toContain('feed:read');
    await page.getByText("You may not read this twin's sensor feeds (feed:read).").waitFor({ timeout: 30_000 });
    expect(await page.locator('section[data-feed-id]').count()).toBe(0);
    await expectAccessible(page);
    await screenshot(page, 'manufacturer-feeds-refused');
    await page.close();
  });

  it('owner: creates a twin from an AML file with an extra grant; the receipt names its transaction and block', async () => {
    const page = await signedInPage(browser, owner().console!.url, 'owner');
    await page.getByRole('link', { name: 'Create a twin from an AML file' }).click();
    await page.getByLabel('Device ID (becomes the twin ID)').fill('bottling-plant-2');
    await page.getByLabel('Device name').fill('Bottling plant 2');
    const aml = await readFile(join(ROOT, 'chaincode/fixtures/bottling-plant.aml'));
    await page.getByLabel('AML file (CAEX 3.0 or 2.15)').setInputFiles({ name: 'bottling-plant.aml', mimeType: 'application/xml', buffer: aml });
    await page.getByTestId('aml-file').waitFor();
    await page.getByRole('button', { name: 'Add a grant' }).click();
    await page.getByLabel('Organization 1 (MSP ID)').fill(auditor().mspId);
    await page.getByLabel('Role 1').selectOption('AUDITOR');
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Create twin' }).click();
    const receipt = page.getByTestId('receipt');
    await receipt.waitFor({ timeout: 60_000 });
    const tx = (await receipt.getAttribute('data-tx'))!;
    expect(tx).toMatch(/^[0-9a-f]{64}$/);
    expect(await receipt.getAttribute('data-block')).toMatch(/^\d+$/);
    expect(await receipt.textContent()).toContain(tx);
    // The ledger agrees: the twin with its creation transaction, and the extra grant.
    const token = await owner().token('User1');
    const header = await api<{ txId: string }>(`${owner().spec.url}/twins/bottling-plant-2`, token);
    expect(header.body.txId).toBe(tx);
    const grants = await api<{ items: { mspId: string; role?: string }[] }>(`${owner().acl.url}/twins/bottling-plant-2/grants?limit=100`, token);
    expect(grants.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ mspId: auditor().mspId, role: 'AUDITOR' })]));
    await screenshot(page, 'owner-create-twin');
    await page.close();
  });

  it('owner: inserts an element with a preview, then removes one, each committed with its transaction and block', async () => {
    const page = await signedInPage(browser, owner().console!.url, 'owner');
    await page.goto(`${owner().console!.url}/#/twins/bottling-plant-2/spec`);
    const tree = page.getByRole('tree', { name: 'AML specification' });
    await tree.waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('spec-summary').textContent()).toBe('9 components, 25 attributes, 5 interfaces, 3 programs');
    await page.getByRole('treeitem', { name: /^element Filler/ }).click();
    await page.getByLabel('AML fragment to insert under Filler').fill(NEW_SENSOR_AML);
    await page.getByLabel('Position').selectOption('sensor-temperature-1');
    await page.getByRole('button', { name: 'Preview insertion' }).click();
    const preview = page.getByTestId('change-preview');
    await preview.waitFor();
    const lines = await preview.getByRole('listitem').allTextContents();
    // Context (the parent and its element children), the new rows added after the chosen sibling.
    expect(lines[0]).toMatch(/^ unchanged: .*Filler/);
    const at = lines.findIndex((l) => l.includes('TemperatureSensor2'));
    expect(lines[at]).toMatch(/^\+added: /);
    expect(lines[at - 1]).toContain('TemperatureSensor');
    expect(lines.filter((l) => l.startsWith('+added'))).toHaveLength(4);
    expect(await preview.textContent()).toContain('4 rows added');
    await expectAccessible(page);
    await screenshot(page, 'owner-insert-preview');
    await page.getByRole('button', { name: 'Commit insertion' }).click();
    const receipt = page.getByTestId('receipt');
    await receipt.waitFor({ timeout: 60_000 });
    const insertTx = (await receipt.getAttribute('data-tx'))!;
    expect(await receipt.getAttribute('data-block')).toMatch(/^\d+$/);
    // The tree is re-read from the ledger (the new rows are below the rendered window of the virtualized tree).
    await page.getByTestId('spec-summary').filter({ hasText: '10 components, 28 attributes, 5 interfaces, 3 programs' }).waitFor({ timeout: 30_000 });
    const token = await owner().token('User1');
    const history = await api<{ changes: { txId: string; operation: string }[] }>(`${owner().spec.url}/twins/bottling-plant-2/history?elementId=${NEW_SENSOR}`, token);
    expect(history.body.changes.map((c) => [c.operation, c.txId])).toContainEqual(['insertAML', insertTx]);

    // Remove: the preview lists the whole subtree that goes.
    await page.getByRole('treeitem', { name: /^element FlowSensor/ }).click();
    await page.getByRole('button', { name: 'Preview removal of FlowSensor' }).click();
    const removed = await page.getByTestId('change-preview').getByRole('listitem').allTextContents();
    // FlowSensor, its four attributes, its interface and its role.
    expect(removed.filter((l) => l.startsWith('-removed'))).toHaveLength(7);
    expect(removed.filter((l) => l.startsWith('-removed')).join('\n')).toContain('ExpectedMax');
    await page.getByRole('button', { name: 'Commit removal' }).click();
    await page.getByTestId('receipt').filter({ hasText: 'Removed FlowSensor' }).waitFor({ timeout: 60_000 });
    const removeTx = (await page.getByTestId('receipt').getAttribute('data-tx'))!;
    expect(removeTx).not.toBe(insertTx);
    expect((await api(`${owner().spec.url}/twins/bottling-plant-2/elements/sensor-flow-1`, token)).status).toBe(404);
    await page.getByTestId('spec-summary').filter({ hasText: '9 components, 24 attributes, 4 interfaces, 3 programs' }).waitFor({ timeout: 30_000 });
    expect(await page.getByRole('treeitem', { name: /^element FlowSensor/ }).count()).toBe(0);
    await screenshot(page, 'owner-removed');
    await page.close();
  });

  it('owner: the tree by keyboard alone (APG tree keys), and external sources added with their transaction', async () => {
    const page = await signedInPage(browser, owner().console!.url, 'owner');
    await page.goto(`${owner().console!.url}/#/twins/bottling-plant-2/spec`);
    const tree = page.getByRole('tree', { name: 'AML specification' });
    await tree.waitFor({ timeout: 30_000 });
    const active = async (): Promise<string> => (await page.locator(`#${(await tree.getAttribute('aria-activedescendant'))!}`).textContent()) ?? '';
    await tree.focus();
    expect(await active()).toContain('BottlingPlant');
    await page.keyboard.press('ArrowDown');
    expect(await active()).toContain('Plant');
    await page.keyboard.press('ArrowLeft'); // Plant is open: closes it
    expect(await tree.locator('[role=treeitem][aria-expanded=false]').count()).toBe(1);
    await page.keyboard.press('ArrowRight'); // opens it again
    await page.keyboard.press('ArrowRight'); // open: to its first child
    expect(await active()).toContain('Manufacturer');
    await page.keyboard.press('ArrowLeft'); // a leaf: to its parent
    expect(await active()).toMatch(/element\s*Plant/);
    await page.keyboard.press('f'); // type-ahead: the next row starting with f
    expect(await active()).toContain('Filler');
    await page.keyboard.press('Enter');
    await page.getByTestId('element-detail').filter({ hasText: 'filler-1' }).waitFor();
    await page.keyboard.press('End');
    const last = await active();
    await page.keyboard.press('Home');
    expect(await active()).toContain('BottlingPlant');
    expect(last).not.toContain('BottlingPlant');
    const item = page.locator(`#${(await tree.getAttribute('aria-activedescendant'))!}`);
    expect([await item.getAttribute('aria-level'), await item.getAttribute('aria-posinset'), await item.getAttribute('aria-setsize')]).toEqual(['1', '1', '1']);

    await page.goto(`${owner().console!.url}/#/twins/bottling-plant-2/sources`);
    await page.getByLabel('URI').fill('https://vendor.example/bottling-plant/manual');
    await page.getByLabel('Description (optional)').fill("Manufacturer's online manual");
    await page.getByRole('button', { name: 'Add source' }).click();
    const receipt = page.getByTestId('receipt');
    await receipt.waitFor({ timeout: 60_000 });
    expect(await receipt.getAttribute('data-block')).toMatch(/^\d+$/);
    await page.getByRole('link', { name: 'https://vendor.example/bottling-plant/manual' }).waitFor({ timeout: 30_000 });
    await expectAccessible(page);
    await screenshot(page, 'owner-sources');
    await page.close();
  });
});
