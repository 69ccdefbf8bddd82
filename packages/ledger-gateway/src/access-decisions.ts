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

/**
 * Whose decision it is: an organization and, within it, one identity or none (MSP-wide). The
 * identity is opaque to the cache: a token's `fabric_identity` for the REST gateways deciding
 * for their caller, an `x509::...` ID for acl-service deciding for anyone (`POST /authorize`).
 */
export type DecisionSubject = Pick<CallerIdentity, 'mspId' | 'fabricIdentity'>;

/**
 * `D` is what the chaincode answers (a boolean for the gateways; acl-service keeps the roles and
 * permissions behind the answer too), `S` whom it is about.
 */
export interface AccessDecisionsInit<D = boolean, S extends DecisionSubject = CallerIdentity> {
  /** The chaincode's decision (`acl:checkAccess` evaluated as the caller). A throw is no decision: never cached. */
  readonly check: (subject: S, twinId: string, permission: Permission) => Promise<D>;
  /** Whether a decision allows (allowing ones are kept no longer than the grants behind them); default: `decision === true`. */
  readonly allows?: (decision: D) => boolean;
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

export interface AccessDecisions<D = boolean, S extends DecisionSubject = CallerIdentity> {
  /** Whether the ledger grants `permission` on the twin to the subject (cached, see createAccessDecisions). */
  allows(subject: S, twinId: string, permission: Permission): Promise<boolean>;
  /** The decision itself, from the same cache, and whether it was there already (a hit, or an evaluation under way). */
  decide(subject: S, twinId: string, permission: Permission): { readonly decision: Promise<D>; readonly cached: boolean };
  /** Forgets every decision on the twin (its grants changed); decisions under way are not stored. */
  invalidate(twinId: string): void;
  /** Forgets everything (an event the cache cannot read). */
  clear(): void;
  /** Feeds one ledger event: grant changes and twin creation invalidate their twin. */
  onLedgerEvent(event: { readonly eventName: string; readonly twinId?: string | undefined }): void;
  readonly size: number;
}

interface Decision<D> {
  readonly decision: Promise<D>;
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
export function createAccessDecisions<D = boolean, S extends DecisionSubject = CallerIdentity>(init: AccessDecisionsInit<D, S>): AccessDecisions<D, S> {
  const now = init.now ?? Date.now;
  const max = init.maxEntries ?? 50_000;
  const allowsOf = init.allows ?? ((d: D) => d === true);
  const decisions = new Map<string, Decision<D>>();
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

  const decide = (subject: S, twinId: string, permission: Permission): { decision: Promise<D>; cached: boolean } => {
    if (init.ttlMs <= 0) return { decision: init.check(subject, twinId, permission), cached: false };
    const key = JSON.stringify([subject.mspId, subject.fabricIdentity ?? '', twinId, permission]);
    const hit = decisions.get(key);
    if (hit && hit.expires > now()) return { decision: hit.decision, cached: true };
    if (hit) drop(key, twinId);
    const gen = generation.get(twinId) ?? 0;
    const entry: Decision<D> = { decision: init.check(subject, twinId, permission), expires: now() + init.ttlMs };
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
    void entry.decision.then(
      async (decision) => {
        // Invalidated while the chaincode was deciding: the answer serves this request only.
        if ((generation.get(twinId) ?? 0) !== gen) return forget();
        if (!allowsOf(decision)) return;
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
    return { decision: entry.decision, cached: false };
  };

  return {
    allows: (subject, twinId, permission) => decide(subject, twinId, permission).decision.then(allowsOf),
    decide,
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
