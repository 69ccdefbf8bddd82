import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { canonicalBytes, signFeedUpdate, signingKeyFromSeed, type FeedUpdate } from '@twinledger/dht/records';
import { encodeSegment, type Reading } from '@twinledger/readings';
import { feedLeafHash } from '../src/feed-evidence.js';
import { merkleTree } from '../src/merkle.js';
import { ReadingsProofCodes, verifyReadingsProof, type ReadingsProofEdge, type ReadingsProofSegment, type ReadingsWithProof, type TrustedAnchor } from '../src/readings-proof.js';

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
  /** Every segment of the feed: its readings, bytes, manifest and signed record. */
  made: { readings: Reading[]; bytes: Buffer; manifest: Record<string, unknown>; u: FeedUpdate }[];
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
  /** A record with the anchor covering it and its audit path, as a proof carries it. */
  const recordOf = (m: (typeof made)[number]): ReadingsProofEdge => {
    const p = proofs.get(m.u.index);
    const { feedId: _f, ...anchor } = p?.anchor ?? { feedId };
    return { update: { ...m.u }, anchor: p ? (anchor as ReadingsProofSegment['anchor']) : null, proof: p?.path ?? [] };
  };
  for (const m of made) {
    if (m.u.timeEnd < from || m.u.timeStart > to) continue;
    const mine = m.readings.filter((r) => r.ts >= from && r.ts <= to).map((r) => ({ ...r, feed: feedId }));
    segments.push({ ...recordOf(m), manifest: m.manifest, segmentBase64: m.bytes.toString('base64'), readings: { offset: readings.length, count: mine.length } });
    readings.push(...mine);
  }
  // The neighbours: the last segment ending before `from` and the first starting after `to`.
  const beforeM = made.filter((m) => m.u.timeEnd < from).at(-1);
  const afterM = made.find((m) => m.u.timeStart > to);
  const before = beforeM ? recordOf(beforeM) : null;
  const after = afterM ? recordOf(afterM) : null;
  const anchors = [...new Set([...segments, before, after].map((s) => s?.anchor ?? null).filter((a) => a !== null))];
  return { feedId, key, trusted, made, answer: { readings, truncated: false, proof: { feedId, twinId: 'bp-1', anchors, segments, unanchoredFrom: anchoredTo + 1, before, after } } };
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

describe('verifyReadingsProof at the edges of the range', () => {
  // 10 segments (ts 0..990), anchored 0..7 in batches of 4; range 250..520 serves segments 2..5,
  // with the records of 1 (before) and 6 (after), both anchored.
  const fx = fixture(10, 4, 7, 250, 520);
  const req = { feedId: fx.feedId, from: 250, to: 520 };
  const proofOf = (a: ReadingsWithProof, change: Partial<ReadingsWithProof['proof']>): ReadingsWithProof => ({ ...clone(a), proof: { ...clone(a.proof), ...change } });
  /** The answer without segment `k` of its proof (its readings dropped, later offsets moved). */
  const without = (a: ReadingsWithProof, k: number): ReadingsWithProof => {
    const gone = a.proof.segments[k]!.readings;
    const segments = a.proof.segments.filter((_, i) => i !== k).map((s) => (s.readings.offset > gone.offset ? { ...s, readings: { ...s.readings, offset: s.readings.offset - gone.count } } : s));
    return { ...clone(a), readings: a.readings.filter((_, i) => i < gone.offset || i >= gone.offset + gone.count), proof: { ...clone(a.proof), segments } };
  };
  /** A segment's record as an edge record (what a server that left the segment out would show). */
  const asEdge = (s: ReadingsProofSegment): ReadingsProofEdge => ({ update: s.update, anchor: s.anchor, proof: s.proof });

  it('an untouched answer proves both edges by anchored neighbour records', () => {
    expect(fx.answer.proof.segments.map((s) => s.update['index'])).toEqual([2, 3, 4, 5]);
    expect([fx.answer.proof.before?.update['index'], fx.answer.proof.after?.update['index']]).toEqual([1, 6]);
    const r = verifyReadingsProof(clone(fx.answer), fx.trusted, req);
    expect(r.failures).toEqual([]);
    expect(r.edges).toEqual({ before: 'anchored', after: 'anchored' });
    expect(r.anchors.map((a) => a.txId)).toEqual(['tx0', 'tx4']);
  });

  it('READINGS_INCOMPLETE: the first or last segment left out, its own record shown as the neighbour', () => {
    const noFirst = without(fx.answer, 0);
    const r = verifyReadingsProof(proofOf(noFirst, { before: asEdge(fx.answer.proof.segments[0]!) }), fx.trusted, req);
    expect(r.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.incomplete, edge: 'before', index: 2 })]);
    const noLast = without(fx.answer, 3);
    const s = verifyReadingsProof(proofOf(noLast, { after: asEdge(fx.answer.proof.segments[3]!) }), fx.trusted, req);
    expect(s.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.incomplete, edge: 'after', index: 5 })]);
    expect(s.edges).toEqual({ before: 'anchored', after: 'failed' });
  });

  it('READINGS_EDGE_MISSING: a neighbour record absent, of another index, or a proof without edge records', () => {
    // The first segment left out, the old neighbour kept: it is not the neighbour of index 3.
    const shifted = verifyReadingsProof(without(fx.answer, 0), fx.trusted, req);
    expect(shifted.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.edgeMissing, edge: 'before', index: 1 })]);
    expect(codes(verifyReadingsProof(proofOf(fx.answer, { before: null }), fx.trusted, req))).toEqual([ReadingsProofCodes.edgeMissing]);
    // Index 6 is anchored: it exists, so "no segment after" is not believed.
    const noAfter = verifyReadingsProof(proofOf(fx.answer, { after: null }), fx.trusted, req);
    expect(noAfter.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.edgeMissing, edge: 'after', index: 6 })]);
    // An older server's proof (no before/after at all): both edges unproven.
    const { before: _b, after: _a, ...old } = clone(fx.answer.proof);
    const r = verifyReadingsProof({ ...clone(fx.answer), proof: old }, fx.trusted, req);
    expect(r.failures.map((f) => [f.code, f.edge])).toEqual([
      [ReadingsProofCodes.edgeMissing, 'before'],
      [ReadingsProofCodes.edgeMissing, 'after'],
    ]);
    // A truncated answer needs no record after: its end is where the next page starts.
    const truncated = verifyReadingsProof({ ...proofOf(fx.answer, { after: null }), truncated: true }, fx.trusted, req);
    expect(truncated).toMatchObject({ ok: true, edges: { before: 'anchored', after: 'truncated' } });
  });

  it('FEED_UPDATE_INVALID: a neighbour record signed by another key, or of another feed', () => {
    const other = signingKeyFromSeed(new Uint8Array(randomBytes(32)));
    const b = fx.answer.proof.before!;
    const resigned = { ...b, update: { ...b.update, sig: signFeedUpdate(other, { topic: TOPIC, index: 1, timeStart: 100, timeEnd: 190, ref: b.update['ref'] as string }).sig } };
    const r = verifyReadingsProof(proofOf(fx.answer, { before: resigned }), fx.trusted, req);
    expect(r.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.updateInvalid, edge: 'before', index: 1 })]);
    // Another feed's record of index 6, ending long after `to`.
    const foreign = fixture(10, 4, 7, 250, 520, other);
    const s = verifyReadingsProof(proofOf(fx.answer, { after: clone(foreign.answer.proof.after) }), fx.trusted, req);
    expect(s.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.updateInvalid, edge: 'after', index: 6 })]);
  });

  it('FEED_PROOF_MISSING, FEED_PROOF_INVALID, FEED_ROOT_NOT_ON_CHAIN: a neighbour record not covered by its anchor', () => {
    const a = fx.answer.proof.after!;
    const missing = verifyReadingsProof(proofOf(fx.answer, { after: { ...a, anchor: null, proof: [] } }), fx.trusted, req);
    expect(missing.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.proofMissing, edge: 'after', index: 6 })]);
    const b = fx.answer.proof.before!;
    const wrongPath = verifyReadingsProof(proofOf(fx.answer, { before: { ...b, proof: fx.answer.proof.segments[0]!.proof } }), fx.trusted, req);
    expect(wrongPath.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.proofInvalid, edge: 'before', index: 1 })]);
    // A record of index 6 that starts after `to` (a rewrite the owner never anchored), under a self-made root.
    const fake = signFeedUpdate(fx.key, { topic: TOPIC, index: 6, timeStart: 900, timeEnd: 990, ref: a.update['ref'] as string });
    const selfMade = { update: { ...fake }, anchor: { txId: 'tx-self', blockNumber: 99, fromIndex: 6, toIndex: 6, root: feedLeafHash(fake).toString('hex') }, proof: [] };
    const forged = verifyReadingsProof(proofOf(fx.answer, { after: selfMade }), fx.trusted, req);
    expect(forged.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.rootNotOnChain, edge: 'after', index: 6 })]);
  });

  it('past the last anchor: a neighbour owner-signed only, and no record after is open, not refused', () => {
    // Anchored 0..3; range 450..520 serves 4..5, after = 6 (unanchored).
    const tail = fixture(10, 4, 3, 450, 520);
    const treq = { feedId: tail.feedId, from: 450, to: 520 };
    expect(verifyReadingsProof(clone(tail.answer), tail.trusted, treq)).toMatchObject({ ok: true, edges: { before: 'anchored', after: 'signed' } });
    // A server holding back index 6 (and what follows): nothing past the anchors shows it exists.
    const held = verifyReadingsProof(proofOf(tail.answer, { after: null }), tail.trusted, treq);
    expect(held).toMatchObject({ ok: true, edges: { before: 'anchored', after: 'open' } });
    // ... unless the server's own unanchoredFrom says index 6 is anchored (so are 4 and 5, served without proof).
    const claimed = verifyReadingsProof(proofOf(tail.answer, { after: null, unanchoredFrom: 8 }), tail.trusted, treq);
    expect(claimed.failures).toContainEqual(expect.objectContaining({ code: ReadingsProofCodes.edgeMissing, edge: 'after', index: 6 }));
  });

  it('an empty answer is proven by the two neighbours the range falls between', () => {
    // 295..299 lies between segment 2 (200..290) and segment 3 (300..390).
    const gap = fixture(10, 4, 7, 295, 299);
    const greq = { feedId: gap.feedId, from: 295, to: 299 };
    expect(gap.answer.proof.segments).toEqual([]);
    expect(verifyReadingsProof(clone(gap.answer), gap.trusted, greq)).toMatchObject({ ok: true, failures: [], edges: { before: 'anchored', after: 'anchored' } });
    // A range with readings answered empty: the neighbour after meets it.
    const hidden = verifyReadingsProof({ readings: [], truncated: false, proof: { ...clone(gap.answer.proof) } }, gap.trusted, { ...greq, to: 520 });
    expect(hidden.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.incomplete, edge: 'after', index: 3 })]);
    // Two records that are not consecutive: the segments between are not accounted for.
    const tree = merkleTree(gap.made.slice(4, 8).map((m) => feedLeafHash(m.u)));
    const { feedId: _f, ...anchor4 } = gap.trusted[1]!;
    const index6 = { update: { ...gap.made[6]!.u }, anchor: anchor4, proof: tree.proof(2).map((p) => p.toString('hex')) };
    const apart = verifyReadingsProof(proofOf(gap.answer, { after: index6 }), gap.trusted, greq);
    expect(apart.failures).toEqual([expect.objectContaining({ code: ReadingsProofCodes.edgeMissing, edge: 'after', index: 6 })]);
    // No record at all ("the feed is empty") while anchors cover index 0.
    expect(codes(verifyReadingsProof(proofOf(gap.answer, { before: null, after: null }), gap.trusted, greq))).toEqual([ReadingsProofCodes.edgeMissing]);
    // After the feed's last segment: the last record ends before `from`, nothing after is open.
    const late = fixture(10, 4, 7, 2000, 3000);
    expect(verifyReadingsProof(clone(late.answer), late.trusted, { feedId: late.feedId, from: 2000, to: 3000 })).toMatchObject({ ok: true, edges: { before: 'signed', after: 'open' } });
  });
});
