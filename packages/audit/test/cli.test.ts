import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSegment, segmentReadings, type Reading } from '@twinledger/readings';
import { runVerifyCli, verifyBlockBundle, type AuditBlockBundle, type ReadingsProofSegment, type ReadingsWithProof } from '../src/index.js';

const FIXTURE = new URL('./fixtures/bundle.json', import.meta.url).pathname;

function run(argv: string[]): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = runVerifyCli(argv, { out: (l) => void out.push(l), err: (l) => void err.push(l) });
  return { code, out, err };
}

/**
 * The readings answer feed-ingest would serve for every reading of the captured feed bundle
 * (the same records, proofs, manifests and segments), with the anchors the bundle verifies.
 */
function readingsAnswerOf(bundle: AuditBlockBundle): { answer: ReadingsWithProof; from: number; to: number } {
  const f = bundle.feeds![0]!;
  const anchors = verifyBlockBundle(bundle).feeds![0]!.verifiedAnchors.map(({ feedId: _f, ...a }) => a);
  const readings: Reading[] = [];
  const segments: ReadingsProofSegment[] = [];
  for (const u of f.updates) {
    const rs = segmentReadings(decodeSegment(Buffer.from(u.segmentBase64!, 'base64')), f.feedId);
    const index = u.update['index'] as number;
    segments.push({ update: u.update, manifest: u.manifest!, segmentBase64: u.segmentBase64!, readings: { offset: readings.length, count: rs.length }, anchor: anchors.find((a) => index >= a.fromIndex && index <= a.toIndex) ?? null, proof: u.proof });
    readings.push(...rs);
  }
  const ts = readings.map((r) => r.ts);
  return {
    answer: { readings, truncated: false, proof: { feedId: f.feedId, twinId: bundle.twinId, anchors, segments, unanchoredFrom: anchors[anchors.length - 1]!.toIndex + 1, before: null, after: null } },
    from: Math.min(...ts),
    to: Math.max(...ts),
  };
}

describe('npm run verify', () => {
  it('exits 0 on the captured bundle and prints the trust anchor', () => {
    const r = run([FIXTURE]);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/VERIFIED$/);
    expect(r.out[1]).toMatch(/trust anchor: config block 0, header sha256 [0-9a-f]{64}/);
  });

  it('prints each feed of a bundle with anchors, and a tampered reading with its feed and index', () => {
    const feeds = new URL('./fixtures/feed-bundle.json', import.meta.url).pathname;
    const ok = run([feeds]);
    expect(ok.code).toBe(0);
    expect(ok.out.some((l) => /feed sensor-fill-level-1 \([0-9a-f]{16}\.\.\.\): 2 anchors over indices 0\.\.\d+; \d+ updates proven, \d+ segments of readings hashed/.test(l))).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
    try {
      const b = JSON.parse(readFileSync(feeds, 'utf8')) as { feeds: { updates: { segmentBase64: string }[] }[] };
      b.feeds[0]!.updates[0]!.segmentBase64 = Buffer.from('forged').toString('base64');
      writeFileSync(join(dir, 'b.json'), JSON.stringify(b));
      const r = run([join(dir, 'b.json')]);
      expect(r.code).toBe(1);
      expect(r.out.some((l) => /^ {2}FEED_SEGMENT_MISMATCH feed=[0-9a-f]{16} index=0: /.test(l))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 with the failure codes on a tampered bundle, and on a wrong pin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
    try {
      const b = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { documents: { contentBase64: string }[] };
      b.documents[0]!.contentBase64 = Buffer.from('forged').toString('base64');
      writeFileSync(join(dir, 'b.json'), JSON.stringify(b));
      const r = run([join(dir, 'b.json')]);
      expect(r.code).toBe(1);
      expect(r.out.some((l) => l.includes('DOCUMENT_HASH_MISMATCH'))).toBe(true);

      const pinned = run([FIXTURE, '--config-hash', '0'.repeat(64), '--json']);
      expect(pinned.code).toBe(1);
      expect(JSON.parse(pinned.out.join('\n'))).toMatchObject({ ok: false, failures: [{ code: 'CONFIG_UNEXPECTED' }] });
      const anchor = verifyBlockBundle(JSON.parse(readFileSync(FIXTURE, 'utf8'))).configBlock!.headerHash;
      expect(run(['--config-hash', anchor, FIXTURE]).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--readings: a readings answer checked against the anchors the bundle verified; a reading altered exits 1', () => {
    const feeds = new URL('./fixtures/feed-bundle.json', import.meta.url).pathname;
    const { answer, from, to } = readingsAnswerOf(JSON.parse(readFileSync(feeds, 'utf8')) as AuditBlockBundle);
    const dir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
    try {
      writeFileSync(join(dir, 'r.json'), JSON.stringify(answer));
      const ok = run([feeds, '--readings', join(dir, 'r.json'), '--from', String(from), '--to', String(to)]);
      expect(ok.code).toBe(0);
      expect(ok.out.some((l) => /^readings of feed [0-9a-f]{16}\.\.\. in \[\d+, \d+\]: VERIFIED$/.test(l))).toBe(true);
      expect(ok.out.some((l) => new RegExp(`^ {2}${answer.readings.length} readings proven by anchors at block\\(s\\) \\d+, \\d+; 0 past the last anchor`).test(l))).toBe(true);
      // From index 0 through the last anchored index, the feed's records end there: nothing after is proven absent.
      expect(ok.out).toContain('  edges: before feed-start, after open (a later segment past the last anchor may be left out)');
      (answer.readings[3] as { v: unknown }).v = 1234.5;
      writeFileSync(join(dir, 'r.json'), JSON.stringify(answer));
      const bad = run([feeds, '--readings', join(dir, 'r.json'), '--from', String(from), '--to', String(to), '--json']);
      expect(bad.code).toBe(1);
      expect((JSON.parse(bad.out.join('\n')) as { ok: boolean; readings: { failures: { code: string; reading: number }[] } })).toMatchObject({ ok: true, readings: { failures: [{ code: 'READING_ALTERED', reading: 3 }] } });
      expect(run([feeds, '--readings', join(dir, 'r.json'), '--from', String(from)]).code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 without a file, on a missing or non-JSON file', () => {
    expect(run([]).code).toBe(2);
    expect(run([FIXTURE, '--config-hash']).code).toBe(2);
    const missing = run(['/nonexistent/bundle.json']);
    expect(missing.code).toBe(2);
    expect(missing.err[0]).toMatch(/^BUNDLE_UNREADABLE: /);
  });
});
