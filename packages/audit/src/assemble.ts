import type { AuditBlockBundle, BundleFeed } from './bundle.js';

/**
 * Where the two halves of a bundle with feeds come from (ADR-18): spec-service (blocks, anchors,
 * specification, documents) and feed-ingest (update records with proofs, segments, conflicts).
 * Each answers the JSON of a GET path, as the caller: no authority is added here.
 */
export interface BundleSources {
  /** spec-service: GET `path` (e.g. `/twins/x/audit-bundle?...`) → its JSON. */
  spec(path: string): Promise<unknown>;
  /** feed-ingest: GET `path` → its JSON; absent when the caller has no feed-ingest (feeds then carry anchors only). */
  feeds?: (path: string) => Promise<unknown>;
}

export interface AssembleRequest {
  readonly twinId: string;
  /** Feed update indices to prove, per feed (feed-ingest serves at most 1,000 per call). */
  readonly feedFrom: number;
  readonly feedTo: number;
  /** Further query parameters of the bundle route (asOfSeq, documents, contiguous). */
  readonly bundleQuery?: Readonly<Record<string, string>>;
}

/** The twin's bundle with each anchored feed's evidence for feedFrom..feedTo merged in. */
export async function assembleAuditBundle(src: BundleSources, req: AssembleRequest): Promise<AuditBlockBundle> {
  const q = new URLSearchParams({ ...req.bundleQuery, feeds: 'true', feedFrom: String(req.feedFrom), feedTo: String(req.feedTo) });
  const bundle = (await src.spec(`/twins/${encodeURIComponent(req.twinId)}/audit-bundle?${q}`)) as AuditBlockBundle;
  const feeds: BundleFeed[] = [];
  for (const f of bundle.feeds ?? []) {
    // Without an anchor in the range there is nothing the evidence could be proven against.
    if (!src.feeds || f.anchors.length === 0) {
      feeds.push(f);
      continue;
    }
    const e = (await src.feeds(`/feeds/${f.feedId}/evidence?fromIndex=${req.feedFrom}&toIndex=${req.feedTo}`)) as Pick<BundleFeed, 'updates' | 'conflicts'> & {
      anchors?: readonly { txId: string; fromIndex: number; toIndex: number }[];
    };
    // Only the updates an anchor of this bundle covers: later ones (past the feed's last
    // anchor, or anchored after spec-service answered) could only fail as FEED_ANCHOR_MISSING.
    // Conflicts stay whole: equivocation evidence needs no anchor.
    const inBundle = new Set(f.anchors.map((a) => a.txId));
    const covering = e.anchors?.filter((a) => inBundle.has(a.txId));
    const updates = covering
      ? e.updates.filter((u) => {
          const i = u.update['index'];
          return typeof i === 'number' && covering.some((a) => i >= a.fromIndex && i <= a.toIndex);
        })
      : e.updates;
    feeds.push({ ...f, updates, conflicts: e.conflicts });
  }
  return { ...bundle, feeds };
}
