import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { FailureCodes, verifyBlockBundle, type AuditBlockBundle, type BundleFeed } from '../src/index.js';

// A bundle with feeds captured from the real network (two organizations, Raft, MAJORITY): two
// anchor transactions of one feed, every update with its proof, manifest and segment.
// Regenerate with AUDIT_FEED_FIXTURE_OUT=$PWD/packages/audit/test/fixtures/feed-bundle.json and
// services/feed-ingest/test/feed-anchors.int.test.ts. Equivocation needs the owner key, so it is
// covered there and in feed-evidence.test.ts.
const bundle = JSON.parse(readFileSync(new URL('./fixtures/feed-bundle.json', import.meta.url), 'utf8')) as AuditBlockBundle;
const feed = bundle.feeds![0]!;
const withFeed = (f: Partial<BundleFeed>, extra: Partial<AuditBlockBundle> = {}): AuditBlockBundle => ({ ...bundle, ...extra, feeds: [{ ...feed, ...f }] });
const codes = (b: unknown): string[] => [...new Set(verifyBlockBundle(b).failures.map((x) => x.code))].sort();

describe('a bundle with anchored feeds, captured from the real network', () => {
  it('verifies: anchors, proofs and segments', () => {
    const r = verifyBlockBundle(bundle);
    expect(r.failures).toEqual([]);
    const last = feed.updates.length - 1;
    expect(r.feeds).toEqual([expect.objectContaining({ anchors: feed.anchors.length, anchored: { from: 0, to: last }, provenUpdates: last + 1, provenSegments: last + 1, equivocations: [] })]);
    expect(r.checks.filter((c) => c.check.startsWith('feed') || c.check.includes('equivocated')).every((c) => c.ok)).toBe(true);
    // The anchors an auditor hands to verifyReadingsProof: each with its block, in index order.
    expect(r.feeds![0]!.verifiedAnchors.map((a) => ({ txId: a.txId, blockNumber: a.blockNumber }))).toEqual(feed.anchors);
    expect(r.feeds![0]!.verifiedAnchors.every((a) => a.feedId === feed.feedId && /^[0-9a-f]{64}$/.test(a.root))).toBe(true);
  });

  it('an anchor whose block lost its orderer signature is no verified anchor', () => {
    const raw = Buffer.from(bundle.anchorBlocks![0]!, 'base64');
    // In this fixture's first anchor block, 44 bytes from the end lie in the orderer's signature.
    raw[raw.length - 44] ^= 1;
    const r = verifyBlockBundle(withFeed({}, { anchorBlocks: [raw.toString('base64'), ...bundle.anchorBlocks!.slice(1)] }));
    expect([...new Set(r.failures.map((f) => f.code))]).toEqual([FailureCodes.blockSignature]);
    expect(r.feeds![0]!.verifiedAnchors.map((a) => a.txId)).toEqual(feed.anchors.slice(1).map((a) => a.txId));
  });

  it('a reading altered, a manifest altered', () => {
    const seg = Buffer.from(feed.updates[0]!.segmentBase64!, 'base64');
    seg[0] ^= 0x40;
    expect(codes(withFeed({ updates: feed.updates.map((u, i) => (i === 0 ? { ...u, segmentBase64: seg.toString('base64') } : u)) }))).toEqual([FailureCodes.segmentMismatch]);
    expect(codes(withFeed({ updates: feed.updates.map((u, i) => (i === 0 ? { ...u, manifest: { ...u.manifest, size: 1 } } : u)) }))).toEqual([FailureCodes.segmentMismatch]);
  });

  it('an update altered (its time range): its signature and its proof fail', () => {
    const u0 = feed.updates[0]!;
    expect(codes(withFeed({ updates: [{ ...u0, update: { ...u0.update, timeEnd: (u0.update['timeEnd'] as number) + 1 } }, ...feed.updates.slice(1)] }))).toEqual([FailureCodes.updateInvalid]);
  });

  it('an anchor left out, forged, its block dropped or changed by one byte', () => {
    expect(codes(withFeed({ anchors: feed.anchors.slice(1) }))).toEqual([FailureCodes.anchorMissing]);
    const change = bundle.changes[0]!;
    expect(codes(withFeed({ anchors: [{ txId: change.txId, blockNumber: change.blockNumber }, ...feed.anchors.slice(1)] }))).toEqual([FailureCodes.anchorInvalid, FailureCodes.anchorMissing]);
    expect(codes(withFeed({}, { anchorBlocks: [] }))).toEqual([FailureCodes.anchorMissing, FailureCodes.txNotInBlock]);
    const raw = Buffer.from(bundle.anchorBlocks![0]!, 'base64');
    raw[raw.length - 200] ^= 1;
    expect(codes(withFeed({}, { anchorBlocks: [raw.toString('base64'), ...bundle.anchorBlocks!.slice(1)] })).length).toBeGreaterThan(0);
  });

  it('malformed feed sections are BUNDLE_MALFORMED, never a crash', () => {
    for (const bad of [{ feeds: 'x' }, { feeds: [{ feedId: 1 }] }, { anchorBlocks: [1] }, { feeds: [{ ...feed, updates: [{ update: 'x', proof: [] }] }] }]) {
      expect(codes({ ...bundle, ...bad })).toEqual([FailureCodes.malformed]);
    }
  });
});
