#!/usr/bin/env node
// Installs Debian's chromium for the console's browser tests when it is missing. Playwright's own
// browser download cannot be used here (only package registries are reachable), so the tests drive
// the distribution's build through playwright-core with `executablePath`. Idempotent; CI is a clean
// Debian 12 machine running as root, so apt-get works there as it does on a developer machine.
// Plain JavaScript so it runs before any build. As a script it prints the executable path; as a
// module, `ensureChromium()` returns it.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export const CHROMIUM_PATH = process.env.TWINLEDGER_CHROMIUM || '/usr/bin/chromium';

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function apt(args) {
  const res = spawnSync('apt-get', args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (res.error) throw new Error(`cannot install chromium: apt-get ${args.join(' ')} failed to start (${res.error.message}); install Debian's chromium package or set TWINLEDGER_CHROMIUM`);
  if (res.status !== 0) {
    throw new Error(`cannot install chromium: apt-get ${args.join(' ')} exited ${res.status}; install Debian's chromium package or set TWINLEDGER_CHROMIUM\n${res.stderr.slice(-4000)}`);
  }
}

/** Returns the path of a Chromium executable, installing Debian's package first when it is missing. */
export function ensureChromium() {
  if (executable(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (process.env.TWINLEDGER_CHROMIUM) throw new Error(`TWINLEDGER_CHROMIUM=${CHROMIUM_PATH} is not an executable`);
  apt(['update', '-q']);
  // Fonts so text renders (and contrast is measurable) in screenshots.
  apt(['install', '-y', '-q', '--no-install-recommends', 'chromium', 'fonts-dejavu-core']);
  if (!executable(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is missing`);
  return CHROMIUM_PATH;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${ensureChromium()}\n`);
}
