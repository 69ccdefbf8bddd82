import { readFileSync } from 'node:fs';
import { BundleUnreadableError } from './errors.js';
import { verifyReadingsProof } from './readings-proof.js';
import { verifyBlockBundle } from './verify.js';

/** Where the CLI writes; process streams in cli.ts, buffers in tests. */
export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

/** Options that take a value; everything else starting with `--` is a flag. */
const VALUED = ['--config-hash', '--readings', '--from', '--to', '--feed'] as const;
const USAGE =
  'usage: npm run verify -- <bundle.json> [--json] [--config-hash <hex sha-256 of the config block header>] [--readings <answer.json> --from <ms> --to <ms> [--feed <feedId>]]';

/** Reads a JSON file, or says why not (the CLI's exit 2). */
function readJson(file: string, io: CliOutput): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(readFileSync(file, 'utf8')) };
  } catch (err) {
    const e = new BundleUnreadableError(`${file}: ${(err as Error).message}`, { cause: err });
    io.err(`${e.code}: ${e.message}`);
    return undefined;
  }
}

/**
 * `npm run verify -- <bundle.json> [--json] [--config-hash <hex>] [--readings <answer.json> --from
 * <ms> --to <ms> [--feed <id>]]`. Reads the files and nothing else. With `--readings`, a readings
 * answer of feed-ingest (`?proof=true`) is checked against the anchors the bundle verified.
 * Returns the exit code: 0 everything verifies, 1 it does not, 2 usage or unreadable file.
 */
export function runVerifyCli(argv: readonly string[], io: CliOutput): number {
  const json = argv.includes('--json');
  const opt = new Map<string, string | undefined>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((VALUED as readonly string[]).includes(a)) opt.set(a, argv[++i]);
    else if (!a.startsWith('--')) positional.push(a);
  }
  const pinned = opt.get('--config-hash');
  const file = positional[0];
  const readingsFile = opt.get('--readings');
  const from = Number(opt.get('--from'));
  const to = Number(opt.get('--to'));
  const badReadings = readingsFile !== undefined && (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || (opt.has('--feed') && opt.get('--feed') === undefined));
  if (!file || [...opt.values()].some((v) => v === undefined) || badReadings || (readingsFile === undefined && (opt.has('--from') || opt.has('--to')))) {
    io.err(USAGE);
    return 2;
  }
  const read = readJson(file, io);
  if (!read) return 2;
  const bundle = read.value;
  const answer = readingsFile !== undefined ? readJson(readingsFile, io) : undefined;
  if (readingsFile !== undefined && !answer) return 2;
  const result = verifyBlockBundle(bundle, pinned !== undefined ? { expectedConfigBlockHash: pinned } : {});
  // The readings' feed: named, else the one the answer claims (the verifier checks the claim).
  const feedId = opt.get('--feed') ?? String((answer?.value as { proof?: { feedId?: unknown } } | null)?.proof?.feedId ?? '');
  const readings = answer ? verifyReadingsProof(answer.value, (result.feeds ?? []).flatMap((f) => f.verifiedAnchors), { feedId, from, to }) : undefined;
  if (json) {
    io.out(JSON.stringify(readings ? { ...result, readings } : result, null, 2));
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
  if (readings && !json) {
    io.out(`readings of feed ${feedId.slice(0, 16)}... in [${from}, ${to}]: ${readings.ok ? 'VERIFIED' : 'NOT VERIFIED'}`);
    io.out(`  ${readings.provenReadings} readings proven by anchors at block(s) ${readings.anchors.map((a) => a.blockNumber).join(', ') || '-'}; ${readings.unanchoredReadings} past the last anchor (owner-signed only)`);
    io.out(`  edges: before ${readings.edges.before}, after ${readings.edges.after}${readings.edges.after === 'open' ? ' (a later segment past the last anchor may be left out)' : ''}`);
    for (const f of readings.failures) io.out(`  ${f.code}${f.edge ? ` edge=${f.edge}` : ''}${f.index !== undefined ? ` index=${f.index}` : ''}${f.reading !== undefined ? ` reading=${f.reading}` : ''}: ${f.reason}`);
  }
  return result.ok && (readings?.ok ?? true) ? 0 : 1;
}
