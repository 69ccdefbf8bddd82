import { int } from '@twinledger/config';
import { LedgerEvents, type Permission } from '@twinledger/ledger';
import type { CallerIdentity } from './registry.js';

/** Default lifetime of a cached decision (AUTH_DECISION_TTL_MS). */
export const DEFAULT_AUTH_DECISION_TTL_MS = 30_000;

/** AUTH_DECISION_TTL_MS, validated at boot like every other variable (0 disables the cache). */
export const accessDecisionsEnv = {
  AUTH_DECISION_TTL_MS: int({ default: DEFAULT_AUTH_DECISION_TTL_MS, min: 0, max: 300_000 }),
};

/** The ledger events after which no decision on their twin may be reused: its grants changed. */
const GRANT_EVENTS = new Set<string>([LedgerEvents.GrantAdded, LedgerEvents.GrantRevoked, LedgerEvents.TwinCreated]);
/** Events that name no twin and change no grant. */
const CHANNEL_EVENTS = new Set<string>([LedgerEvents.PartyRegistered, LedgerEvents.DeviceNamespaceChanged, LedgerEvents.DiagPut]);

export interface AccessDecisionsInit {
  /** The chaincode's decision (`acl:checkAccess` evaluated as the caller). A throw is no decision: never cached. */
  readonly check: (caller: CallerIdentity, twinId: string, permission: Permission) => Promise<boolean>;
  /**
   * The expiry dates (ISO 8601) of the twin's grants. An allowing decision is kept no longer
   * than the earliest one still ahead, so an expiring grant is not honoured past its expiry by
   * the cache. Absent, or throwing: allowing decisions are not cached at all (only denials).
   */
  readonly grantExpiries?: (twinId: string) => Promise<readonly (string | undefined)[]>;
  /** Lifetime of a decision without any event about its twin; 0 disables the cache. */
  readonly ttlMs: number;
  /** Decisions kept at most (least recently stored first out); default 50,000. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export interface AccessDecisions {
  /** Whether the ledger grants `permission` on the twin to the caller (cached, see createAccessDecisions). */
  allows(caller: CallerIdentity, twinId: string, permission: Permission): Promise<boolean>;
  /** Forgets every decision on the twin (its grants changed); decisions under way are not stored. */
  invalidate(twinId: string): void;
  /** Forgets everything (an event the cache cannot read). */
  clear(): void;
  /** Feeds one ledger event: grant changes and twin creation invalidate their twin. */
  onLedgerEvent(event: { readonly eventName: string; readonly twinId?: string | undefined }): void;
  readonly size: number;
}

interface Decision {
  readonly allowed: Promise<boolean>;
  expires: number;
}

/**
 * The chaincode's access decisions, cached per (identity, twin, permission): a request of a
 * caller already decided costs no peer round trip. A decision is forgotten after `ttlMs`, at
 * once on a grant event of its twin (fed through onLedgerEvent by the service's ledger event
 * follower), and, when it allows, no later than the earliest grant expiry on the twin, so the
 * revocation bound is the event lag while events flow and `ttlMs` otherwise. Denials are cached
 * with the same bounds, so a refused client cannot load the peer; failures (peer down, unknown
 * twin) are not decisions and are never cached. Concurrent requests share one evaluation.
 */
export function createAccessDecisions(init: AccessDecisionsInit): AccessDecisions {
  const now = init.now ?? Date.now;
  const max = init.maxEntries ?? 50_000;
  const decisions = new Map<string, Decision>();
  /** Per twin: the keys of its decisions, and a generation bumped by every invalidation. */
  const byTwin = new Map<string, Set<string>>();
  const generation = new Map<string, number>();
  const expiries = new Map<string, { at: Promise<number>; gen: number }>();

  const drop = (key: string, twinId: string): void => {
    decisions.delete(key);
    const keys = byTwin.get(twinId);
    keys?.delete(key);
    if (keys?.size === 0) byTwin.delete(twinId);
  };

  /** The earliest grant expiry still ahead on the twin (Infinity: none); rejects when unknown. */
  const earliestExpiry = (twinId: string): Promise<number> => {
    const gen = generation.get(twinId) ?? 0;
    const known = expiries.get(twinId);
    if (known && known.gen === gen) return known.at;
    const at = (async () => {
      if (!init.grantExpiries) throw new Error('no grant expiries');
      const t = now();
      let earliest = Infinity;
      for (const e of await init.grantExpiries(twinId)) {
        const ms = e === undefined ? NaN : Date.parse(e);
        if (ms > t && ms < earliest) earliest = ms;
      }
      return earliest;
    })();
    expiries.set(twinId, { at, gen });
    at.catch(() => {
      if (expiries.get(twinId)?.at === at) expiries.delete(twinId);
    });
    return at;
  };

  const invalidate = (twinId: string): void => {
    generation.set(twinId, (generation.get(twinId) ?? 0) + 1);
    expiries.delete(twinId);
    for (const key of byTwin.get(twinId) ?? []) decisions.delete(key);
    byTwin.delete(twinId);
  };

  const clear = (): void => {
    for (const twinId of [...byTwin.keys(), ...expiries.keys()]) invalidate(twinId);
  };

  return {
    allows(caller, twinId, permission) {
      if (init.ttlMs <= 0) return init.check(caller, twinId, permission);
      const key = JSON.stringify([caller.mspId, caller.fabricIdentity ?? '', twinId, permission]);
      const hit = decisions.get(key);
      if (hit && hit.expires > now()) return hit.allowed;
      if (hit) drop(key, twinId);
      const gen = generation.get(twinId) ?? 0;
      const entry: Decision = { allowed: init.check(caller, twinId, permission), expires: now() + init.ttlMs };
      if (decisions.size >= max) {
        const oldest = decisions.keys().next().value!;
        drop(oldest, (JSON.parse(oldest) as string[])[2]!);
      }
      decisions.set(key, entry);
      let keys = byTwin.get(twinId);
      if (!keys) byTwin.set(twinId, (keys = new Set()));
      keys.add(key);
      const forget = (): void => {
        if (decisions.get(key) === entry) drop(key, twinId);
      };
      void entry.allowed.then(
        async (allowed) => {
          // Invalidated while the chaincode was deciding: the answer serves this request only.
          if ((generation.get(twinId) ?? 0) !== gen) return forget();
          if (!allowed) return;
          try {
            const until = await earliestExpiry(twinId);
            if ((generation.get(twinId) ?? 0) !== gen) return forget();
            entry.expires = Math.min(entry.expires, until);
          } catch {
            // Expiries unknown: an allowing decision might outlive its grant, so it is not kept.
            forget();
          }
        },
        forget,
      );
      return entry.allowed;
    },
    invalidate,
    clear,
    onLedgerEvent(event) {
      if (GRANT_EVENTS.has(event.eventName) && event.twinId !== undefined) invalidate(event.twinId);
      else if (!CHANNEL_EVENTS.has(event.eventName) && event.twinId === undefined) clear();
    },
    get size() {
      return decisions.size;
    },
  };
}
