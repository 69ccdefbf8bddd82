#!/usr/bin/env node
// `npm test`: every test of the repo, i.e. the workspace suites (unit and engine integration)
// and the chaincode's own suite (a separate package the peer builds alone). Prints one closing
// line with the totals of both runs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'test-artifacts');
mkdirSync(out, { recursive: true });
const extra = process.argv.slice(2);

// --forceExit: a library handle left open (a gRPC channel's timer, a libp2p socket in
// teardown) must never keep CI waiting after the last test; engine processes are still
// stopped by the suites and by devnet's exit hook.
const runs = [
  {
    name: 'workspaces',
    cmd: process.execPath,
    args: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', join(root, 'node_modules/jest/bin/jest.js'), '--runInBand', '--forceExit', '--json', `--outputFile=${join(out, 'jest-workspaces.json')}`, ...extra],
    cwd: root,
    report: join(out, 'jest-workspaces.json'),
  },
];
if (extra.length === 0) {
  runs.push({
    name: 'chaincode',
    cmd: join(root, 'chaincode/node_modules/.bin/jest'),
    args: ['--json', `--outputFile=${join(out, 'jest-chaincode.json')}`],
    cwd: join(root, 'chaincode'),
    report: join(out, 'jest-chaincode.json'),
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
let ok = true;
for (const r of runs) {
  process.stdout.write(`\n== ${r.name} tests ==\n`);
  const res = spawnSync(r.cmd, r.args, { cwd: r.cwd, stdio: 'inherit', env: process.env });
  if (res.status !== 0) ok = false;
  if (!existsSync(r.report)) {
    ok = false;
    process.stdout.write(`${r.name}: no report written\n`);
    continue;
  }
  const j = JSON.parse(readFileSync(r.report, 'utf8'));
  passed += j.numPassedTests;
  failed += j.numFailedTests + (j.numRuntimeErrorTestSuites ?? 0);
  skipped += j.numPendingTests + (j.numTodoTests ?? 0);
}
process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(ok && failed === 0 ? 0 : 1);
