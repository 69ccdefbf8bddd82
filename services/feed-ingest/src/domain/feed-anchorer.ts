import { feedLeafHash, merkleTree } from '@twinledger/audit';
import type { DhtNode } from '@twinledger/dht';
import type { FeedAnchor, TwinLedger } from '@twinledger/ledger';
import { ChaincodeErrorCodes, ChaincodeRejectedError } from '@twinledger/ledger';
import type { Logger } from '@twinledger/observability';
import type { FeedAnchorMetrics } from './metrics.js';
import type { FeedRecord, FeedRegistry } from './feed-registry.js';

export interface FeedAnchorerInit {
  /** Anchor a feed with new updates once this long after its last anchor; 0 turns anchoring off. Default 60,000. */
  readonly periodMs: number;
  /** Also anchor as soon as this many updates wait (never before `minIntervalMs`); 0 = by period only. Default 0. */
  readonly maxPendingUpdates: number;
  /** Floor between two anchors of one feed, whatever triggers them. Default 60,000 (at most one transaction per feed per minute). */
  readonly minIntervalMs: number;
  /** Most updates one anchor covers (the chaincode allows 1,000,000); a backlog is anchored over several periods. Default 100,000. */
  readonly maxUpdatesPerAnchor: number;
  /** How often feeds are looked at (the due check is cheap: one head read per feed). Default min(periodMs, 5,000). */
  readonly tickMs?: number;
  readonly now?: () => number;
}

export interface FeedAnchorer {
  start(): void;
  stop(): Promise<void>;
  /** One pass over every feed now; resolves when done (passes never overlap). */
  pass(): Promise<void>;
  /** The feed's latest anchor this instance knows of (read from the ledger once, then its own). */
  tip(feedId: string): FeedAnchor | undefined;
}

interface FeedState {
  /** The last anchored index (-1: none). */
  anchoredTo: number;
  lastAnchorAt: number;
  tip: FeedAnchor | undefined;
}

/**
 * Commits, per feed this organization writes, a Merkle root over the new owner-signed update
 * records to the ledger (ADR-18): by period, or by count when configured, never more often
 * than `minIntervalMs`. Off the append path entirely (it reads update records the append
 * already stored, from this node's cache or the replicas), so the ingest pipeline never waits
 * for the ledger. The service's own identity submits; the chaincode lets only the organization
 * that registered the feed anchor it, and only contiguously, so a crash between submit and
 * answer is resolved by reading the tip again.
 */
export function createFeedAnchorer(
  init: FeedAnchorerInit,
  c: { registry: FeedRegistry; dht: DhtNode; ledger: TwinLedger; logger: Logger; metrics?: FeedAnchorMetrics },
): FeedAnchorer {
  const log = c.logger.child({ component: 'feed-anchorer' });
  const now = init.now ?? Date.now;
  const states = new Map<string, FeedState>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  /** The ledger's tip of the feed (the last anchor's end and time), read when not known. */
  async function stateOf(feed: FeedRecord): Promise<FeedState> {
    const known = states.get(feed.feedId);
    if (known) return known;
    const tip = (await c.ledger.listFeedAnchorTips(feed.twinId)).find((a) => a.feedId === feed.feedId);
    const s: FeedState = { anchoredTo: tip?.toIndex ?? -1, lastAnchorAt: tip ? Date.parse(tip.timestamp) || 0 : 0, tip };
    states.set(feed.feedId, s);
    return s;
  }

  async function anchorFeed(feed: FeedRecord): Promise<void> {
    const s = await stateOf(feed);
    const since = now() - s.lastAnchorAt;
    if (since < init.minIntervalMs) return;
    // Not due by time and no count trigger: nothing to read (no head read per feed per tick).
    if (since < init.periodMs && init.maxPendingUpdates <= 0) return;
    const head = await c.dht.feedHead(feed.feedId);
    const pending = (head?.latestIndex ?? -1) - s.anchoredTo;
    if (pending <= 0) return;
    const due = since >= init.periodMs || (init.maxPendingUpdates > 0 && pending >= init.maxPendingUpdates);
    if (!due) return;
    const from = s.anchoredTo + 1;
    const to = Math.min(head!.latestIndex, from + init.maxUpdatesPerAnchor - 1);
    const records = await c.dht.feedUpdateRecords(feed.feedId, from, to);
    // Contiguous or nothing: a root over a list with a hole would prove the wrong positions.
    if (records.length !== to - from + 1 || records.some((u, i) => u.index !== from + i)) {
      log.warn({ feedId: feed.feedId, from, to, found: records.length }, 'update records missing at the replicas; the next pass retries the anchor');
      return;
    }
    const root = merkleTree(records.map(feedLeafHash)).root.toString('hex');
    try {
      const { result } = await c.ledger.anchorFeedRoot(feed.twinId, feed.componentId, feed.feedId, from, to, root);
      states.set(feed.feedId, { anchoredTo: result.toIndex, lastAnchorAt: now(), tip: result });
      c.metrics?.anchors.inc({ outcome: 'committed' });
      c.metrics?.anchoredUpdates.inc(to - from + 1);
      log.debug({ feedId: feed.feedId, from, to, txId: result.txId }, 'feed root anchored');
    } catch (err) {
      const code = err instanceof ChaincodeRejectedError ? err.code : 'UNAVAILABLE';
      c.metrics?.anchors.inc({ outcome: code === ChaincodeErrorCodes.INVALID_STATE ? 'retip' : 'failed' });
      // INVALID_STATE: the ledger's tip moved (an earlier submit of ours that did commit): read it
      // again on the next pass. Any other refusal (the feed not yet on the ledger, no
      // feed:register) waits out the interval floor, so a feed that cannot be anchored costs one
      // attempt per interval, not one per tick.
      if (code === ChaincodeErrorCodes.INVALID_STATE) {
        states.delete(feed.feedId);
        return;
      }
      s.lastAnchorAt = now();
      throw err;
    }
  }

  async function onePass(): Promise<void> {
    for (const feed of c.registry.list()) {
      if (stopped) return;
      try {
        await anchorFeed(feed);
      } catch (err) {
        log.warn({ err, feedId: feed.feedId, twinId: feed.twinId }, 'feed anchor failed; the next pass retries');
      }
    }
  }

  function pass(): Promise<void> {
    running = running.then(onePass);
    return running;
  }

  const tick = init.tickMs ?? Math.min(init.periodMs, 5_000);
  function schedule(): void {
    if (stopped || init.periodMs <= 0) return;
    timer = setTimeout(() => void pass().finally(schedule), tick);
    timer.unref();
  }

  return {
    start: schedule,
    pass,
    tip: (feedId) => states.get(feedId)?.tip,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}
