import type { Logger } from '@twinledger/observability';
import type { AclRecord } from './acl-record.js';
import type { Hex } from './codec.js';
import type { LocalStore } from './local-store.js';
import { decodeManifest } from './manifest.js';
import type { DhtMetrics } from './metrics.js';
import type { ReplicaClient } from './replica-client.js';
import { MAX_HAVE_ITEMS, type HaveItem } from './store-protocol.js';
import { createPeriodicPass, type PeriodicPass } from './periodic-pass.js';

/**
 * Restores r copies. Every node, for everything it holds, asks the first r live replicas of
 * the item's placement key which items they lack (`have`) and pushes those. Push-based on
 * purpose: a storing node may hold ciphertext for an object whose ACL excludes its own party,
 * so it could not fetch it; pushing needs no read permission and the receiver re-verifies
 * every hash and signature. Holders outside the current placement keep their copies.
 */
export interface RepairReport {
  /** (item, replica) pairs checked. */
  readonly checked: number;
  /** Of those, pairs where the replica lacked the item. */
  readonly missing: number;
  readonly pushed: number;
  readonly failed: number;
  readonly durationMs: number;
}

export interface RepairerInit {
  readonly selfPeerId: string;
  readonly replicationFactor: number;
  /** Interval between passes; 0 disables the timer (call runOnce). */
  readonly intervalMs: number;
}

export interface RepairerComponents {
  readonly store: LocalStore;
  readonly client: ReplicaClient;
  readonly logger: Logger;
  readonly metrics?: DhtMetrics;
}

export type Repairer = PeriodicPass<RepairReport>;

export function createRepairer(init: Readonly<RepairerInit>, components: RepairerComponents): Repairer {
  const { store, client, logger, metrics } = components;

  async function aclOf(objectId: Hex): Promise<{ acl?: AclRecord }> {
    const acl = await store.getAcl(objectId);
    return acl === undefined ? {} : { acl };
  }

  async function push(peerId: string, item: HaveItem): Promise<void> {
    switch (item.kind) {
      case 'chunk':
      case 'manifest': {
        const blob = await store.getBlob(item.kind, item.id);
        const acl = blob && (await store.getAcl(blob.objectId));
        if (!blob || !acl) return;
        await client.request(peerId, { op: item.kind === 'chunk' ? 'put-chunk' : 'put-manifest', objectId: blob.objectId, hash: item.id, acl }, blob.bytes);
        return;
      }
      case 'acl': {
        const acl = await store.getAcl(item.id);
        if (acl) await client.request(peerId, { op: 'put-acl', acl });
        return;
      }
      // Metadata travels with the ACL of its object, so the receiving replica can enforce it.
      case 'locator': {
        const locator = await store.getLocator(item.id);
        if (locator) await client.request(peerId, { op: 'put-locator', locator, ...(await aclOf(locator.objectId)) });
        return;
      }
      case 'feed-update': {
        const update = await store.getFeedUpdate(item.id);
        if (!update) return;
        const objectId = (await store.getFeedHead(update.feedId))?.objectId ?? (await store.feedObject(update.feedId));
        const acl = objectId === undefined ? {} : await aclOf(objectId);
        // The segment's locator proves the binding; sent only when it matches the ACL sent.
        const locator = acl.acl === undefined ? undefined : await store.getLocator(update.ref);
        await client.request(peerId, { op: 'put-feed-update', address: item.id, update, ...acl, ...(locator?.objectId === objectId ? { locator } : {}) });
        return;
      }
      case 'feed-head': {
        const head = await store.getFeedHead(item.id);
        if (head) await client.request(peerId, { op: 'put-feed-head', head, ...(await aclOf(head.objectId)) });
        return;
      }
    }
  }

  async function pass(): Promise<RepairReport> {
    const t0 = Date.now();
    const totals = { checked: 0, missing: 0, pushed: 0, failed: 0 };

    async function reconcile(key: Hex, items: HaveItem[]): Promise<void> {
      const targets = (await client.candidates(key)).slice(0, init.replicationFactor).map((c) => c.peerId).filter((p) => p !== init.selfPeerId);
      for (const peerId of targets) {
        for (let o = 0; o < items.length; o += MAX_HAVE_ITEMS) {
          const batch = items.slice(o, o + MAX_HAVE_ITEMS);
          totals.checked += batch.length;
          let missing: number[];
          try {
            missing = (await client.request(peerId, { op: 'have', key, items: batch })).header['missing'] as number[];
          } catch (err) {
            logger.debug({ err, peerId }, 'have query failed');
            totals.failed += batch.length;
            continue;
          }
          totals.missing += missing.length;
          for (const i of missing) {
            const item = batch[i];
            if (item === undefined) continue;
            try {
              await push(peerId, item);
              totals.pushed++;
              metrics?.repairPushes.inc({ kind: item.kind });
            } catch (err) {
              totals.failed++;
              logger.warn({ err, peerId, kind: item.kind, id: item.id }, 'repair push failed');
            }
          }
        }
      }
    }

    for await (const obj of store.objects()) {
      const acl = await store.getAcl(obj.objectId);
      if (acl === undefined) continue;
      // Only chunks a manifest held here lists are pushed. An unlisted chunk is an orphan (of an
      // aborted upload) or waits for its manifest, which comes from a node that holds the
      // manifest and, written by the same put, its chunks. Pushing orphans would hand them a
      // fresh stored time on every replica that garbage-collected them, so they never died.
      const listed = new Set<string>();
      for (const b of obj.blobs) {
        if (b.kind !== 'manifest') continue;
        const m = await store.getBlob('manifest', b.hash);
        if (m === undefined) continue;
        try {
          for (const c of decodeManifest(m.bytes, b.hash).chunks) listed.add(c.hash);
        } catch (err) {
          logger.warn({ err, ref: b.hash }, 'held manifest does not decode');
        }
      }
      const blobs = obj.blobs.filter((b) => b.kind === 'manifest' || listed.has(b.hash));
      await reconcile(obj.objectId, [{ kind: 'acl', id: obj.objectId, version: acl.version }, ...blobs.map((b) => ({ kind: b.kind, id: b.hash }))]);
    }
    for await (const loc of store.locators()) await reconcile(loc.ref, [{ kind: 'locator', id: loc.ref }]);
    for await (const { address } of store.feedUpdates()) await reconcile(address, [{ kind: 'feed-update', id: address }]);
    for await (const head of store.feedHeads()) await reconcile(head.feedId, [{ kind: 'feed-head', id: head.feedId, version: head.seq }]);

    const report: RepairReport = { ...totals, durationMs: Date.now() - t0 };
    metrics?.repairRuns.inc();
    metrics?.underReplicated.set(totals.missing);
    metrics?.lastRepairItems.set(totals.checked);
    if (totals.missing > 0) logger.info(report, 'repair pass restored copies');
    return report;
  }

  return createPeriodicPass({ intervalMs: init.intervalMs, name: 'repair' }, logger, pass);
}
