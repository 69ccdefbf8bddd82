import { TRANSIENT_WRITE_RETRY, withWriteRetry } from '@twinledger/fabric-client';
import { ChaincodeRejectedError } from '@twinledger/ledger';
import type { TwinLedger } from '@twinledger/ledger';
import type { Logger } from '@twinledger/observability';
import { attributeMismatches, identityChange, parseTwinAml, sensorFragment, twinSensors, type TwinElement } from './aml.js';
import type { DeviceAdapter, DeviceComponent } from './device.js';
import type { FeedRegistrar } from './feed-registrar.js';
import type { AgentMetrics } from './metrics.js';

export type DriftType = 'MISSING_ON_DEVICE' | 'MISSING_IN_TWIN' | 'ATTRIBUTE_MISMATCH' | 'FEED_MISSING' | 'FEED_MISMATCH' | 'PARENT_MISSING' | 'EXCHANGED' | 'UNREACHABLE';

export interface DriftItem {
  readonly type: DriftType;
  readonly componentId: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface DriftReport {
  readonly twinId: string;
  readonly at: string;
  readonly deviceSensors: readonly string[];
  readonly twinSensors: readonly string[];
  readonly items: readonly DriftItem[];
}

export interface SyncAction {
  readonly action: 'removeAML' | 'insertAML' | 'addSensorFeed';
  readonly componentId: string;
  /** Absent when the ledger already had the change (a resumed sync). */
  readonly txId?: string;
  readonly feedRef?: string;
  readonly parentId?: string;
  readonly afterId?: string;
  /** Set when the step is part of a same-tag exchange (the part's identity changed). */
  readonly exchange?: { readonly attribute: string; readonly old: string; readonly new: string };
}

export interface SyncReport {
  readonly twinId: string;
  readonly reason: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly actions: readonly SyncAction[];
  /** What still differs after the sync (attribute mismatches are reported, not rewritten). */
  readonly drift: DriftReport | undefined;
  readonly error?: { readonly code: string; readonly message: string };
}

/** The feeds of the device's sensors as the ledger records them: componentId -> feedRef. */
export type FeedMap = ReadonlyMap<string, { readonly feedRef: string; readonly unit: string }>;

export interface SyncEngineInit {
  readonly twinId: string;
  readonly ledger: TwinLedger;
  readonly adapter: DeviceAdapter;
  readonly feeds: FeedRegistrar;
  readonly logger: Logger;
  readonly metrics?: AgentMetrics;
  /** Attempts per feed registration within one run (feed-ingest outage); default 3. */
  readonly feedAttempts?: number;
  /** Base pause between those attempts, ms (grows linearly); default 500. */
  readonly feedRetryMs?: number;
  /** Called after each successful sync with the sensors' feeds. */
  readonly onFeeds?: (feeds: FeedMap, sensors: readonly DeviceComponent[]) => void | Promise<void>;
}

export interface SyncEngine {
  /** Runs a sync; concurrent requests share the running one and queue at most one more. */
  sync(reason: string): Promise<SyncReport>;
  /** Twin versus device, without changing anything. */
  drift(): Promise<DriftReport>;
  readonly lastReport: SyncReport | undefined;
  readonly running: boolean;
}

interface Snapshot {
  readonly device: DeviceComponent[];
  /** Parts the device lists but cannot read (kept in the twin, reported UNREACHABLE). */
  readonly unreachable: ReadonlySet<string>;
  readonly twin: Map<string, TwinElement>;
  readonly feeds: Map<string, string>;
}

function rejectedWith(err: unknown, ...codes: string[]): boolean {
  return err instanceof ChaincodeRejectedError && codes.includes(err.code);
}

/**
 * Discovery and specification sync (paper 4.4): the device's sensors are the truth about which
 * parts are installed. A sensor the twin lists but the device no longer has is removed
 * (removeAML, which also drops its feed); a sensor the device has but the twin lacks is inserted
 * (insertAML, AML from the device's metadata) where its predecessor was; every device sensor
 * gets a feed (addSensorFeed). Each step is decided from the ledger's current state, so a sync
 * interrupted anywhere is completed by the next one and never applied twice.
 */
export function createSyncEngine(init: SyncEngineInit): SyncEngine {
  const log = init.logger.child({ component: 'sync', twinId: init.twinId });
  let lastReport: SyncReport | undefined;
  let running: Promise<SyncReport> | undefined;
  let queued: Promise<SyncReport> | undefined;

  async function snapshot(): Promise<Snapshot> {
    const [device, spec, feeds] = await Promise.all([
      init.adapter.inventory(),
      init.ledger.getSpecification(init.twinId),
      init.ledger.listSensorFeeds(init.twinId),
    ]);
    return {
      device: device.filter((c) => c.kind === 'sensor' && c.reachable !== false),
      unreachable: new Set(device.filter((c) => c.reachable === false).map((c) => c.componentId)),
      twin: new Map(twinSensors(parseTwinAml(spec.aml)).map((e) => [e.id, e])),
      feeds: new Map(feeds.map((f) => [f.componentId, f.feedRef])),
    };
  }

  function driftOf(s: Snapshot, allElements?: ReadonlySet<string>): DriftReport {
    const items: DriftItem[] = [];
    const deviceIds = new Set(s.device.map((c) => c.componentId));
    for (const el of s.twin.values()) {
      if (s.unreachable.has(el.id)) items.push({ type: 'UNREACHABLE', componentId: el.id });
      else if (!deviceIds.has(el.id)) items.push({ type: 'MISSING_ON_DEVICE', componentId: el.id });
    }
    for (const c of s.device) {
      const el = s.twin.get(c.componentId);
      if (!el) {
        items.push(allElements && !allElements.has(c.parentId) ? { type: 'PARENT_MISSING', componentId: c.componentId, details: { parentId: c.parentId } } : { type: 'MISSING_IN_TWIN', componentId: c.componentId });
        continue;
      }
      const exchanged = identityChange(el, c);
      if (exchanged) items.push({ type: 'EXCHANGED', componentId: c.componentId, details: exchanged });
      const diffs = attributeMismatches(el, c);
      if (diffs.length > 0) items.push({ type: 'ATTRIBUTE_MISMATCH', componentId: c.componentId, details: { differences: diffs } });
      if (!s.feeds.has(c.componentId)) items.push({ type: 'FEED_MISSING', componentId: c.componentId });
      const m = mismatched.get(c.componentId);
      if (m && s.feeds.get(c.componentId) === m.recorded) items.push({ type: 'FEED_MISMATCH', componentId: c.componentId, details: m });
    }
    return { twinId: init.twinId, at: new Date().toISOString(), deviceSensors: [...deviceIds].sort(), twinSensors: [...s.twin.keys()].sort(), items };
  }

  /** Feeds whose on-chain reference differs from the registrar's (reported as drift). */
  const mismatched = new Map<string, { recorded: string; registered: string }>();

  /** A feed-ingest outage is retried a few times within the run; then the run fails and the next one resumes. */
  async function registerFeed(c: DeviceComponent): Promise<string> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await init.feeds.ensureFeed(init.twinId, c);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'FEED_REGISTRATION_FAILED' || attempt >= (init.feedAttempts ?? 3)) throw err;
        log.warn({ err, componentId: c.componentId, attempt }, 'feed registration failed; retrying');
        await new Promise((r) => setTimeout(r, (init.feedRetryMs ?? 500) * attempt));
      }
    }
  }

  /** Appends to `actions` as each step commits, so a failed run still reports what it did. */
  async function apply(actions: SyncAction[]): Promise<void> {
    mismatched.clear();
    const spec = await init.ledger.getSpecification(init.twinId);
    const model = parseTwinAml(spec.aml);
    const [deviceAll, feedList] = await Promise.all([init.adapter.inventory(), init.ledger.listSensorFeeds(init.twinId)]);
    const device = deviceAll.filter((c) => c.kind === 'sensor' && c.reachable !== false);
    // A part the device lists but cannot read is not known to be gone: never removed for that.
    const unreachable = new Set(deviceAll.filter((c) => c.reachable === false).map((c) => c.componentId));
    for (const id of unreachable) log.warn({ componentId: id }, 'device lists the part but its reads fail: reported unreachable, twin unchanged');
    const deviceIds = new Set([...device.map((c) => c.componentId), ...unreachable]);
    const twin = new Map(twinSensors(model).map((e) => [e.id, e]));
    const feeds = new Map(feedList.map((f) => [f.componentId, f.feedRef]));
    const elements = model.elements;

    // Same tag, other physical part (serial number / instance ID changed): remove the old element
    // and insert the new one in its place, as for a part with a new tag.
    const exchanges = device.flatMap((c) => {
      const el = twin.get(c.componentId);
      const change = el ? identityChange(el, c) : undefined;
      if (!el || !change) return [];
      const siblings = elements.get(el.parentId)?.childIds ?? [];
      const idx = siblings.indexOf(el.id);
      return [{ c, el, change, afterId: idx > 0 ? siblings[idx - 1]! : '' }];
    });
    for (const x of exchanges) {
      const exchange = { attribute: x.change.attribute, old: x.change.twin, new: x.change.device };
      log.info({ componentId: x.c.componentId, ...exchange }, 'same-tag part exchanged on the device: replacing its element');
      try {
        const r = await withWriteRetry(() => init.ledger.removeAML(init.twinId, x.el.id), TRANSIENT_WRITE_RETRY);
        actions.push({ action: 'removeAML', componentId: x.el.id, txId: r.transactionId, exchange });
      } catch (err) {
        if (!rejectedWith(err, 'NOT_FOUND')) throw err;
        actions.push({ action: 'removeAML', componentId: x.el.id, exchange });
      }
      feeds.delete(x.el.id);
      let afterId = x.afterId;
      for (let attempt = 0; ; attempt += 1) {
        try {
          const r = await withWriteRetry(() => init.ledger.insertAML(init.twinId, sensorFragment(x.c), x.el.parentId, afterId), TRANSIENT_WRITE_RETRY);
          actions.push({ action: 'insertAML', componentId: x.c.componentId, txId: r.transactionId, parentId: x.el.parentId, afterId, exchange });
          break;
        } catch (err) {
          if (rejectedWith(err, 'DUPLICATE_ID')) {
            actions.push({ action: 'insertAML', componentId: x.c.componentId, parentId: x.el.parentId, exchange });
            break;
          }
          if (rejectedWith(err, 'NOT_FOUND', 'VALIDATION_FAILED') && afterId !== '' && attempt === 0) {
            afterId = '';
            continue;
          }
          throw err;
        }
      }
    }

    // A newcomer takes the place of the part it replaces: same parent, same measured quantity.
    const placeAfter = new Map<string, string>();
    const newcomers = device.filter((c) => !elements.has(c.componentId));
    const gone = [...twin.values()].filter((el) => !deviceIds.has(el.id));
    for (const old of gone) {
      const successor = newcomers.find((c) => c.parentId === old.parentId && c.measuredQuantity !== undefined && c.measuredQuantity === old.attributes['MeasuredQuantity'] && !placeAfter.has(c.componentId));
      if (successor) {
        const siblings = elements.get(old.parentId)?.childIds ?? [];
        const idx = siblings.indexOf(old.id);
        const prev = siblings.slice(0, Math.max(idx, 0)).reverse().find((id) => deviceIds.has(id) || !twin.has(id));
        placeAfter.set(successor.componentId, prev ?? '');
      }
    }

    for (const old of gone) {
      try {
        const r = await withWriteRetry(() => init.ledger.removeAML(init.twinId, old.id), TRANSIENT_WRITE_RETRY);
        actions.push({ action: 'removeAML', componentId: old.id, txId: r.transactionId });
        feeds.delete(old.id);
        log.info({ componentId: old.id, txId: r.transactionId, feedsRemoved: r.result.feedsRemoved }, 'sensor gone from the device: removed from the twin');
      } catch (err) {
        if (!rejectedWith(err, 'NOT_FOUND')) throw err;
        actions.push({ action: 'removeAML', componentId: old.id });
      }
    }

    for (const c of newcomers) {
      if (!elements.has(c.parentId)) {
        log.warn({ componentId: c.componentId, parentId: c.parentId }, 'device sensor sits in a part the twin does not know; not inserted');
        continue;
      }
      const removed = new Set(gone.map((g) => g.id));
      const fallback = [...(elements.get(c.parentId)?.childIds ?? [])].reverse().find((id) => !removed.has(id) && twin.has(id)) ?? '';
      let afterId = placeAfter.get(c.componentId) ?? fallback;
      const fragment = sensorFragment(c);
      for (let attempt = 0; ; attempt += 1) {
        try {
          const r = await withWriteRetry(() => init.ledger.insertAML(init.twinId, fragment, c.parentId, afterId), TRANSIENT_WRITE_RETRY);
          actions.push({ action: 'insertAML', componentId: c.componentId, txId: r.transactionId, parentId: c.parentId, afterId });
          log.info({ componentId: c.componentId, parentId: c.parentId, afterId, txId: r.transactionId }, 'new sensor on the device: inserted into the twin');
          break;
        } catch (err) {
          if (rejectedWith(err, 'DUPLICATE_ID')) {
            actions.push({ action: 'insertAML', componentId: c.componentId, parentId: c.parentId });
            break;
          }
          // The neighbour we placed it after was removed meanwhile: put it first instead.
          if (rejectedWith(err, 'NOT_FOUND', 'VALIDATION_FAILED') && afterId !== '' && attempt === 0) {
            afterId = '';
            continue;
          }
          throw err;
        }
      }
    }

    for (const c of device) {
      if (!elements.has(c.parentId)) continue;

      // Every run makes sure the feed exists where the readings go (feed-ingest), not only on
      // chain: a registration lost by feed-ingest, or one that failed after addSensorFeed, is
      // redone here. The registrar is idempotent and remembers confirmed feeds.
      const feedRef = await registerFeed(c);
      const recorded = feeds.get(c.componentId);
      if (recorded !== undefined) {
        if (recorded !== feedRef) {
          mismatched.set(c.componentId, { recorded, registered: feedRef });
          log.warn({ componentId: c.componentId, recorded, registered: feedRef }, 'the ledger names another feed than the registrar gives; readings follow the ledger');
        }
        continue;
      }
      try {
        const r = await withWriteRetry(() => init.ledger.addSensorFeed(init.twinId, c.componentId, feedRef), TRANSIENT_WRITE_RETRY);
        actions.push({ action: 'addSensorFeed', componentId: c.componentId, feedRef, txId: r.transactionId });
        log.info({ componentId: c.componentId, feedRef, txId: r.transactionId }, 'sensor feed registered');
      } catch (err) {
        if (!rejectedWith(err, 'ALREADY_EXISTS')) throw err;
        actions.push({ action: 'addSensorFeed', componentId: c.componentId, feedRef });
      }
    }
  }

  async function runOnce(reason: string): Promise<SyncReport> {
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    const actions: SyncAction[] = [];
    try {
      await apply(actions);
      const after = await snapshot();
      const spec = await init.ledger.getSpecification(init.twinId);
      const drift = driftOf(after, new Set(parseTwinAml(spec.aml).elements.keys()));
      const feeds = new Map<string, { feedRef: string; unit: string }>();
      for (const c of after.device) {
        const feedRef = after.feeds.get(c.componentId);
        if (feedRef !== undefined) feeds.set(c.componentId, { feedRef, unit: c.unit ?? '' });
      }
      await init.onFeeds?.(feeds, after.device);
      const report: SyncReport = { twinId: init.twinId, reason, startedAt, durationMs: Date.now() - started, ok: true, actions, drift };
      init.metrics?.syncDuration.observe({ outcome: 'ok' }, report.durationMs / 1000);
      init.metrics?.driftItems.set(drift.items.length);
      return report;
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      const code = typeof e.code === 'string' ? e.code : 'INTERNAL';
      log.warn({ err, reason }, 'sync failed; the next one resumes it');
      init.metrics?.syncDuration.observe({ outcome: 'failed' }, (Date.now() - started) / 1000);
      return { twinId: init.twinId, reason, startedAt, durationMs: Date.now() - started, ok: false, actions, drift: undefined, error: { code, message: String(e.message ?? err) } };
    }
  }

  function sync(reason: string): Promise<SyncReport> {
    if (!running) {
      running = runOnce(reason).then((r) => {
        lastReport = r;
        running = undefined;
        return r;
      });
      return running;
    }
    // A change seen while a sync runs may not be in it: run once more afterwards.
    queued ??= running.then(() => {
      queued = undefined;
      return sync(reason);
    });
    return queued;
  }

  return {
    sync,
    async drift() {
      const s = await snapshot();
      const spec = await init.ledger.getSpecification(init.twinId);
      const report = driftOf(s, new Set(parseTwinAml(spec.aml).elements.keys()));
      init.metrics?.driftItems.set(report.items.length);
      return report;
    },
    get lastReport() {
      return lastReport;
    },
    get running() {
      return running !== undefined;
    },
  };
}
