import type { Logger } from '@twinledger/observability';
import type { KeyManager, KeySyncResult } from './key-manager.js';

export interface KeyReconcilerInit {
  readonly keys: KeyManager;
  /** Pause between two full reconciles of every twin (the bound for anything missed). */
  readonly intervalMs: number;
  /** Delay after a grant's expiry before its twin is synced (clock skew with the peers). */
  readonly expiryMarginMs?: number;
  readonly logger: Logger;
}

export interface KeyReconciler {
  /** Runs a full reconcile now, then every `intervalMs`. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Syncs the twin after every sync already running for it; requests arriving meanwhile share one run. */
  request(twinId: string): Promise<KeySyncResult>;
  /** Syncs every twin the service identity can see; resolves when all are done. */
  reconcileAll(): Promise<void>;
}

/**
 * Drives the key manager: on demand (grant events, the sync route), for every twin at start
 * and periodically (covers changes missed while the service was down and expiries, which
 * emit no event), and at each known grant expiry (so an expired reader loses access within
 * `expiryMarginMs` plus one sync while the service runs). Syncs of one twin never overlap:
 * two concurrent ACL updates of the same DHT object would race for the ACL version.
 */
export function createKeyReconciler(init: KeyReconcilerInit): KeyReconciler {
  const log = init.logger.child({ component: 'key-reconciler' });
  const margin = init.expiryMarginMs ?? 1000;
  const running = new Map<string, Promise<KeySyncResult>>();
  const queued = new Map<string, Promise<KeySyncResult>>();
  const expiryTimers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  let periodic: NodeJS.Timeout | undefined;
  let full: Promise<void> | undefined;
  let stopped = false;

  function scheduleExpiry(r: KeySyncResult): void {
    if (stopped || r.nextExpiry === undefined) return;
    const at = r.nextExpiry + margin;
    const prev = expiryTimers.get(r.twinId);
    if (prev && prev.at <= at) return;
    if (prev) clearTimeout(prev.timer);
    // Beyond the next full reconcile the periodic run catches it; setTimeout caps at ~24.8 days.
    const delay = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      expiryTimers.delete(r.twinId);
      void request(r.twinId).catch((err: unknown) => log.warn({ err, twinId: r.twinId }, 'key sync at grant expiry failed'));
    }, delay);
    timer.unref();
    expiryTimers.set(r.twinId, { at, timer });
  }

  async function runOnce(twinId: string): Promise<KeySyncResult> {
    const r = await init.keys.sync(twinId);
    if (r.updated || r.recorded || r.failures.length) log.info({ ...r }, 'key sync');
    scheduleExpiry(r);
    return r;
  }

  function request(twinId: string): Promise<KeySyncResult> {
    const q = queued.get(twinId);
    if (q) return q;
    const before = running.get(twinId) ?? Promise.resolve(undefined);
    const next = before
      .catch(() => undefined)
      .then(() => {
        queued.delete(twinId);
        const p = runOnce(twinId);
        running.set(twinId, p);
        return p.finally(() => {
          if (running.get(twinId) === p) running.delete(twinId);
        });
      });
    queued.set(twinId, next);
    return next;
  }

  async function reconcileAll(): Promise<void> {
    full ??= (async () => {
      try {
        const twins = await init.keys.twins();
        let failed = 0;
        for (const t of twins) {
          if (stopped) return;
          try {
            if ((await request(t)).failures.length) failed++;
          } catch (err) {
            failed++;
            log.warn({ err, twinId: t }, 'key reconcile of a twin failed');
          }
        }
        log.debug({ twins: twins.length, failed }, 'key reconcile done');
      } finally {
        full = undefined;
      }
    })();
    return full;
  }

  function loop(): void {
    if (stopped) return;
    periodic = setTimeout(() => {
      void reconcileAll()
        .catch((err: unknown) => log.warn({ err }, 'periodic key reconcile failed'))
        .finally(loop);
    }, init.intervalMs);
  }

  return {
    async start() {
      stopped = false;
      // The first run is not awaited: the service serves requests while it catches up.
      void reconcileAll()
        .catch((err: unknown) => log.warn({ err }, 'start-up key reconcile failed'))
        .finally(loop);
    },
    async stop() {
      stopped = true;
      if (periodic) clearTimeout(periodic);
      for (const { timer } of expiryTimers.values()) clearTimeout(timer);
      expiryTimers.clear();
      await full?.catch(() => undefined);
      await Promise.allSettled([...running.values()]);
    },
    request,
    reconcileAll,
  };
}
