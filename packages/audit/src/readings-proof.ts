import { feedUpdateSignatureValid, parseFeedUpdateShape, type FeedUpdate } from '@twinledger/dht/records';
import { decodeSegment, segmentReading, type DecodedSegment, type Reading } from '@twinledger/readings';
import { feedLeafHash, segmentProblem } from './feed-evidence.js';
import { verifyMerkleInclusion } from './merkle.js';

/**
 * Readings served with their proof (feed-ingest `GET /feeds/:feedId/readings?proof=true`,
 * issue #22 item 3): per segment the range touches, the owner-signed update record, the
 * manifest and plaintext segment bytes the readings were decoded from, and the RFC 6962 audit
 * path of the record in the anchor (a Merkle root on the ledger) covering its index. The
 * verifier below trusts none of it: it decodes the readings again from the bytes, and takes
 * the roots only from the auditor's trusted anchors (`verifyBlockBundle(...).feeds[i].verifiedAnchors`).
 */

/** An anchor as the ledger holds it, with the block of its transaction. */
export interface ReadingsProofAnchor {
  readonly txId: string;
  readonly blockNumber: number;
  readonly fromIndex: number;
  readonly toIndex: number;
  /** hex */
  readonly root: string;
}

/** An anchor the auditor trusts: taken from a verified block bundle (`feedId` when known). */
export interface TrustedAnchor extends ReadingsProofAnchor {
  readonly feedId?: string;
}

export interface ReadingsProofSegment {
  /** The owner-signed update record (`@twinledger/dht` FeedUpdate). */
  readonly update: Readonly<Record<string, unknown>>;
  /** The segment's manifest; its canonical JSON hashes to `update.ref`. */
  readonly manifest: Readonly<Record<string, unknown>>;
  /** The segment plaintext (`@twinledger/readings` codec), base64; SHA-256 = manifest.plaintextHash. */
  readonly segmentBase64: string;
  /**
   * The answer's `readings[offset .. offset + count - 1]` are this segment's readings whose
   * device time lies in [from, to], in segment order (a prefix of them for the last segment of
   * a truncated answer).
   */
  readonly readings: { readonly offset: number; readonly count: number };
  /** The anchor covering the segment's index; null past the last anchor. */
  readonly anchor: ReadingsProofAnchor | null;
  /** RFC 6962 audit path (hex, leaf side first) of `update` in `anchor`; empty without anchor. */
  readonly proof: readonly string[];
}

export interface ReadingsProof {
  readonly feedId: string;
  readonly twinId: string;
  /** The anchors the segments fall under. */
  readonly anchors: readonly ReadingsProofAnchor[];
  /** In index order, consecutive. */
  readonly segments: readonly ReadingsProofSegment[];
  /** The first index no anchor covers yet (segments from here on carry `anchor: null`). */
  readonly unanchoredFrom: number;
}

/** The answer of `GET /feeds/:feedId/readings?proof=true`. */
export interface ReadingsWithProof {
  readonly readings: readonly Reading[];
  readonly truncated: boolean;
  readonly proof: ReadingsProof;
}

export const ReadingsProofCodes = {
  /** The answer is not a readings answer with a proof of this shape. */
  malformed: 'READINGS_PROOF_MALFORMED',
  /** A reading differs from the one decoded from its segment's bytes (or comes from no served segment). */
  readingAltered: 'READING_ALTERED',
  /** Readings of the range left out: a gap between segment indices, or fewer readings of a segment than lie in the range. */
  incomplete: 'READINGS_INCOMPLETE',
  /** An update record that is malformed, of another feed, or not signed by the feed's owner key. */
  updateInvalid: 'FEED_UPDATE_INVALID',
  /** Manifest or segment bytes that do not hash to what the signed update names. */
  segmentMismatch: 'FEED_SEGMENT_MISMATCH',
  /** An audit path that does not lead from the update to its anchor's root. */
  proofInvalid: 'FEED_PROOF_INVALID',
  /** An anchor that is not among the auditor's trusted (on-chain) anchors. */
  rootNotOnChain: 'FEED_ROOT_NOT_ON_CHAIN',
  /** A segment served without a proof although its index is anchored. */
  proofMissing: 'FEED_PROOF_MISSING',
} as const;
export type ReadingsProofCode = (typeof ReadingsProofCodes)[keyof typeof ReadingsProofCodes];

export interface ReadingsProofFailure {
  readonly code: ReadingsProofCode;
  readonly reason: string;
  /** The feed index of the segment concerned. */
  readonly index?: number;
  /** The position in the answer's readings. */
  readonly reading?: number;
}

export interface ReadingsProofVerification {
  readonly ok: boolean;
  readonly failures: readonly ReadingsProofFailure[];
  /** Readings whose segment is proven by a trusted anchor. */
  readonly provenReadings: number;
  /** Readings of segments past the last anchor: owner-signed, not yet on chain. */
  readonly unanchoredReadings: number;
  /** The trusted anchors the proven readings rest on (each once). */
  readonly anchors: readonly ReadingsProofAnchor[];
}

export interface ReadingsProofRequest {
  /** The feed, and the device-time range the auditor asked for. */
  readonly feedId: string;
  readonly from: number;
  readonly to: number;
}

const HEX32 = /^[0-9a-f]{64}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isAnchor = (a: unknown): a is ReadingsProofAnchor =>
  isObject(a) && typeof a['txId'] === 'string' && isIndex(a['blockNumber']) && isIndex(a['fromIndex']) && isIndex(a['toIndex']) && typeof a['root'] === 'string' && HEX32.test(a['root']);
const isSegment = (s: unknown): s is ReadingsProofSegment =>
  isObject(s) &&
  isObject(s['update']) &&
  isObject(s['manifest']) &&
  typeof s['segmentBase64'] === 'string' &&
  isObject(s['readings']) &&
  isIndex(s['readings']['offset']) &&
  isIndex(s['readings']['count']) &&
  (s['anchor'] === null || isAnchor(s['anchor'])) &&
  Array.isArray(s['proof']) &&
  s['proof'].every((p) => typeof p === 'string');

function shapeProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'the answer is not an object';
  if (!Array.isArray(v['readings']) || !v['readings'].every(isObject)) return 'readings is not an array of readings';
  if (typeof v['truncated'] !== 'boolean') return 'truncated is missing';
  const p = v['proof'];
  if (!isObject(p)) return 'the answer carries no proof (ask with proof=true)';
  if (typeof p['feedId'] !== 'string' || !Array.isArray(p['anchors']) || !p['anchors'].every(isAnchor) || !isIndex(p['unanchoredFrom'])) return 'proof.feedId, proof.anchors or proof.unanchoredFrom is malformed';
  if (!Array.isArray(p['segments'])) return 'proof.segments is not an array';
  const bad = p['segments'].findIndex((s) => !isSegment(s));
  return bad >= 0 ? `proof.segments[${bad}] is malformed` : undefined;
}

/** The same reading: feed, component, device time, unit and value (a number or named numbers). */
function sameReading(a: Readonly<Record<string, unknown>>, b: Reading): boolean {
  if (a['feed'] !== b.feed || a['component'] !== b.component || a['ts'] !== b.ts || a['u'] !== b.u) return false;
  const av = a['v'];
  if (typeof b.v === 'number') return av === b.v || (Number.isNaN(b.v) && av === null);
  if (!isObject(av)) return false;
  const keys = Object.keys(b.v);
  return Object.keys(av).length === keys.length && keys.every((k) => av[k] === (b.v as Record<string, number>)[k]);
}

/**
 * Checks readings served with a proof, offline. `trustedAnchors` are the roots the auditor
 * trusts (from `verifyBlockBundle(bundle).feeds[i].verifiedAnchors`): nothing of the answer
 * is. Every check runs; each failure carries its code (`ReadingsProofCodes`).
 */
export function verifyReadingsProof(answer: unknown, trustedAnchors: readonly TrustedAnchor[], request: ReadingsProofRequest): ReadingsProofVerification {
  const failures: ReadingsProofFailure[] = [];
  const fail = (f: ReadingsProofFailure): void => void failures.push(f);
  const problem = shapeProblem(answer);
  if (problem !== undefined) {
    return { ok: false, failures: [{ code: ReadingsProofCodes.malformed, reason: problem }], provenReadings: 0, unanchoredReadings: 0, anchors: [] };
  }
  const a = answer as unknown as ReadingsWithProof & { readings: readonly Record<string, unknown>[] };
  const { feedId, from, to } = request;
  if (a.proof.feedId !== feedId) fail({ code: ReadingsProofCodes.malformed, reason: `the proof is about feed ${a.proof.feedId}, not ${feedId}` });
  const trusted = trustedAnchors.filter((t) => t.feedId === undefined || t.feedId === feedId);
  const used = new Map<string, ReadingsProofAnchor>();
  let proven = 0;
  let unanchored = 0;
  let expectedOffset = 0;
  const segments = a.proof.segments;

  for (const [i, s] of segments.entries()) {
    checkSegment(i, s);
    expectedOffset = s.readings.offset + s.readings.count;
  }
  if (expectedOffset !== a.readings.length && segments.length > 0) {
    fail({ code: ReadingsProofCodes.readingAltered, reading: expectedOffset, reason: `the answer holds ${a.readings.length} readings, the segments account for ${expectedOffset}` });
  } else if (segments.length === 0 && a.readings.length > 0) {
    fail({ code: ReadingsProofCodes.readingAltered, reading: 0, reason: `the answer holds ${a.readings.length} readings and no segment they come from` });
  }
  return { ok: failures.length === 0, failures, provenReadings: proven, unanchoredReadings: unanchored, anchors: [...used.values()] };

  /** One segment: its record, its bytes, its anchor, its readings (a failed step ends the segment's checks). */
  function checkSegment(i: number, s: ReadingsProofSegment): void {
    const last = i === segments.length - 1;
    // ---- the update record: this feed's, signed by the owner key the feed ID binds ----
    let u: FeedUpdate;
    try {
      u = parseFeedUpdateShape(s.update);
    } catch (err) {
      fail({ code: ReadingsProofCodes.updateInvalid, reason: `segments[${i}]: ${(err as Error).message}` });
      return;
    }
    const at = { index: u.index };
    if (u.feedId !== feedId) {
      fail({ code: ReadingsProofCodes.updateInvalid, ...at, reason: `segments[${i}]: the record belongs to feed ${u.feedId}` });
      return;
    }
    if (!feedUpdateSignatureValid(u)) {
      fail({ code: ReadingsProofCodes.updateInvalid, ...at, reason: `segments[${i}] (index ${u.index}): the record is not signed by the feed's owner key` });
      return;
    }
    const prev = i > 0 ? (segments[i - 1]!.update as { index?: unknown }).index : undefined;
    if (typeof prev === 'number' && u.index !== prev + 1) {
      fail({ code: ReadingsProofCodes.incomplete, ...at, reason: `segments[${i}] has index ${u.index} after index ${prev}: the segments between are left out` });
    }

    // ---- the bytes: manifest named by the record, segment named by the manifest ----
    const mismatch = segmentProblem(u, s.manifest, s.segmentBase64);
    if (mismatch !== undefined) {
      fail({ code: ReadingsProofCodes.segmentMismatch, ...at, reason: `index ${u.index}: ${mismatch}` });
      return;
    }

    // ---- the anchor: on chain per the auditor, and the record's path leads to its root ----
    let anchoredOk = false;
    if (s.anchor === null) {
      const covering = trusted.find((t) => u.index >= t.fromIndex && u.index <= t.toIndex);
      if (covering !== undefined || u.index < a.proof.unanchoredFrom) {
        fail({ code: ReadingsProofCodes.proofMissing, ...at, reason: `index ${u.index} is anchored (${covering ? `by ${covering.txId}` : `below unanchoredFrom ${a.proof.unanchoredFrom}`}) but the segment comes without a proof` });
      }
    } else {
      const an = s.anchor;
      const onChain = trusted.find((t) => t.txId === an.txId && t.root === an.root && t.fromIndex === an.fromIndex && t.toIndex === an.toIndex && t.blockNumber === an.blockNumber);
      if (!onChain) {
        fail({ code: ReadingsProofCodes.rootNotOnChain, ...at, reason: `index ${u.index}: anchor ${an.txId} (block ${an.blockNumber}, indices ${an.fromIndex}..${an.toIndex}, root ${an.root.slice(0, 16)}) is not among the trusted on-chain anchors` });
      }
      const path = s.proof.every((p) => HEX32.test(p)) ? s.proof.map((p) => Buffer.from(p, 'hex')) : undefined;
      const included =
        path !== undefined &&
        u.index >= an.fromIndex &&
        u.index <= an.toIndex &&
        verifyMerkleInclusion(feedLeafHash(u), u.index - an.fromIndex, an.toIndex - an.fromIndex + 1, path, Buffer.from(an.root, 'hex'));
      if (!included) {
        fail({ code: ReadingsProofCodes.proofInvalid, ...at, reason: `index ${u.index}: the audit path does not lead from the update to the root of ${an.txId} (indices ${an.fromIndex}..${an.toIndex})` });
      }
      if (onChain && included) {
        anchoredOk = true;
        used.set(an.txId, { txId: an.txId, blockNumber: an.blockNumber, fromIndex: an.fromIndex, toIndex: an.toIndex, root: an.root });
      }
    }

    // ---- the readings: decoded again from the bytes, those in [from, to], in order ----
    let seg: DecodedSegment;
    try {
      seg = decodeSegment(Buffer.from(s.segmentBase64, 'base64'));
    } catch (err) {
      fail({ code: ReadingsProofCodes.malformed, ...at, reason: `index ${u.index}: the segment bytes do not decode (${(err as Error).message})` });
      return;
    }
    const inRange: number[] = [];
    for (let k = 0; k < seg.count; k++) if (seg.ts[k]! >= from && seg.ts[k]! <= to) inRange.push(k);
    const { offset, count } = s.readings;
    if (offset !== expectedOffset) {
      fail({ code: ReadingsProofCodes.incomplete, ...at, reason: `index ${u.index}: its readings start at answer position ${offset}, the previous segment's end at ${expectedOffset}` });
    }
    if (count < inRange.length && !(last && a.truncated)) {
      fail({ code: ReadingsProofCodes.incomplete, ...at, reason: `index ${u.index}: ${inRange.length} of its readings lie in [${from}, ${to}], the answer holds ${count}` });
    }
    let altered = 0;
    for (let k = 0; k < count; k++) {
      const got = a.readings[offset + k];
      const want = inRange[k];
      if (got === undefined || want === undefined || !sameReading(got, segmentReading(seg, want, feedId))) {
        if (altered++ === 0) {
          fail({ code: ReadingsProofCodes.readingAltered, ...at, reading: offset + k, reason: `reading ${offset + k}: not the segment's reading ${want ?? '(none)'} of index ${u.index} as decoded from the signed bytes` });
        }
      }
    }
    if (anchoredOk) proven += count;
    else if (s.anchor === null) unanchored += count;
  }
}
