import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { canonicalBytes, signFeedUpdate, signingKeyFromSeed, type FeedUpdate } from '@twinledger/dht/records';
import type { BundleFeed, BundleFeedUpdate } from '../src/bundle.js';
import { FeedFailureCodes, feedLeafHash, verifyFeedEvidence, type AnchoredRoot } from '../src/feed-evidence.js';
import { merkleTree } from '../src/merkle.js';
import { seeded } from './support/seeded.js';

/**
 * Feed evidence built the way feed-ingest builds it (owner-signed update records, segment
 * manifests, RFC 6962 batches), with anchors given as verify.ts hands them over after checking
 * their transactions; bundle-level anchor checks run on real blocks (feed-anchors.int.test.ts).
 */
const owner = signingKeyFromSeed(new Uint8Array(randomBytes(32)));
const TOPIC = 'bp-1/sensor-pressure-1';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function manifestFor(segment: Buffer): Record<string, unknown> {
  return {
    v: 1,
    objectId: 'a'.repeat(64),
    aclVersion: 1,
    cipher: 'aes-256-gcm',
    chunkSize: 65536,
    size: segment.length,
    plaintextHash: sha(segment),
    chunks: [{ hash: sha(randomBytes(8)), size: segment.length + 28 }],
    acl: ['OwnerMSP'],
    keys: { OwnerMSP: 'd3JhcHBlZA==' },
  };
}

function update(index: number, segment: Buffer, key = owner): { u: FeedUpdate; manifest: Record<string, unknown> } {
  const manifest = manifestFor(segment);
  const ref = sha(canonicalBytes(manifest));
  return { u: signFeedUpdate(key, { topic: TOPIC, index, timeStart: index * 1000, timeEnd: index * 1000 + 999, ref }), manifest };
}

/** A feed of `n` updates anchored in batches of `batch`; every update with its proof and segment. */
function feed(n: number, batch: number): { feed: BundleFeed; anchors: AnchoredRoot[]; segments: Buffer[] } {
  const segments = Array.from({ length: n }, (_, i) => Buffer.from(`readings of segment ${i} ${hex(randomBytes(4))}`));
  const made = segments.map((s, i) => update(i, s));
  const anchors: AnchoredRoot[] = [];
  const updates: BundleFeedUpdate[] = [];
  for (let from = 0; from < n; from += batch) {
    const to = Math.min(n, from + batch) - 1;
    const t = merkleTree(made.slice(from, to + 1).map((m) => feedLeafHash(m.u)));
    anchors.push({ txId: `tx${from}`, feedId: made[0]!.u.feedId, componentId: 'sensor-pressure-1', fromIndex: from, toIndex: to, root: t.root.toString('hex') });
    for (let i = from; i <= to; i++) {
      updates.push({ update: { ...made[i]!.u }, proof: t.proof(i - from).map((p) => p.toString('hex')), manifest: made[i]!.manifest, segmentBase64: segments[i]!.toString('base64') });
    }
  }
  return { feed: { feedId: made[0]!.u.feedId, componentId: 'sensor-pressure-1', anchors: [], updates, conflicts: [] }, anchors, segments };
}

const codes = (r: ReturnType<typeof verifyFeedEvidence>): string[] => [...new Set(r.failures.map((f) => f.code))].sort();

describe('verifyFeedEvidence', () => {
  it('an untouched feed: every update proven, every segment hashed, the anchored run reported', () => {
    const { feed: f, anchors } = feed(23, 5);
    const r = verifyFeedEvidence(f, anchors);
    expect(r.failures).toEqual([]);
    expect(r).toMatchObject({ anchors: 5, anchored: { from: 0, to: 22 }, provenUpdates: 23, provenSegments: 23, equivocations: [], latestRoot: { txId: 'tx20', toIndex: 22 } });
  });

  it('a reading altered: FEED_SEGMENT_MISMATCH at its index', () => {
    const { feed: f, anchors, segments } = feed(8, 4);
    const altered = Buffer.from(segments[6]!);
    altered[3] ^= 1;
    const updates = f.updates.map((u, i) => (i === 6 ? { ...u, segmentBase64: altered.toString('base64') } : u));
    const r = verifyFeedEvidence({ ...f, updates }, anchors);
    expect(r.failures).toEqual([expect.objectContaining({ code: FeedFailureCodes.segmentMismatch, index: 6 })]);
    expect(r.provenSegments).toBe(7);
  });

  it('a manifest swapped for another one (readings and their hash altered together): FEED_SEGMENT_MISMATCH', () => {
    const { feed: f, anchors } = feed(4, 4);
    const forged = Buffer.from('forged readings');
    const updates = f.updates.map((u, i) => (i === 1 ? { ...u, manifest: manifestFor(forged), segmentBase64: forged.toString('base64') } : u));
    expect(verifyFeedEvidence({ ...f, updates }, anchors).failures).toEqual([expect.objectContaining({ code: FeedFailureCodes.segmentMismatch, index: 1 })]);
  });

  it('an update re-signed by the owner for an anchored index (history rewritten): the proof fails, and with both records it is equivocation', () => {
    const { feed: f, anchors } = feed(6, 3);
    const other = update(4, Buffer.from('rewritten history'));
    const rewritten = f.updates.map((u, i) => (i === 4 ? { ...u, update: { ...other.u }, manifest: other.manifest, segmentBase64: Buffer.from('rewritten history').toString('base64') } : u));
    const r1 = verifyFeedEvidence({ ...f, updates: rewritten }, anchors);
    expect(codes(r1)).toEqual([FeedFailureCodes.proofInvalid]);
    // The honest record next to it (two replicas served different updates): equivocation.
    const r2 = verifyFeedEvidence({ ...f, conflicts: [{ index: 4, updates: [f.updates[4]!.update, { ...other.u }] }] }, anchors);
    expect(codes(r2)).toEqual([FeedFailureCodes.equivocation]);
    expect(r2.equivocations).toEqual([{ index: 4, updateHashes: expect.any(Array), anchored: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(r2.equivocations[0]!.updateHashes).toHaveLength(2);
  });

  it('an update with no anchor, one whose signature is forged, one of another feed', () => {
    const { feed: f, anchors } = feed(6, 3);
    expect(verifyFeedEvidence(f, anchors.slice(0, 1)).failures.map((x) => [x.code, x.index])).toEqual([3, 4, 5].map((i) => [FeedFailureCodes.anchorMissing, i]));
    const forged = f.updates.map((u, i) => (i === 0 ? { ...u, update: { ...u.update, timeEnd: 5 } } : u));
    expect(codes(verifyFeedEvidence({ ...f, updates: forged }, anchors))).toEqual([FeedFailureCodes.updateInvalid]);
    const stranger = signingKeyFromSeed(new Uint8Array(randomBytes(32)));
    const foreign = f.updates.map((u, i) => (i === 0 ? { ...u, update: { ...update(0, Buffer.from('x'), stranger).u } } : u));
    expect(codes(verifyFeedEvidence({ ...f, updates: foreign }, anchors))).toEqual([FeedFailureCodes.updateInvalid]);
  });

  it('a proof edited, or proving another index: FEED_PROOF_INVALID', () => {
    const { feed: f, anchors } = feed(8, 8);
    const edited = f.updates.map((u, i) => (i === 2 ? { ...u, proof: [...u.proof.slice(1), u.proof[0]!] } : i === 3 ? { ...u, proof: f.updates[5]!.proof } : i === 4 ? { ...u, proof: ['zz'] } : u));
    expect(verifyFeedEvidence({ ...f, updates: edited }, anchors).failures.map((x) => [x.code, x.index])).toEqual([2, 3, 4].map((i) => [FeedFailureCodes.proofInvalid, i]));
  });

  it('conflict entries that are no evidence: the same record twice, an unsigned one, different indices', () => {
    const { feed: f, anchors } = feed(3, 3);
    const u0 = f.updates[0]!.update;
    const u1 = f.updates[1]!.update;
    for (const c of [
      { index: 0, updates: [u0, u0] },
      { index: 0, updates: [u0, { ...u0, ref: 'b'.repeat(64) }] },
      { index: 0, updates: [u0, u1] },
      { index: 0, updates: [u0] },
    ]) {
      expect(codes(verifyFeedEvidence({ ...f, conflicts: [c] }, anchors))).toEqual([FeedFailureCodes.evidenceInvalid]);
    }
  });

  it('property: any random sequence of edits fails with the code of each edit', () => {
    const next = seeded(0xfeed);
    for (let round = 0; round < 40; round++) {
      const { feed: f, anchors } = feed(12, 1 + next(6));
      let updates = [...f.updates];
      const conflicts: BundleFeed['conflicts'][number][] = [];
      let keptAnchors = anchors;
      const expected = new Set<string>();
      const touched = new Set<number>();
      for (let e = 0; e < 1 + next(3); e++) {
        const i = next(updates.length);
        if (touched.has(i)) continue;
        touched.add(i);
        const kind = next(4);
        if (kind === 0) {
          const seg = Buffer.from(updates[i]!.segmentBase64!, 'base64');
          seg[next(seg.length)] ^= 1 + next(255);
          updates[i] = { ...updates[i]!, segmentBase64: seg.toString('base64') };
          expected.add(FeedFailureCodes.segmentMismatch);
        } else if (kind === 1) {
          const idx = (updates[i]!.update as unknown as FeedUpdate).index;
          conflicts.push({ index: idx, updates: [updates[i]!.update, { ...update(idx, Buffer.from(`other ${round}`)).u }] });
          expected.add(FeedFailureCodes.equivocation);
        } else if (kind === 2) {
          updates[i] = { ...updates[i]!, update: { ...updates[i]!.update, topic: 'other/topic' } };
          expected.add(FeedFailureCodes.updateInvalid);
        } else {
          const idx = (updates[i]!.update as unknown as FeedUpdate).index;
          const before = keptAnchors.length;
          keptAnchors = keptAnchors.filter((a) => idx < a.fromIndex || idx > a.toIndex);
          if (keptAnchors.length < before) expected.add(FeedFailureCodes.anchorMissing);
        }
      }
      updates = updates.slice();
      const r = verifyFeedEvidence({ ...f, updates, conflicts }, keptAnchors);
      // Every edit shows with its own code; a removed anchor may hide an edit of an update it covered.
      for (const c of expected) if (c !== FeedFailureCodes.segmentMismatch || !expected.has(FeedFailureCodes.updateInvalid)) expect(codes(r)).toContain(c);
      expect(r.failures.length > 0).toBe(expected.size > 0);
    }
  });
});
