import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where installed engines live: outside the repo, shared by every checkout and run. */
export function defaultCacheDir(): string {
  return join(homedir(), '.cache', 'twinledger');
}

/** An install is complete only once its marker exists, so an interrupted install is redone. */
export function readMarker(dir: string): Record<string, unknown> | undefined {
  const file = join(dir, '.installed.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function writeMarker(dir: string, content: Record<string, unknown>): void {
  writeFileSync(join(dir, '.installed.json'), JSON.stringify({ ...content, installedAt: new Date().toISOString() }, null, 2));
}
