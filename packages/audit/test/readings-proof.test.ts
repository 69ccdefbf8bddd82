import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { canonicalBytes, signFeedUpdate, signingKeyFromSeed, type FeedUpdate } from '@twinledger/dht/records';
import { encodeSegment, type Reading } from '@twinledger/readings';
import { feedLeafHash } from '../src/feed-evidence.js';
import { merkleTree } from '../src/merkle.js';
import { ReadingsProofCodes, verifyReadingsProof, type ReadingsProofSegment, type ReadingsWithProof, type TrustedAnchor } from '../src/readings-proof.js';

/**
 * Readings answers built the way feed-ingest builds them (readingsProof in
 * services/feed-ingest/src/domain/feed-evidence.ts): segments in the readings codec, manifests
 * naming their plaintext hash, owner-signed update records, RFC 6962 batches. Anchors are handed
 * over as verifyBlockBundle's verifiedAnchors would; the bundle side runs on real blocks in
 * services/feed-ingest/test/readings-proof.int.test.ts. One tamper per code.
 */
const owner = signingKeyFromSeed(new Uint8Array(randomBytes(32)));
const TOPIC = 'bp-1/sensor-fill-1';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Fixture {
  feedId: string;
  answer: ReadingsWithProof;
  trusted: TrustedAnchor[];
  key: typeof owner;
}

/**
 * `n` segments of 10 readings each (segment i: ts i*100, i*100+10, .. i*100+90), anchored in batches of
 * `batch` up to index `anchoredTo`; the answer is the range [from, to].
 */
function fixture(n: number, batch: number, anchoredTo: number, from: number, to: number, key = owner): Fixture {
  const feedIdOf = (u: FeedUpdate): string => u.feedId;
  const made = Array.from({ length: n }, (_, i) => {
    const readings: Reading[] = Array.from({ length: 10 }, (_, k) => ({ feed: 'x', component: 'fill', ts: i * 100 + k * 10, v: i + k / 10, u: 'mm' }));
    const bytes = Buffer.from(encodeSegment(readings, {}));
    const manifest = { v: 1, objectId: 'a'.repeat(64), aclVersion: 1, cipher: 'aes-256-gcm', chunkSize: 65536, size: bytes.length, plaintextHash: sha(bytes), chunks: [{ hash: sha(randomBytes(8)), size: bytes.length + 28 }], acl: ['Org1MSP'], keys: { Org1MSP: 'd3JhcHBlZA==' } };
    const u = signFeedUpdate(key, { topic: TOPIC, index: i, timeStart: i * 100, timeEnd: i * 100 + 90, ref: sha(canonicalBytes(manifest)) });
    return { readings, bytes, manifest, u };
  });
  const feedId = feedIdOf(made[0]!.u);
  const trusted: TrustedAnchor[] = [];
  const proofs = new Map<number, { anchor: TrustedAnchor; path: string[] }>();
  for (let f = 0; f <= anchoredTo; f += batch) {
    const t = Math.min(anchoredTo, f + batch - 1);
    const tree = merkleTree(made.slice(f, t + 1).map((m) => feedLeafHash(m.u)));
    const anchor = { feedId, txId: `tx${f}`, blockNumber: 10 + f, fromIndex: f, toIndex: t, root: tree.root.toString('hex') };
    trusted.push(anchor);
    for (let i = f; i <= t; i++) proofs.set(i, { anchor, path: tree.proof(i - f).map((p) => p.toString('hex')) });
  }
  const readings: Reading[] = [];
  const segments: ReadingsProofSegment[] = [];
  for (const m of made) {
    if (m.u.timeEnd < from || m.u.timeStart > to) continue;
    const mine = m.readings.filter((r) => r.ts >= from && r.ts <= to).map((r) => ({ ...r, feed: feedId }));
    const p = proofs.get(m.u.index);
    const { feedId: _f, ...anchor } = p?.anchor ?? { feedId };
    segments.push({
      update: { ...m.u },
      manifest: m.manifest,
      segmentBase64: m.bytes.toString('base64'),
      readings: { offset: readings.length, count: mine.length },
      anchor: p ? (anchor as ReadingsProofSegment['anchor']) : null,
      proof: p?.path ?? [],
    });
    readings.push(...mine);
  }
  const anchors = [...new Set(segments.map((s) => s.anchor).filter((a) => a !== null))];
  return { feedId, key, trusted, answer: { readings, truncated: false, proof: { feedId, twinId: 'bp-1', anchors, segments, unanchoredFrom: anchoredTo + 1 } } };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const codes = (r: ReturnType<typeof verifyReadingsProof>): string[] => [...new Set(r.failures.map((f) => f.code))].sort();
/** The answer with segment `i` changed by `f`. */
const withSegment = (a: ReadingsWithProof, i: number, f: (s: ReadingsProofSegment) => ReadingsProofSegment): ReadingsWithProof => ({
  ...a,
  proof: { ...a.proof, segments: a.proof.segments.map((s, k) => (k === i ? f(clone(s)) : s)) },
});

describe('verifyReadingsProof', () => {
  // 8 segments (ts 0..790), anchored 0..5 in batches of 4; range 150..720 touches segments 1..7.
  const fx = fixture(8, 4, 5, 150, 720);
  const req = { feedId: fx.feedId, from: 150, to: 720 };

  it('an untouched answer verifies: anchored readings proven, those past the last anchor counted apart', () => {
    const r = verifyReadingsProof(clone(fx.answer), fx.trusted, req);
    expect(r.failures).toEqual([]);
    // Segment 1 gives 150..190 (5 readings), 2..6 all of theirs (50), 7 gives 700..720 (3).
    expect(fx.answer.readings).toHaveLength(58);
    expect(fx.answer.readings[0]!.ts).toBe(150);
    expect(fx.answer.readings.at(-1)!.ts).toBe(720);
    // Segments 1..5 are anchored (45 readings), 6..7 are not (13).
    expect(r).toMatchObject({ ok: true, provenReadings: 45, unanchoredReadings: 13 });
    expect(r.anchors.map((a) => a.txId)).toEqual(['tx0', 'tx4']);
  });

  it('READINGS_PROOF_MALFORMED: no proof, a malformed segment, or a proof about another feed', () => {
    const { proof: _p, ...bare } = clone(fx.answer);
    expect(codes(verifyReadingsProof(bare, fx.trusted, req))).toEqual([ReadingsProofCodes.malformed]);
    expect(codes(verifyReadingsProof(withSegment(fx.answer, 2, (s) => ({ ...s, readings: { offset: -1, count: 1 } })), fx.trusted, req))).toEqual([ReadingsProofCodes.malformed]);
    expect(codes(verifyReadingsProof(clone(fx.answer), fx.trusted, { ...req, feedId: 'b'.repeat(64) }))).toContain(ReadingsProofCodes.malformed);
  });

  it('READING_ALTERED: one value changed, a reading added', () => {
    const a = clone(fx.answer);
    (a.readings[12] as { v: number }).v += 0.5;
    const r = verifyReadingsProof(a, fx.trusted, req);
    expect(r.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.readingAltered, reading: 12 })]);
    const b = clone(fx.answer);
    (b.readings as Reading[]).push({ ...b.readings.at(-1)!, ts: 710 });
    expect(codes(verifyReadingsProof(b, fx.trusted, req))).toEqual([ReadingsProofCodes.readingAltered]);
  });

  it('READINGS_INCOMPLETE: a segment left out, or readings of a segment in the range dropped', () => {
    const a = clone(fx.answer);
    const dropped = a.proof.segments[3]!.readings;
    const segments = a.proof.segments.filter((_, i) => i !== 3).map((s) => (s.readings.offset > dropped.offset ? { ...s, readings: { ...s.readings, offset: s.readings.offset - dropped.count } } : s));
    const readings = a.readings.filter((_, i) => i < dropped.offset || i >= dropped.offset + dropped.count);
    expect(codes(verifyReadingsProof({ ...a, readings, proof: { ...a.proof, segments } }, fx.trusted, req))).toEqual([ReadingsProofCodes.incomplete]);
    // The last reading of segment 2 left out (count lowered, later offsets shifted).
    const b = clone(fx.answer);
    const s2 = b.proof.segments[1]!.readings;
    const cut = s2.offset + s2.count - 1;
    const segs = b.proof.segments.map((s, i) => (i === 1 ? { ...s, readings: { ...s.readings, count: s.readings.count - 1 } } : i > 1 ? { ...s, readings: { ...s.readings, offset: s.readings.offset - 1 } } : s));
    expect(codes(verifyReadingsProof({ ...b, readings: b.readings.filter((_, i) => i !== cut), proof: { ...b.proof, segments: segs } }, fx.trusted, req))).toEqual([ReadingsProofCodes.incomplete]);
    // A truncated answer may stop inside its last segment.
    const c = clone(fx.answer);
    const lastSeg = c.proof.segments.at(-1)!;
    lastSeg.readings = { ...lastSeg.readings, count: 1 };
    const truncated = { ...c, truncated: true, readings: c.readings.slice(0, lastSeg.readings.offset + 1) };
    expect(verifyReadingsProof(truncated, fx.trusted, req).failures).toEqual([]);
  });

  it('FEED_UPDATE_INVALID: a record signed by another key, or of another feed', () => {
    const other = signingKeyFromSeed(new Uint8Array(randomBytes(32)));
    const resigned = withSegment(fx.answer, 1, (s) => ({ ...s, update: { ...s.update, sig: signFeedUpdate(other, { topic: TOPIC, index: 2, timeStart: 200, timeEnd: 290, ref: s.update['ref'] as string }).sig } }));
    expect(codes(verifyReadingsProof(resigned, fx.trusted, req))).toEqual([ReadingsProofCodes.updateInvalid]);
    const foreign = fixture(3, 4, 2, 150, 720, other);
    const swapped = withSegment(fx.answer, 0, () => clone(foreign.answer.proof.segments[0]!));
    expect(codes(verifyReadingsProof(swapped, fx.trusted, req))).toContain(ReadingsProofCodes.updateInvalid);
  });

  it('FEED_SEGMENT_MISMATCH: one byte of the segment altered', () => {
    const r = verifyReadingsProof(
      withSegment(fx.answer, 2, (s) => {
        const bytes = Buffer.from(s.segmentBase64, 'base64');
        bytes[bytes.length - 1] ^= 1;
        return { ...s, segmentBase64: bytes.toString('base64') };
      }),
      fx.trusted,
      req,
    );
    expect(r.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.segmentMismatch, index: 3 })]);
  });

  it('FEED_PROOF_INVALID: the audit path of another leaf', () => {
    const r = verifyReadingsProof(withSegment(fx.answer, 0, (s) => ({ ...s, proof: fx.answer.proof.segments[1]!.proof })), fx.trusted, req);
    expect(r.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.proofInvalid, index: 1 })]);
  });

  it('FEED_ROOT_NOT_ON_CHAIN: a self-made anchor over a rewritten record, or a trusted root claimed at another block', () => {
    // The exporter re-cuts segment 2 into a one-leaf tree of its own: the path checks, the root is nobody's on chain.
    const forged = withSegment(fx.answer, 1, (s) => ({ ...s, anchor: { txId: 'tx-forged', blockNumber: 99, fromIndex: 2, toIndex: 2, root: feedLeafHash(s.update as unknown as FeedUpdate).toString('hex') }, proof: [] }));
    expect(codes(verifyReadingsProof(forged, fx.trusted, req))).toEqual([ReadingsProofCodes.rootNotOnChain]);
    const moved = withSegment(fx.answer, 1, (s) => ({ ...s, anchor: { ...s.anchor!, blockNumber: s.anchor!.blockNumber + 1 } }));
    expect(codes(verifyReadingsProof(moved, fx.trusted, req))).toEqual([ReadingsProofCodes.rootNotOnChain]);
  });

  it('FEED_PROOF_MISSING: an anchored segment served as if not yet anchored', () => {
    const r = verifyReadingsProof(withSegment(fx.answer, 4, (s) => ({ ...s, anchor: null, proof: [] })), fx.trusted, req);
    expect(r.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.proofMissing, index: 5 })]);
  });
});
