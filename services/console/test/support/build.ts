import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './processes.js';

/** The services the tests spawn, and the console's web bundle, built as `npm run build` builds them. */
export function buildForTests(services: readonly string[]): void {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', ...services.map((s) => join(ROOT, 'services', s))], { stdio: 'inherit' });
  execFileSync('npm', ['run', 'build:web', '--silent', '-w', '@twinledger/console'], { cwd: ROOT, stdio: 'inherit' });
}

/** Progress of a slow set-up on stderr, so a hook timeout says which step hung. */
export function stepLogger(name: string): (what: string) => void {
  const t0 = Date.now();
  return (what) => void process.stderr.write(`[${name}] ${what} after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
