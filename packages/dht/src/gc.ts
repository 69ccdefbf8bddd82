import type { Logger } from '@twinledger/observability';
import type { HeldBlob, LocalStore } from './local-store.js';
import { decodeManifest } from './manifest.js';
import type { DhtMetrics } from './metrics.js';
import { createPeriodicPass, type PeriodicPass } from './periodic-pass.js';

/**
 * Removes orphan chunks: ciphertext a failed or aborted upload stored without ever writing
 * the manifest that lists it. A chunk is collected when (1) no manifest this node holds for
 * the same object lists it and (2) nothing of that object was stored or re-sent here for
 * `graceMs`. Why this is safe for completed objects: a put writes the manifest to the same r
 * nodes as its chunks (one object's items share a placement), a replica that missed the
 * manifest gets it from the next repair pass (every `repairIntervalMs`, default 60 s), and
 * every manifest version (re-keys, grants) stays held, so a referenced chunk has its
 * manifest here long before a grace period of hours ends. Condition (2) is per object so an
 * upload still in progress (or a re-key writing new chunks under the same object) is never
 * cut short. Chunks stored before times were kept carry none and are never collected.
 * The same pass removes stray chunk files older than the grace period: files no index entry
 * names, which a crash between a file's rename and its index batch leaves behind.
 */
export interface GcReport {
  readonly objectsScanned: number;
  readonly chunksRemoved: number;
  /** Chunk files without an index entry (see above); their bytes count in bytesRemoved. */
  readonly strayFilesRemoved: number;
  readonly bytesRemoved: number;
  readonly durationMs: number;
}

export interface GarbageCollectorInit {
  /** Age (since the object's last stored chunk) before its unreferenced chunks go, ms. */
  readonly graceMs: number;
  /** Interval between passes; 0 disables the timer (call runOnce). */
  readonly intervalMs: number;
}

export interface GarbageCollectorComponents {
  readonly store: LocalStore;
  readonly logger: Logger;
  readonly metrics?: DhtMetrics;
}

export type GarbageCollector = PeriodicPass<GcReport>;

export function createGarbageCollector(init: Readonly<GarbageCollectorInit>, components: GarbageCollectorComponents): GarbageCollector {
  const { store, logger, metrics } = components;

  /** Chunk hashes listed by the manifests held for the object; undefined if one cannot be read (then nothing is collected). */
  async function referenced(blobs: readonly HeldBlob[]): Promise<Set<string> | undefined> {
    const out = new Set<string>();
    for (const b of blobs) {
      if (b.kind !== 'manifest') continue;
      const held = await store.getBlob('manifest', b.hash);
      if (held === undefined) continue;
      try {
        for (const c of decodeManifest(held.bytes, b.hash).chunks) out.add(c.hash);
      } catch (err) {
        logger.warn({ err, ref: b.hash }, 'held manifest does not decode; its object is left alone');
        return undefined;
      }
    }
    return out;
  }

  async function pass(): Promise<GcReport> {
    const t0 = Date.now();
    const cutoff = t0 - init.graceMs;
    let objectsScanned = 0;
    let chunksRemoved = 0;
    let bytesRemoved = 0;
    for await (const obj of store.objects()) {
      objectsScanned++;
      // Anything of the object stored within the grace period (or of unknown age) keeps all of it for now.
      if (obj.blobs.some((b) => b.storedAt === undefined || b.storedAt > cutoff)) continue;
      const refs = await referenced(obj.blobs);
      if (refs === undefined) continue;
      const orphans = obj.blobs.filter((b) => b.kind === 'chunk' && !refs.has(b.hash));
      if (orphans.length === 0) continue;
      const removed = await store.deleteBlobs(obj.objectId, orphans);
      const bytes = removed.reduce((a, r) => a + r.bytes, 0);
      chunksRemoved += removed.length;
      bytesRemoved += bytes;
      metrics?.gcRemovedChunks.inc(removed.length);
      metrics?.gcRemovedBytes.inc(bytes);
      logger.info({ objectId: obj.objectId, chunks: removed.length, bytes }, 'removed orphan chunks');
    }
    const stray = await store.sweepStrayFiles(cutoff);
    if (stray.files > 0) {
      bytesRemoved += stray.bytes;
      metrics?.gcRemovedBytes.inc(stray.bytes);
      logger.info({ files: stray.files, bytes: stray.bytes }, 'removed stray chunk files');
    }
    const report: GcReport = { objectsScanned, chunksRemoved, strayFilesRemoved: stray.files, bytesRemoved, durationMs: Date.now() - t0 };
    metrics?.gcRuns.inc();
    return report;
  }

  return createPeriodicPass({ intervalMs: init.intervalMs, name: 'garbage collection' }, logger, pass);
}
