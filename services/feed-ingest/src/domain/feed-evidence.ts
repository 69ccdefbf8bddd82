import { feedLeafHash, merkleTree, type BundleFeedConflict, type BundleFeedUpdate, type MerkleTree } from '@twinledger/audit';
import type { DhtNode, FeedUpdate } from '@twinledger/dht';
import { ValidationError } from '@twinledger/errors';
import type { FeedAnchor, TwinLedger } from '@twinledger/ledger';

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
}

export interface FeedEvidenceInit {
  /** Most indices one call covers (each is an update record, a manifest and a segment). */
  readonly maxIndices: number;
  /** Anchor trees kept for repeated calls; default 64. */
  readonly treeCacheEntries?: number;
}

export function createFeedEvidenceSource(init: FeedEvidenceInit, c: { dht: DhtNode; ledger: TwinLedger }): FeedEvidenceSource {
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

  return {
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
