#!/usr/bin/env node
// `npm run verify -- <bundle.json>`: the auditor's tool. It reads one file and nothing else (no
// network, no TwinLedger service) and prints each check, then each failure with its code.
// Exit 0 = the bundle verifies, 1 = it does not, 2 = the file could not be read.
import { readFileSync } from 'node:fs';
import { BundleUnreadableError } from './errors.js';
import { verifyBlockBundle } from './verify.js';

const out = (line: string): void => void process.stdout.write(`${line}\n`);

function main(argv: readonly string[]): number {
  const json = argv.includes('--json');
  const pinAt = argv.indexOf('--config-hash');
  const pinned = pinAt >= 0 ? argv[pinAt + 1] : undefined;
  const file = argv.find((a, i) => !a.startsWith('--') && (pinAt < 0 || i !== pinAt + 1));
  if (!file) {
    process.stderr.write('usage: npm run verify -- <bundle.json> [--json] [--config-hash <hex sha-256 of the config block header>]\n');
    return 2;
  }
  let bundle: unknown;
  try {
    bundle = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = new BundleUnreadableError(`${file}: ${(err as Error).message}`, { cause: err });
    process.stderr.write(`${e.code}: ${e.message}\n`);
    return 2;
  }
  const result = verifyBlockBundle(bundle, pinned !== undefined ? { expectedConfigBlockHash: pinned } : {});
  if (json) {
    out(JSON.stringify(result, null, 2));
  } else {
    out(`twin ${result.twinId ?? '?'}: ${result.ok ? 'VERIFIED' : 'NOT VERIFIED'}`);
    if (result.configBlock) out(`  trust anchor: config block ${result.configBlock.number}, header sha256 ${result.configBlock.headerHash}${pinned ? '' : ' (not pinned: compare it out of band, or pass --config-hash)'}`);
    for (const c of result.checks) out(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check} (${c.count})`);
    for (const f of result.failures) out(`  ${f.code}${f.block !== undefined ? ` block=${f.block}` : ''}${f.txId ? ` tx=${f.txId}` : ''}: ${f.reason}`);
  }
  return result.ok ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
