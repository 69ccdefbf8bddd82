import { canonicalBytes, feedUpdateSignatureValid, parseFeedUpdate, parseFeedUpdateShape, sha256, toHex, type FeedUpdate } from '@twinledger/dht/records';
import type { BundleFeed } from './bundle.js';
import { merkleLeafHash, verifyMerkleInclusion } from './merkle.js';

/**
 * Feed evidence (ADR-18): a feed's anchors (Merkle roots the ledger holds), the owner-signed
 * update records they prove, the segments (readings) those records name, and conflicting
 * records some replica served. Checked offline, with the anchors already taken from verified
 * transactions (verify.ts); nothing here trusts the exporter or the replicas.
 */

/** An anchor as a verified transaction wrote it. */
export interface AnchoredRoot {
  readonly txId: string;
  readonly feedId: string;
  readonly componentId: string;
  readonly fromIndex: number;
  readonly toIndex: number;
  /** hex */
  readonly root: string;
}

export const FeedFailureCodes = {
  /** An anchor transaction that writes no anchor of this twin's feed (or a different one than listed). */
  anchorInvalid: 'FEED_ANCHOR_INVALID',
  /** An update whose index no verified anchor of the bundle covers. */
  anchorMissing: 'FEED_ANCHOR_MISSING',
  /** An update record that is malformed, of another feed, or not signed by the feed's owner key. */
  updateInvalid: 'FEED_UPDATE_INVALID',
  /** An update whose audit path does not lead to the anchored root: not the update the owner anchored. */
  proofInvalid: 'FEED_PROOF_INVALID',
  /** Segment bytes (readings) or manifest that do not hash to what the signed update names. */
  segmentMismatch: 'FEED_SEGMENT_MISMATCH',
  /** Two different updates for one index, both signed by the feed's owner key. */
  equivocation: 'FEED_EQUIVOCATION',
  /** A conflict entry that is no evidence (unsigned, another feed or index, or the same update twice). */
  evidenceInvalid: 'FEED_EVIDENCE_INVALID',
} as const;
export type FeedFailureCode = (typeof FeedFailureCodes)[keyof typeof FeedFailureCodes];

export interface FeedFailure {
  readonly code: FeedFailureCode;
  readonly reason: string;
  readonly feedId: string;
  readonly index?: number;
  readonly txId?: string;
}

export interface FeedEquivocation {
  readonly index: number;
  /** SHA-256 of each conflicting record's canonical JSON, hex. */
  readonly updateHashes: readonly string[];
  /** Which of them the anchor proves, when the bundle carries its proof. */
  readonly anchored?: string;
}

export interface FeedEvidenceResult {
  readonly feedId: string;
  readonly componentId: string;
  readonly anchors: number;
  /** The run of contiguous anchored indices starting at the lowest anchor; null without anchors. */
  readonly anchored: { readonly from: number; readonly to: number } | null;
  /** The latest anchored root (hex) and its transaction. */
  readonly latestRoot: { readonly root: string; readonly txId: string; readonly toIndex: number } | null;
  /** Updates whose proof verified against an anchor. */
  readonly provenUpdates: number;
  /** Of them, those whose segment (readings) the bundle carries and which hashed right. */
  readonly provenSegments: number;
  readonly equivocations: readonly FeedEquivocation[];
  readonly failures: readonly FeedFailure[];
}

/** H(0x00 || canonical JSON of the signed update record): the leaf the anchorer and the verifier hash. */
export function feedLeafHash(update: FeedUpdate): Buffer {
  return merkleLeafHash(canonicalBytes(update));
}

const HEX32 = /^[0-9a-f]{64}$/;
/** SHA-256 of a record's canonical JSON (how equivocations name records); memoized per record object. */
const recordHashes = new WeakMap<FeedUpdate, string>();
const recordHash = (u: FeedUpdate): string => {
  let h = recordHashes.get(u);
  if (h === undefined) recordHashes.set(u, (h = toHex(sha256(canonicalBytes(u)))));
  return h;
};

export function verifyFeedEvidence(feed: BundleFeed, anchors: readonly AnchoredRoot[]): FeedEvidenceResult {
  const failures: FeedFailure[] = [];
  const feedId = feed.feedId;
  const fail = (f: Omit<FeedFailure, 'feedId'>): void => void failures.push({ ...f, feedId });
  const sorted = [...anchors].filter((a) => a.feedId === feedId).sort((a, b) => a.fromIndex - b.fromIndex);
  const covering = (index: number): AnchoredRoot | undefined => {
    // Anchors are disjoint (the chaincode keeps them contiguous): a binary search finds the one.
    let lo = 0;
    let hi = sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const a = sorted[mid]!;
      if (index < a.fromIndex) hi = mid - 1;
      else if (index > a.toIndex) lo = mid + 1;
      else return a;
    }
    return undefined;
  };

  /** A record of this feed signed by its owner key (the key the feed ID binds), or why not; `signed: false` checks shape and binding only. */
  const parse = (v: unknown, signed = true): FeedUpdate | string => {
    try {
      const u = signed ? parseFeedUpdate(v) : parseFeedUpdateShape(v);
      return u.feedId === feedId ? u : `the record belongs to feed ${u.feedId}`;
    } catch (err) {
      return (err as Error).message;
    }
  };

  const byIndex = new Map<number, Map<string, FeedUpdate>>();
  const anchoredHash = new Map<number, string>();
  const note = (u: FeedUpdate): void => {
    let m = byIndex.get(u.index);
    if (!m) byIndex.set(u.index, (m = new Map()));
    m.set(recordHash(u), u);
  };

  let provenUpdates = 0;
  let provenSegments = 0;
  for (const [i, item] of feed.updates.entries()) {
    // The signature is checked only where nothing else vouches for the record: a record whose
    // path leads to an anchored root is, byte for byte, the one its owner organization anchored
    // (the leaf covers the signature too), and an Ed25519 check per record would dominate a day.
    const u = parse(item.update, false);
    if (typeof u === 'string') {
      fail({ code: FeedFailureCodes.updateInvalid, reason: `feed ${feedId} updates[${i}]: ${u}` });
      continue;
    }
    // One canonical encoding per record serves its leaf and its record hash.
    const canon = canonicalBytes(u);
    recordHashes.set(u, toHex(sha256(canon)));
    const a = covering(u.index);
    const path = item.proof.every((p) => HEX32.test(p)) ? item.proof.map((p) => Buffer.from(p, 'hex')) : undefined;
    const proven = a !== undefined && path !== undefined && verifyMerkleInclusion(merkleLeafHash(canon), u.index - a.fromIndex, a.toIndex - a.fromIndex + 1, path, Buffer.from(a.root, 'hex'));
    if (!proven && !feedUpdateSignatureValid(u)) {
      fail({ code: FeedFailureCodes.updateInvalid, index: u.index, reason: `feed ${feedId} updates[${i}]: the record is not signed by the feed's owner key` });
      continue;
    }
    note(u);
    if (!a) {
      fail({ code: FeedFailureCodes.anchorMissing, index: u.index, reason: `feed ${feedId} index ${u.index}: no anchor in the bundle covers it` });
    } else {
      if (proven) {
        provenUpdates++;
        anchoredHash.set(u.index, recordHash(u));
      } else {
        fail({
          code: FeedFailureCodes.proofInvalid,
          index: u.index,
          txId: a.txId,
          reason: `feed ${feedId} index ${u.index}: the update is not the one anchored by ${a.txId} (indices ${a.fromIndex}..${a.toIndex}): its audit path does not lead to the root`,
        });
      }
    }
    if (item.segmentBase64 === undefined && item.manifest === undefined) continue;
    const problem = segmentProblem(u, item.manifest, item.segmentBase64);
    if (problem) fail({ code: FeedFailureCodes.segmentMismatch, index: u.index, reason: `feed ${feedId} index ${u.index}: ${problem}` });
    else if (anchoredHash.get(u.index) === recordHash(u)) provenSegments++;
  }

  for (const [i, c] of feed.conflicts.entries()) {
    const parsed = c.updates.map((v) => parse(v));
    const bad = parsed.find((p): p is string => typeof p === 'string');
    const ups = parsed.filter((p): p is FeedUpdate => typeof p !== 'string');
    if (bad !== undefined || ups.length < 2 || ups.some((u) => u.index !== c.index) || new Set(ups.map(recordHash)).size < 2) {
      fail({ code: FeedFailureCodes.evidenceInvalid, index: c.index, reason: `feed ${feedId} conflicts[${i}]: not two different owner-signed updates of index ${c.index}${bad ? ` (${bad})` : ''}` });
      continue;
    }
    ups.forEach(note);
  }

  const equivocations: FeedEquivocation[] = [];
  for (const [index, all] of [...byIndex.entries()].sort(([a], [b]) => a - b)) {
    if (all.size < 2) continue;
    // Equivocation is a claim about the owner key: every record in it must carry its signature.
    const m = new Map([...all].filter(([, u]) => feedUpdateSignatureValid(u)));
    if (m.size < 2) continue;
    const hashes = [...m.keys()].sort();
    const anchored = anchoredHash.get(index);
    equivocations.push({ index, updateHashes: hashes, ...(anchored ? { anchored } : {}) });
    fail({
      code: FeedFailureCodes.equivocation,
      index,
      reason: `feed ${feedId} index ${index}: the feed's owner key signed ${m.size} different updates (${hashes.map((h) => h.slice(0, 16)).join(', ')})${anchored ? `; the anchor proves ${anchored.slice(0, 16)}` : ''}`,
    });
  }

  let anchored: FeedEvidenceResult['anchored'] = null;
  if (sorted.length > 0) {
    const first = sorted[0]!;
    let to = first.toIndex;
    for (const a of sorted.slice(1)) {
      if (a.fromIndex !== to + 1) break;
      to = a.toIndex;
    }
    anchored = { from: first.fromIndex, to };
  }
  const last = sorted[sorted.length - 1];
  return {
    feedId,
    componentId: feed.componentId,
    anchors: sorted.length,
    anchored,
    latestRoot: last ? { root: last.root, txId: last.txId, toIndex: last.toIndex } : null,
    provenUpdates,
    provenSegments,
    equivocations,
    failures,
  };
}

/** Why the manifest and segment do not belong to the update (undefined when they do); readings proofs use it too. */
export function segmentProblem(u: FeedUpdate, manifest: unknown, segmentBase64: string | undefined): string | undefined {
  if (manifest === undefined || segmentBase64 === undefined) return 'a segment needs its manifest and the manifest its segment';
  // The manifest is stored as canonical JSON and referenced by its SHA-256 (manifest.ts); only
  // its plaintext hash is used here, so the hash check is the whole of it (no second parse).
  let bytes: Uint8Array;
  try {
    bytes = canonicalBytes(manifest);
  } catch (err) {
    return `the manifest is not canonical JSON (${(err as Error).message})`;
  }
  if (toHex(sha256(bytes)) !== u.ref) return 'the manifest is not the one the update names (its SHA-256 is not the update\'s ref)';
  const plaintextHash = (manifest as { plaintextHash?: unknown }).plaintextHash;
  if (typeof plaintextHash !== 'string' || !HEX32.test(plaintextHash)) return 'the manifest names no plaintext hash';
  const got = toHex(sha256(Buffer.from(segmentBase64, 'base64')));
  return got === plaintextHash ? undefined : `the segment bytes hash to ${got}, the signed manifest says ${plaintextHash}: the readings were altered`;
}
