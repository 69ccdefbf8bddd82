import { readFileSync } from 'node:fs';
import { BundleUnreadableError } from './errors.js';
import { verifyBlockBundle } from './verify.js';

/** Where the CLI writes; process streams in cli.ts, buffers in tests. */
export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

/**
 * `npm run verify -- <bundle.json> [--json] [--config-hash <hex>]`. Reads one file and nothing
 * else. Returns the exit code: 0 the bundle verifies, 1 it does not, 2 usage or unreadable file.
 */
export function runVerifyCli(argv: readonly string[], io: CliOutput): number {
  const json = argv.includes('--json');
  const pinAt = argv.indexOf('--config-hash');
  const pinned = pinAt >= 0 ? argv[pinAt + 1] : undefined;
  const file = argv.find((a, i) => !a.startsWith('--') && (pinAt < 0 || i !== pinAt + 1));
  if (!file || (pinAt >= 0 && pinned === undefined)) {
    io.err('usage: npm run verify -- <bundle.json> [--json] [--config-hash <hex sha-256 of the config block header>]');
    return 2;
  }
  let bundle: unknown;
  try {
    bundle = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = new BundleUnreadableError(`${file}: ${(err as Error).message}`, { cause: err });
    io.err(`${e.code}: ${e.message}`);
    return 2;
  }
  const result = verifyBlockBundle(bundle, pinned !== undefined ? { expectedConfigBlockHash: pinned } : {});
  if (json) {
    io.out(JSON.stringify(result, null, 2));
  } else {
    io.out(`twin ${result.twinId ?? '?'}: ${result.ok ? 'VERIFIED' : 'NOT VERIFIED'}`);
    if (result.configBlock) {
      io.out(`  trust anchor: config block ${result.configBlock.number}, header sha256 ${result.configBlock.headerHash}${pinned ? ' (pinned)' : ' (not pinned: compare it out of band, or pass --config-hash)'}`);
    }
    if (result.completeThrough !== undefined) {
      io.out(`  change list proven complete through block ${result.completeThrough ?? '-'}${result.completeThrough === null ? ' (the creation block is not in the bundle)' : ' (every block from the creation on is included; later changes are not covered)'}`);
    }
    for (const c of result.checks) io.out(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check} (${c.count})`);
    for (const f of result.feeds ?? []) {
      const range = f.anchored ? `indices ${f.anchored.from}..${f.anchored.to}` : 'nothing';
      io.out(`  feed ${f.componentId} (${f.feedId.slice(0, 16)}...): ${f.anchors} anchors over ${range}; ${f.provenUpdates} updates proven, ${f.provenSegments} segments of readings hashed`);
      for (const q of f.equivocations) io.out(`    EQUIVOCATION at index ${q.index}: ${q.updateHashes.join(' vs ')}${q.anchored ? ` (anchored: ${q.anchored})` : ''}`);
    }
    for (const f of result.failures) io.out(`  ${f.code}${f.block !== undefined ? ` block=${f.block}` : ''}${f.txId ? ` tx=${f.txId}` : ''}${f.feedId ? ` feed=${f.feedId.slice(0, 16)}` : ''}${f.index !== undefined ? ` index=${f.index}` : ''}: ${f.reason}`);
  }
  return result.ok ? 0 : 1;
}
