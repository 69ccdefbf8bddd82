import { describe, expect, it, jest } from '@jest/globals';
import { silentLogger } from '@twinledger/observability';
import type { KeyManager, KeySyncResult } from '../src/domain/key-manager.js';
import { createKeyReconciler } from '../src/domain/key-reconciler.js';

const result = (twinId: string, extra: Partial<KeySyncResult> = {}): KeySyncResult => ({ twinId, checked: 0, updated: 0, rekeyed: 0, recorded: 0, failures: [], ...extra });

describe('key reconciler', () => {
  it('reconciles every twin at start and periodically, and syncs a twin again at its next grant expiry', async () => {
    const synced: string[] = [];
    let expiry: number | undefined = Date.now() + 300;
    const keys: KeyManager = {
      twins: async () => ['t1', 't2'],
      sync: async (t) => {
        synced.push(t);
        const r = result(t, t === 't1' && expiry !== undefined ? { nextExpiry: expiry } : {});
        expiry = undefined;
        return r;
      },
    };
    const rec = createKeyReconciler({ keys, intervalMs: 1000, expiryMarginMs: 50, logger: silentLogger() });
    await rec.start();
    await new Promise((r) => setTimeout(r, 600));
    // Start-up reconcile of both twins, then t1 again at its expiry (+ margin), long before the period.
    expect(synced).toEqual(['t1', 't2', 't1']);
    await new Promise((r) => setTimeout(r, 1000));
    expect(synced.slice(3)).toEqual(['t1', 't2']);
    await rec.stop();
  });

  it('never overlaps syncs of one twin and coalesces requests that arrive meanwhile', async () => {
    let active = 0;
    let maxActive = 0;
    const sync = jest.fn(async (t: string) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 50));
      active--;
      return result(t);
    });
    const rec = createKeyReconciler({ keys: { twins: async () => [], sync }, intervalMs: 60_000, logger: silentLogger() });
    const first = rec.request('t');
    await new Promise((r) => setTimeout(r, 10)); // the first run has started
    await Promise.all([first, rec.request('t'), rec.request('t'), rec.request('t')]);
    expect(maxActive).toBe(1);
    // One running + one queued run that the later three share.
    expect(sync).toHaveBeenCalledTimes(2);
    await rec.stop();
  });
});
