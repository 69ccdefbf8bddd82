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
  const file = argv.find((a) => !a.startsWith('--'));
  if (!file) {
    process.stderr.write('usage: npm run verify -- <bundle.json> [--json]\n');
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
  const result = verifyBlockBundle(bundle);
  if (json) {
    out(JSON.stringify(result, null, 2));
  } else {
    out(`twin ${result.twinId ?? '?'}: ${result.ok ? 'VERIFIED' : 'NOT VERIFIED'}`);
    for (const c of result.checks) out(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check} (${c.count})`);
    for (const f of result.failures) out(`  ${f.code}${f.block !== undefined ? ` block=${f.block}` : ''}${f.txId ? ` tx=${f.txId}` : ''}: ${f.reason}`);
  }
  return result.ok ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
