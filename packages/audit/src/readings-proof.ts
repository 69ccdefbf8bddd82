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

/**
 * The record of a segment next to the served ones, without its bytes: its owner-signed time
 * range is what shows it holds nothing of the range (time ranges grow with the index).
 */
export interface ReadingsProofEdge {
  /** The owner-signed update record (`@twinledger/dht` FeedUpdate). */
  readonly update: Readonly<Record<string, unknown>>;
  /** The anchor covering the record's index; null past the last anchor. */
  readonly anchor: ReadingsProofAnchor | null;
  /** RFC 6962 audit path (hex, leaf side first) of `update` in `anchor`; empty without anchor. */
  readonly proof: readonly string[];
}

export interface ReadingsProof {
  readonly feedId: string;
  readonly twinId: string;
  /** The anchors the segments and edge records fall under. */
  readonly anchors: readonly ReadingsProofAnchor[];
  /** In index order, consecutive. */
  readonly segments: readonly ReadingsProofSegment[];
  /** The first index no anchor covers yet (segments from here on carry `anchor: null`). */
  readonly unanchoredFrom: number;
  /**
   * The record of index first - 1, which ends before `from`; null when the first served segment
   * is index 0. Without segments: the last segment that ends before `from` (null when none does).
   */
  readonly before: ReadingsProofEdge | null;
  /**
   * The record of index last + 1, which starts after `to`; null when the server holds no later
   * segment, and in a truncated answer (its end is where the next page starts). Without segments:
   * the segment after `before` (index 0 when `before` is null).
   */
  readonly after: ReadingsProofEdge | null;
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
  /** A segment or edge record served without a proof although its index is anchored. */
  proofMissing: 'FEED_PROOF_MISSING',
  /**
   * The record of a neighbour segment is absent where the range's edge needs it (index
   * first - 1; index last + 1 where an anchor shows it exists), or is the record of another index.
   */
  edgeMissing: 'READINGS_EDGE_MISSING',
} as const;
export type ReadingsProofCode = (typeof ReadingsProofCodes)[keyof typeof ReadingsProofCodes];

export interface ReadingsProofFailure {
  readonly code: ReadingsProofCode;
  readonly reason: string;
  /** The feed index of the segment concerned. */
  readonly index?: number;
  /** The position in the answer's readings. */
  readonly reading?: number;
  /** The edge of the range concerned (its neighbour record before or after the served segments). */
  readonly edge?: 'before' | 'after';
}

/**
 * What an edge of the range rests on:
 * - `anchored`: the neighbour's record is proven by a trusted anchor and lies outside the range;
 * - `signed`: the same, but the neighbour is past the last anchor (owner-signed only);
 * - `feed-start`: the range starts at index 0, nothing precedes it;
 * - `truncated` (end only): the answer is truncated, its end is where the next page starts;
 * - `open` (end only): no record after, and no trusted anchor covers the next index: that no
 *   later segment meets the range is not proven (the server may hold back unanchored segments);
 * - `failed`: a failure says why.
 */
export type ReadingsEdgeStatus = 'anchored' | 'signed' | 'feed-start' | 'truncated' | 'open' | 'failed';

export interface ReadingsProofVerification {
  readonly ok: boolean;
  readonly failures: readonly ReadingsProofFailure[];
  /** Readings whose segment is proven by a trusted anchor. */
  readonly provenReadings: number;
  /** Readings of segments past the last anchor: owner-signed, not yet on chain. */
  readonly unanchoredReadings: number;
  /** The trusted anchors the proven readings and edges rest on (each once). */
  readonly anchors: readonly ReadingsProofAnchor[];
  /** What proves that no segment before the first and after the last served one meets the range. */
  readonly edges: { readonly before: ReadingsEdgeStatus; readonly after: ReadingsEdgeStatus };
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
const isEdge = (e: unknown): e is ReadingsProofEdge =>
  isObject(e) && isObject(e['update']) && (e['anchor'] === null || isAnchor(e['anchor'])) && Array.isArray(e['proof']) && e['proof'].every((p) => typeof p === 'string');
const isSegment = (s: unknown): s is ReadingsProofSegment =>
  isObject(s) && isEdge(s) && isObject(s['manifest']) && typeof s['segmentBase64'] === 'string' && isObject(s['readings']) && isIndex(s['readings']['offset']) && isIndex(s['readings']['count']);

function shapeProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'the answer is not an object';
  if (!Array.isArray(v['readings']) || !v['readings'].every(isObject)) return 'readings is not an array of readings';
  if (typeof v['truncated'] !== 'boolean') return 'truncated is missing';
  const p = v['proof'];
  if (!isObject(p)) return 'the answer carries no proof (ask with proof=true)';
  if (typeof p['feedId'] !== 'string' || !Array.isArray(p['anchors']) || !p['anchors'].every(isAnchor) || !isIndex(p['unanchoredFrom'])) return 'proof.feedId, proof.anchors or proof.unanchoredFrom is malformed';
  if (!Array.isArray(p['segments'])) return 'proof.segments is not an array';
  const bad = p['segments'].findIndex((s) => !isSegment(s));
  if (bad >= 0) return `proof.segments[${bad}] is malformed`;
  // An absent edge (undefined) is not malformed: it is an edge the proof does not carry (READINGS_EDGE_MISSING).
  for (const side of ['before', 'after'] as const) if (p[side] !== undefined && p[side] !== null && !isEdge(p[side])) return `proof.${side} is malformed`;
  return undefined;
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
 *
 * The edges: the record before the first served segment must end before `from` and the record
 * after the last must start after `to`. Time ranges grow with the index, so no other segment
 * can meet the range: that is what makes a served answer complete, not only correct. A proof
 * without edge records (`before`/`after` absent, an older server) is read as carrying none: it
 * is refused wherever the edge needs a record, because nothing then tells an answer that left
 * out the range's first or last segments from one that did not.
 */
export function verifyReadingsProof(answer: unknown, trustedAnchors: readonly TrustedAnchor[], request: ReadingsProofRequest): ReadingsProofVerification {
  const failures: ReadingsProofFailure[] = [];
  const fail = (f: ReadingsProofFailure): void => void failures.push(f);
  const problem = shapeProblem(answer);
  if (problem !== undefined) {
    return { ok: false, failures: [{ code: ReadingsProofCodes.malformed, reason: problem }], provenReadings: 0, unanchoredReadings: 0, anchors: [], edges: { before: 'failed', after: 'failed' } };
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
  const edges = checkEdges();
  return { ok: failures.length === 0, failures, provenReadings: proven, unanchoredReadings: unanchored, anchors: [...used.values()], edges };

  /** The record: this feed's, signed by the owner key the feed ID binds; undefined (and a failure) when not. */
  function signedRecord(where: string, v: unknown, edge?: 'before' | 'after'): FeedUpdate | undefined {
    const side = edge ? { edge } : {};
    let u: FeedUpdate;
    try {
      u = parseFeedUpdateShape(v);
    } catch (err) {
      fail({ code: ReadingsProofCodes.updateInvalid, ...side, reason: `${where}: ${(err as Error).message}` });
      return undefined;
    }
    if (u.feedId !== feedId) {
      fail({ code: ReadingsProofCodes.updateInvalid, index: u.index, ...side, reason: `${where}: the record belongs to feed ${u.feedId}` });
      return undefined;
    }
    if (!feedUpdateSignatureValid(u)) {
      fail({ code: ReadingsProofCodes.updateInvalid, index: u.index, ...side, reason: `${where} (index ${u.index}): the record is not signed by the feed's owner key` });
      return undefined;
    }
    return u;
  }

  /**
   * The record's anchor: on chain per the auditor, and the record's path leads to its root;
   * `anchor: null` only past the anchors. 'anchored' or 'unanchored' when it holds, else 'failed'.
   */
  function checkAnchor(u: FeedUpdate, anchor: ReadingsProofAnchor | null, proof: readonly string[], edge?: 'before' | 'after'): 'anchored' | 'unanchored' | 'failed' {
    const at = { index: u.index, ...(edge ? { edge } : {}) };
    if (anchor === null) {
      const covering = trusted.find((t) => u.index >= t.fromIndex && u.index <= t.toIndex);
      if (covering === undefined && u.index >= a.proof.unanchoredFrom) return 'unanchored';
      fail({ code: ReadingsProofCodes.proofMissing, ...at, reason: `index ${u.index} is anchored (${covering ? `by ${covering.txId}` : `below unanchoredFrom ${a.proof.unanchoredFrom}`}) but its record comes without a proof` });
      return 'failed';
    }
    const an = anchor;
    const onChain = trusted.find((t) => t.txId === an.txId && t.root === an.root && t.fromIndex === an.fromIndex && t.toIndex === an.toIndex && t.blockNumber === an.blockNumber);
    if (!onChain) {
      fail({ code: ReadingsProofCodes.rootNotOnChain, ...at, reason: `index ${u.index}: anchor ${an.txId} (block ${an.blockNumber}, indices ${an.fromIndex}..${an.toIndex}, root ${an.root.slice(0, 16)}) is not among the trusted on-chain anchors` });
    }
    const path = proof.every((p) => HEX32.test(p)) ? proof.map((p) => Buffer.from(p, 'hex')) : undefined;
    const included =
      path !== undefined &&
      u.index >= an.fromIndex &&
      u.index <= an.toIndex &&
      verifyMerkleInclusion(feedLeafHash(u), u.index - an.fromIndex, an.toIndex - an.fromIndex + 1, path, Buffer.from(an.root, 'hex'));
    if (!included) {
      fail({ code: ReadingsProofCodes.proofInvalid, ...at, reason: `index ${u.index}: the audit path does not lead from the update to the root of ${an.txId} (indices ${an.fromIndex}..${an.toIndex})` });
    }
    if (!onChain || !included) return 'failed';
    used.set(an.txId, { txId: an.txId, blockNumber: an.blockNumber, fromIndex: an.fromIndex, toIndex: an.toIndex, root: an.root });
    return 'anchored';
  }

  /** One segment: its record, its bytes, its anchor, its readings (a failed step ends the segment's checks). */
  function checkSegment(i: number, s: ReadingsProofSegment): void {
    const last = i === segments.length - 1;
    const u = signedRecord(`segments[${i}]`, s.update);
    if (u === undefined) return;
    const at = { index: u.index };
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

    const anchoring = checkAnchor(u, s.anchor, s.proof);

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
    if (anchoring === 'anchored') proven += count;
    else if (anchoring === 'unanchored') unanchored += count;
  }

  /**
   * The neighbours of the served segments (of the gap where the range falls, without segments):
   * each the record of the right index, signed and anchored like a segment's, and outside the
   * range. An index is known to exist when a trusted anchor covers it or the proof's own
   * `unanchoredFrom` lies past it; only past both may the record after be absent.
   */
  function checkEdges(): ReadingsProofVerification['edges'] {
    const indexOf = (s: ReadingsProofSegment | undefined): number | undefined => {
      const v = (s?.update as { index?: unknown } | undefined)?.index;
      return isIndex(v) ? v : undefined;
    };
    const given = { before: a.proof.before ?? null, after: a.proof.after ?? null };
    const parsed = {
      before: given.before === null ? undefined : signedRecord('proof.before', given.before.update, 'before'),
      after: given.after === null ? undefined : signedRecord('proof.after', given.after.update, 'after'),
    };
    // The indices the neighbours must have; undefined where a failure already stops the check.
    let want: { before: number | undefined; after: number | undefined };
    if (segments.length > 0) {
      const first = indexOf(segments[0]);
      const last = indexOf(segments.at(-1));
      want = { before: first === undefined ? undefined : first - 1, after: last === undefined ? undefined : last + 1 };
    } else if (parsed.before !== undefined || parsed.after !== undefined) {
      // No segment meets the range: the answer claims it falls between two consecutive indices.
      const b = parsed.before !== undefined ? parsed.before.index : parsed.after!.index - 1;
      want = { before: b, after: b + 1 };
    } else if (given.before === null && given.after === null) {
      // Neither: the claim is that the feed holds no segment at all.
      want = { before: -1, after: 0 };
    } else {
      want = { before: undefined, after: undefined };
    }
    const known = (index: number): boolean => index < a.proof.unanchoredFrom || trusted.some((t) => index >= t.fromIndex && index <= t.toIndex);
    return { before: side('before'), after: side('after') };

    function side(edge: 'before' | 'after'): ReadingsEdgeStatus {
      const e = given[edge];
      const index = want[edge];
      if (e !== null && parsed[edge] === undefined) return 'failed';
      if (index === undefined) return 'failed';
      if (edge === 'before' && index < 0) {
        if (e === null) return 'feed-start';
        fail({ code: ReadingsProofCodes.edgeMissing, index: parsed.before!.index, edge, reason: `the range starts at index 0: no record precedes it, the proof carries index ${parsed.before!.index}` });
        return 'failed';
      }
      if (e === null) {
        if (edge === 'after' && a.truncated) return 'truncated';
        if (edge === 'after' && !known(index)) return 'open';
        fail({
          code: ReadingsProofCodes.edgeMissing,
          index,
          edge,
          reason:
            edge === 'before'
              ? `the record of index ${index} is not in the proof: nothing shows it holds no reading of [${from}, ${to}]`
              : `index ${index} exists (anchored, or below unanchoredFrom ${a.proof.unanchoredFrom}) but its record is not in the proof: nothing shows it holds no reading of [${from}, ${to}]`,
        });
        return 'failed';
      }
      const u = parsed[edge]!;
      if (u.index !== index) {
        fail({ code: ReadingsProofCodes.edgeMissing, index: u.index, edge, reason: `proof.${edge} is the record of index ${u.index}, the range's ${edge === 'before' ? 'first' : 'next'} neighbour is index ${index}` });
        return 'failed';
      }
      const anchoring = checkAnchor(u, e.anchor, e.proof, edge);
      if (edge === 'after' && a.truncated) return anchoring === 'failed' ? 'failed' : 'truncated';
      const outside = edge === 'before' ? u.timeEnd < from : u.timeStart > to;
      if (!outside) {
        fail({
          code: ReadingsProofCodes.incomplete,
          index: u.index,
          edge,
          reason:
            edge === 'before'
              ? `index ${u.index}, before the first served segment, ends at ${u.timeEnd}, not before ${from}: segments of the range are left out`
              : `index ${u.index}, after the last served segment, starts at ${u.timeStart}, not after ${to}: segments of the range are left out`,
        });
        return 'failed';
      }
      return anchoring === 'anchored' ? 'anchored' : anchoring === 'unanchored' ? 'signed' : 'failed';
    }
  }
}
