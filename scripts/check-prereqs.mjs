#!/usr/bin/env node
// Checks the tools a fresh machine needs before anything is installed or started, and says
// exactly what is missing. Plain JavaScript so it runs before any build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const problems = [];
// Some tools (java -version) print their version on stderr: read both.
const version = (cmd, args) => {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  if (res.error || res.status !== 0) return undefined;
  return `${res.stdout}${res.stderr}`.trim() || undefined;
};

const [major, minor] = process.versions.node.split('.').map(Number);
if (major !== 20 || minor < 19) problems.push(`Node.js 20.19 or later 20.x is required (found ${process.version}); install Node 20 LTS.`);

const go = version('go', ['version']);
const goMatch = go && /go(\d+)\.(\d+)/.exec(go);
if (!goMatch) problems.push('Go is required to install Hyperledger Fabric (go install); install Go 1.24 or later.');
else if (Number(goMatch[1]) === 1 && Number(goMatch[2]) < 24) problems.push(`Go 1.24 or later is required (found ${go}).`);

const java = version('java', ['-version']);
const javaMatch = java && /version "(\d+)/.exec(java);
if (!javaMatch) problems.push('Java 17 or later is required to run Apache Kafka; install OpenJDK 17.');
else if (Number(javaMatch[1]) < 17) problems.push(`Java 17 or later is required (found ${java.split('\n')[0]}).`);

if (!version('mvn', ['--version'])) problems.push('Apache Maven is required to fetch the Kafka jars from Maven Central; install Maven 3.8 or later.');
if (!version('tar', ['--version'])) problems.push('tar is required to package the chaincode.');

if (problems.length > 0) {
  process.stderr.write(`TwinLedger prerequisites missing:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}

// `npm start` and `npm test` work on a fresh clone with no command before them: the Node
// dependencies are installed from the lockfile when npm has not installed them yet (npm writes
// node_modules/.package-lock.json at the end of a complete install).
const root = new URL('..', import.meta.url).pathname;
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  process.stdout.write('Installing the Node dependencies (npm ci) ...\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const res = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (res.error || res.status !== 0) {
    process.stderr.write(`npm ci failed (${res.error?.message ?? `exit ${res.status}`}); fix the error above and run npm start or npm test again.\n`);
    process.exit(1);
  }
}
