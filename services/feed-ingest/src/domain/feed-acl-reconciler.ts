import type { DhtNode } from '@twinledger/dht';
import type { Logger } from '@twinledger/observability';
import type { FeedAccess } from './feed-access.js';
import type { FeedRecord, FeedRegistry } from './feed-registry.js';

export interface FeedAclReconcilerInit {
  /** Pause between passes; a revoke or expiry reaches the feed's key within about one pass plus its run. */
  readonly intervalMs: number;
}

export interface FeedAclReconciler {
  /** One pass now (awaited), then every `intervalMs`. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One pass over every feed this instance writes; resolves when done. Passes never overlap. */
  reconcile(): Promise<void>;
  /** Brings one feed in line (after registration, or on demand). */
  reconcileFeed(feedId: string): Promise<void>;
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().every((p, i) => p === [...b].sort()[i]);

/**
 * Keeps each registered feed's DHT ACL equal to its ledger-derived party set. The DHT wraps
 * every segment's key for the ACL's parties at append time and its storing nodes serve segments
 * only to current parties, so a new ACL version means: a removed organization never gets the
 * key of any segment written afterwards (and is refused every segment by the storing nodes), a
 * newly granted one can read from the change on (earlier segments' keys were never wrapped for
 * it). Expiries emit no ledger event, which is why this is a periodic pass and not an event
 * listener; it also catches whatever changed while the service was down (the pass at start).
 */
export function createFeedAclReconciler(
  init: FeedAclReconcilerInit,
  c: { registry: FeedRegistry; access: FeedAccess; dht: DhtNode; ownerKey: Uint8Array; logger: Logger },
): FeedAclReconciler {
  const log = c.logger.child({ component: 'feed-acl-reconciler' });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const perFeed = new Map<string, Promise<void>>();

  async function syncFeed(feed: FeedRecord, readersByTwin: Map<string, Promise<string[]>>): Promise<void> {
    let readers = readersByTwin.get(feed.twinId);
    if (!readers) readersByTwin.set(feed.twinId, (readers = c.access.readers(feed.twinId)));
    const limit = feed.aclLimit;
    const wanted = (await readers).filter((p) => limit === undefined || limit.includes(p));
    // The DHT's record, not our copy, is what segments are wrapped for (our copy may lag a crash).
    const current = (await c.dht.getObjectAcl(feed.objectId)).parties;
    if (!sameSet(current, wanted)) {
      const { version } = await c.dht.updateFeedAcl({ topic: feed.topic, ownerKey: c.ownerKey, objectId: feed.objectId }, wanted);
      log.info({ feedId: feed.feedId, twinId: feed.twinId, from: current, to: wanted, version }, 'feed ACL follows the ledger');
    }
    if (!sameSet(feed.acl, wanted)) await c.registry.setAcl(feed.feedId, wanted);
  }

  /** Serializes work per feed: two concurrent ACL writes of one object would race for its version. */
  function queueFeed(feed: FeedRecord, readersByTwin: Map<string, Promise<string[]>>): Promise<void> {
    const before = perFeed.get(feed.feedId) ?? Promise.resolve();
    const next = before.catch(() => undefined).then(() => syncFeed(c.registry.get(feed.feedId) ?? feed, readersByTwin));
    perFeed.set(feed.feedId, next);
    void next.finally(() => {
      if (perFeed.get(feed.feedId) === next) perFeed.delete(feed.feedId);
    }).catch(() => undefined);
    return next;
  }

  async function pass(): Promise<void> {
    const readersByTwin = new Map<string, Promise<string[]>>();
    await Promise.all(
      c.registry.list().map((f) =>
        queueFeed(f, readersByTwin).catch((err: unknown) => log.warn({ err, feedId: f.feedId, twinId: f.twinId }, 'feed ACL reconcile failed; next pass retries')),
      ),
    );
  }

  function reconcile(): Promise<void> {
    running = running.then(pass);
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => void reconcile().finally(schedule), init.intervalMs);
    timer.unref();
  }

  return {
    reconcile,
    reconcileFeed: (feedId) => queueFeed(c.registry.require(feedId), new Map()),
    async start() {
      await reconcile();
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}
