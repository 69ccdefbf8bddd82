import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A built web app in a temporary folder: an index page and one hashed asset. */
export function webRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'console-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html lang="en"><title>t</title><div id="root"></div></html>');
  writeFileSync(join(dir, 'assets', 'app-abc.js'), 'export {};');
  return dir;
}
