// Headless Chromium (Debian's package, installed on demand by scripts/browser-tools.mjs) driven
// through playwright-core, with axe-core injected for accessibility checks.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import playwright from 'playwright-core';
import { expect } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { ensureChromium } from '../../../../scripts/browser-tools.mjs';
import { ROOT } from './processes.js';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');

export async function launchBrowser(): Promise<Browser> {
  const executablePath = ensureChromium();
  // Root in CI: Chromium's sandbox needs user namespaces that containers often lack.
  return playwright.chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { target: readonly string[]; failureSummary?: string }[];
}

/** Runs axe-core (WCAG 2.x A and AA rules) on the page as it is now. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
}

export function describeViolations(v: readonly AxeViolation[]): string {
  return v.map((x) => `${x.id} (${x.impact}): ${x.help}\n  ${x.nodes.map((n) => `${n.target.join(' ')} ${n.failureSummary ?? ''}`).join('\n  ')}`).join('\n');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A fresh page of the console at `consoleUrl`, signed in as one of its dev users. */
export async function signedInPage(browser: Browser, consoleUrl: string, user: string): Promise<Page> {
  // bypassCSP: the console's CSP (script-src 'self') would refuse the injected axe-core script.
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  await page.goto(`${consoleUrl}/`);
  await page.getByRole('button', { name: `Sign in as ${user}` }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

/** The page as it is now has no WCAG 2.x A/AA violation axe-core finds (the list is the failure message). */
export async function expectAccessible(page: Page): Promise<void> {
  expect(describeViolations(await axeViolations(page))).toBe('');
}
