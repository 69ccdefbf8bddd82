import { feedLeafHash, merkleTree, type BundleFeedConflict, type BundleFeedUpdate, type MerkleTree, type ReadingsProof, type ReadingsProofAnchor, type ReadingsProofEdge, type ReadingsProofSegment } from '@twinledger/audit';
import { mapBounded, type DhtNode, type FeedUpdate } from '@twinledger/dht';
import { ValidationError } from '@twinledger/errors';
import type { FeedAnchor, TwinLedger } from '@twinledger/ledger';
import { ProofUnavailableError } from './errors.js';
import type { ServedSegment } from './feed-reader.js';

/**
 * The feed half of an audit bundle (ADR-18): for an index range of a feed, each owner-signed
 * update record with its RFC 6962 audit path in the anchor that covers it, the segment's
 * manifest and bytes (the readings), and every index where the replicas hold more than one
 * owner-signed update (equivocation evidence). Nothing here is trusted by the verifier: it
 * checks the paths against anchors it takes from verified ledger transactions.
 */
export interface FeedEvidence {
  readonly feedId: string;
  readonly twinId: string;
  readonly componentId: string;
  /** The anchors covering the range, as the ledger lists them (txId, indices, root). */
  readonly anchors: readonly FeedAnchor[];
  readonly updates: readonly BundleFeedUpdate[];
  readonly conflicts: readonly BundleFeedConflict[];
  /** The first index after the last anchor: updates from here on carry no proof yet. */
  readonly unanchoredFrom: number;
}

export interface FeedEvidenceRequest {
  readonly fromIndex: number;
  readonly toIndex: number;
  /** Include manifests and segment bytes (the readings); default true. */
  readonly segments: boolean;
  /** Ask every live candidate of every index for a conflicting update (r requests per index); default false. */
  readonly scanReplicas: boolean;
}

export interface FeedEvidenceSource {
  evidence(feedId: string, twinId: string, componentId: string, req: FeedEvidenceRequest): Promise<FeedEvidence>;
  /**
   * The proof of a range read (FeedReader.rangeWithSegments): per served segment its
   * owner-signed update record, manifest and bytes, and the anchor covering its index with the
   * record's audit path and the anchor transaction's block (packages/audit `ReadingsProof`);
   * and the records (no bytes) of the neighbours that show the range's edges: index first - 1,
   * and last + 1 unless the read was truncated (without segments: the two indices the range
   * falls between). 503 PROOF_UNAVAILABLE when the anchors, their blocks or the records cannot
   * be read.
   */
  readingsProof(feedId: string, twinId: string, read: ReadingsRead, segments: readonly ServedSegment[]): Promise<ReadingsProof>;
}

/** The range read a readings proof is of. */
export interface ReadingsRead {
  readonly from: number;
  readonly to: number;
  /** The answer says `truncated`: its end is the next page's start, no record after is needed. */
  readonly truncated: boolean;
}

/** Where anchor transactions were committed: qscc GetBlockByTxID in production (main.ts), a map in unit tests. */
export interface AnchorBlocks {
  blockNumberOf(txId: string): Promise<number>;
}

export interface FeedEvidenceInit {
  /** Most indices one call covers (each is an update record, a manifest and a segment). */
  readonly maxIndices: number;
  /** Anchor trees kept for repeated calls; default 64. */
  readonly treeCacheEntries?: number;
}

/** Manifests of a proof's segments read at once (a page is up to 1,000 segments). */
const PROOF_FETCH_CONCURRENCY = 16;

export function createFeedEvidenceSource(init: FeedEvidenceInit, c: { dht: DhtNode; ledger: TwinLedger; blocks?: AnchorBlocks }): FeedEvidenceSource {
  /** Anchors never change once on the ledger: kept per feed, extended when a range passes the last known. */
  const anchorsByFeed = new Map<string, FeedAnchor[]>();
  const trees = new Map<string, { tree: MerkleTree; records: FeedUpdate[] }>();
  const maxTrees = init.treeCacheEntries ?? 64;

  async function anchorsOf(twinId: string, feedId: string, upTo: number): Promise<FeedAnchor[]> {
    const known = anchorsByFeed.get(feedId) ?? [];
    if (known.length > 0 && known[known.length - 1]!.toIndex >= upTo) return known;
    const all: FeedAnchor[] = [];
    let bookmark = '';
    do {
      const page = await c.ledger.listFeedAnchorsPage(twinId, feedId, { limit: 1000, bookmark });
      all.push(...page.items);
      bookmark = page.bookmark;
    } while (bookmark !== '');
    anchorsByFeed.set(feedId, all);
    return all;
  }

  /** The anchor's tree over the records the DHT holds now, or undefined when one is missing. */
  async function treeOf(a: FeedAnchor): Promise<{ tree: MerkleTree; records: FeedUpdate[] } | undefined> {
    const hit = trees.get(a.txId);
    if (hit) return hit;
    const records = await c.dht.feedUpdateRecords(a.feedId, a.fromIndex, a.toIndex);
    if (records.length !== a.toIndex - a.fromIndex + 1) return undefined;
    const t = { tree: merkleTree(records.map(feedLeafHash)), records };
    if (trees.size >= maxTrees) trees.delete(trees.keys().next().value!);
    trees.set(a.txId, t);
    return t;
  }

  /** Block numbers of anchor transactions: a committed transaction never moves. */
  const blockNumbers = new Map<string, number>();
  async function blockOf(txId: string): Promise<number> {
    const known = blockNumbers.get(txId);
    if (known !== undefined) return known;
    if (!c.blocks) throw new ProofUnavailableError('this instance has no block reader (qscc) for anchor blocks', { details: { txId } });
    const n = await c.blocks.blockNumberOf(txId);
    if (blockNumbers.size >= 10_000) blockNumbers.delete(blockNumbers.keys().next().value!);
    blockNumbers.set(txId, n);
    return n;
  }

  /** Any failure to read the ledger or the replicas is the one stable 503 of proofs. */
  async function orUnavailable<T>(what: string, details: Record<string, unknown>, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof ProofUnavailableError) throw err;
      throw new ProofUnavailableError(`the proof cannot be assembled: ${what}`, { cause: err, details });
    }
  }

  /** The record of one index as the replicas hold it, or undefined past the head. */
  async function recordAt(feedId: string, index: number): Promise<FeedUpdate | undefined> {
    return (await c.dht.feedUpdateRecords(feedId, index, index))[0];
  }

  /**
   * Where a range no segment meets falls: the record of the last index that ends before `from`
   * and that of the index after it (each undefined when there is none). The DHT's own search (time ranges grow with the index),
   * record by record: the range read found no segment, so its window is not at hand.
   */
  async function gapOf(feedId: string, from: number): Promise<{ before: FeedUpdate | undefined; after: FeedUpdate | undefined }> {
    const head = await c.dht.feedHead(feedId);
    if (!head) return { before: undefined, after: undefined };
    const need = async (index: number): Promise<FeedUpdate> => {
      const u = await recordAt(feedId, index);
      if (!u) throw new ProofUnavailableError('an update record below the feed head is not readable at the replicas', { details: { feedId, index } });
      return u;
    };
    let lo = 0;
    let hi = head.latestIndex + 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((await need(mid)).timeEnd < from) lo = mid + 1;
      else hi = mid;
    }
    return { before: lo > 0 ? await need(lo - 1) : undefined, after: lo <= head.latestIndex ? await need(lo) : undefined };
  }

  async function readingsProof(feedId: string, twinId: string, read: ReadingsRead, segments: readonly ServedSegment[]): Promise<ReadingsProof> {
    const first = segments[0]?.index;
    const lastIndex = segments.at(-1)?.index;
    // The served records and their neighbours in one read: first - 1 .. last + 1 (capped at the head).
    const records =
      first === undefined || lastIndex === undefined
        ? []
        : await orUnavailable('the update records are unreadable at the replicas', { feedId, first, last: lastIndex }, () => c.dht.feedUpdateRecords(feedId, Math.max(0, first - 1), lastIndex + (read.truncated ? 0 : 1)));
    const byIndex = new Map(records.map((u) => [u.index, u]));
    let beforeRecord: FeedUpdate | undefined;
    let afterRecord: FeedUpdate | undefined;
    if (first === undefined || lastIndex === undefined) {
      ({ before: beforeRecord, after: afterRecord } = await orUnavailable('the update records are unreadable at the replicas', { feedId }, () => gapOf(feedId, read.from)));
    } else {
      beforeRecord = first > 0 ? byIndex.get(first - 1) : undefined;
      if (first > 0 && !beforeRecord) throw new ProofUnavailableError('the update record before the first served segment is not readable', { details: { feedId, index: first - 1 } });
      // Past the head there is no record: `after: null`, which the verifier accepts only past the anchors.
      afterRecord = read.truncated ? undefined : byIndex.get(lastIndex + 1);
    }
    const upTo = Math.max(lastIndex ?? 0, afterRecord?.index ?? beforeRecord?.index ?? 0);
    const anchors = await orUnavailable('the feed\'s anchors on the ledger are unreadable', { feedId }, () => anchorsOf(twinId, feedId, upTo));
    const covering = (index: number): FeedAnchor | undefined => anchors.find((a) => index >= a.fromIndex && index <= a.toIndex);
    // An anchored index exists: its record missing is a replica failure, not the feed's end (the verifier would refuse `after: null`).
    if (lastIndex !== undefined && !read.truncated && !afterRecord && covering(lastIndex + 1)) {
      throw new ProofUnavailableError('the update record after the last served segment is not readable', { details: { feedId, index: lastIndex + 1 } });
    }
    const used = new Map<string, ReadingsProofAnchor>();

    /** The anchor covering a record's index, with the record's audit path in it (null, [] past the anchors). */
    async function anchoring(index: number): Promise<{ anchor: ReadingsProofAnchor | null; proof: string[] }> {
      const a = covering(index);
      if (!a) return { anchor: null, proof: [] };
      const t = await orUnavailable('the anchored records are unreadable', { feedId, txId: a.txId }, () => treeOf(a));
      if (!t) throw new ProofUnavailableError('the records an anchor covers are not all readable at the replicas', { details: { feedId, txId: a.txId } });
      const anchor = used.get(a.txId) ?? { txId: a.txId, blockNumber: await orUnavailable('the anchor\'s block is unreadable', { txId: a.txId }, () => blockOf(a.txId)), fromIndex: a.fromIndex, toIndex: a.toIndex, root: a.root };
      used.set(a.txId, anchor);
      // A served record that differs from the anchored one (equivocation) keeps the anchored
      // tree's path: the verifier then reports FEED_PROOF_INVALID, the server hides nothing.
      return { anchor, proof: t.tree.proof(index - a.fromIndex).map((p) => p.toString('hex')) };
    }
    const edge = async (u: FeedUpdate | undefined): Promise<ReadingsProofEdge | null> => (u ? { update: { ...u }, ...(await anchoring(u.index)) } : null);

    // Up to a page of segments: their manifests are fetched a few at a time, not one by one.
    const manifests = await mapBounded(segments, PROOF_FETCH_CONCURRENCY, (s) => orUnavailable('a segment manifest is unreadable', { feedId, index: s.index }, () => c.dht.getManifest(s.ref)));
    const out: ReadingsProofSegment[] = [];
    for (const [k, s] of segments.entries()) {
      const u = byIndex.get(s.index);
      // The record names the segment the readings came from, or the proof would be of other bytes.
      if (!u || u.ref !== s.ref) throw new ProofUnavailableError('the update record of a served segment is not readable as served', { details: { feedId, index: s.index } });
      out.push({
        update: { ...u },
        manifest: { ...manifests[k]! },
        segmentBase64: Buffer.from(s.payload).toString('base64'),
        readings: { offset: s.offset, count: s.count },
        ...(await anchoring(s.index)),
      });
    }
    const before = await edge(beforeRecord);
    const after = await edge(afterRecord);
    const last = anchors.at(-1);
    return { feedId, twinId, anchors: [...used.values()], segments: out, unanchoredFrom: last ? last.toIndex + 1 : 0, before, after };
  }

  return {
    readingsProof,

    async evidence(feedId, twinId, componentId, req) {
      const { fromIndex, toIndex } = req;
      if (toIndex < fromIndex) throw new ValidationError('toIndex must not be below fromIndex', { details: { fromIndex, toIndex } });
      if (toIndex - fromIndex + 1 > init.maxIndices) throw new ValidationError(`at most ${init.maxIndices} indices per call`, { details: { fromIndex, toIndex, max: init.maxIndices } });
      const anchors = await anchorsOf(twinId, feedId, toIndex);
      const covering = anchors.filter((a) => a.toIndex >= fromIndex && a.fromIndex <= toIndex);
      const records = await c.dht.feedUpdateRecords(feedId, fromIndex, toIndex);
      const updates: BundleFeedUpdate[] = [];
      const suspicious: number[] = [];
      for (const u of records) {
        const a = covering.find((x) => u.index >= x.fromIndex && u.index <= x.toIndex);
        let proof: string[] = [];
        if (a) {
          const t = await treeOf(a);
          const pos = u.index - a.fromIndex;
          // The record this node reads is not the one in the anchored tree (read again, from
          // another replica): worth asking every replica, and the proof is of the anchored one.
          if (!t || t.records[pos]!.sig !== u.sig) suspicious.push(u.index);
          if (t) proof = t.tree.proof(pos).map((p) => p.toString('hex'));
        }
        const item: BundleFeedUpdate = { update: { ...u }, proof };
        if (req.segments) {
          const manifest = await c.dht.getManifest(u.ref);
          const segment = await c.dht.getObject(u.ref);
          updates.push({ ...item, manifest: { ...manifest }, segmentBase64: Buffer.from(segment).toString('base64') });
        } else {
          updates.push(item);
        }
      }
      const conflicts: BundleFeedConflict[] = [];
      const scan = req.scanReplicas ? records.map((u) => u.index) : suspicious;
      for (const index of scan) {
        const seen = await c.dht.feedUpdateReplicas(feedId, index);
        if (seen.length > 1) conflicts.push({ index, updates: seen.map((u) => ({ ...u })) });
      }
      const last = anchors[anchors.length - 1];
      return { feedId, twinId, componentId, anchors: covering, updates, conflicts, unanchoredFrom: last ? last.toIndex + 1 : 0 };
    },
  };
}
