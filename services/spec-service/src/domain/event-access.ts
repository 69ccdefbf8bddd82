import { LedgerEvents, Permissions, type TwinLedger } from '@twinledger/ledger';
import type { RelayedEvent } from './event-hub.js';

export interface EventReadFilter {
  /**
   * Whether the subscriber may see the event: the chaincode's `spec:read` on the event's twin
   * decides (acl:checkAccess as the caller). Channel-wide events (no twin) go to every member.
   */
  mayRead(event: RelayedEvent): Promise<boolean>;
  /** Decisions currently cached (tests, metrics). */
  readonly cached: number;
}

export interface EventReadFilterInit {
  /** The ledger as the subscriber's own Fabric identity. */
  readonly ledger: TwinLedger;
  /** Expiries emit no event, so a cached decision is also bounded in time; default 60 s. */
  readonly ttlMs?: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/**
 * One subscriber's read decisions, cached per twin. A GrantAdded/GrantRevoked event of a twin
 * drops that twin's decision before the event itself is judged, so a revoked party stops
 * receiving with the revocation and a new grantee starts with its grant.
 */
/**
 * Steps of a chunked creation (ADR-14): bookkeeping of a twin that no reader may see before its
 * TwinCreated. Sent to no subscriber, without asking the ledger (which would answer NOT_FOUND
 * once per chunk and subscriber).
 */
const CREATION_STEPS = new Set<string>([LedgerEvents.TwinCreationBegun, LedgerEvents.TwinChunkAppended, LedgerEvents.TwinCreationAborted]);

export function createEventReadFilter(init: EventReadFilterInit): EventReadFilter {
  const ttl = init.ttlMs ?? 60_000;
  const max = init.maxEntries ?? 1000;
  const now = init.now ?? Date.now;
  const cache = new Map<string, { allowed: boolean; expires: number }>();
  return {
    async mayRead(e) {
      if (e.twinId === undefined) return true;
      if (CREATION_STEPS.has(e.eventName)) return false;
      if (e.eventName === LedgerEvents.GrantAdded || e.eventName === LedgerEvents.GrantRevoked) cache.delete(e.twinId);
      const hit = cache.get(e.twinId);
      if (hit && hit.expires > now()) return hit.allowed;
      const answer = await init.ledger.checkAccess(e.twinId, Permissions.SPEC_READ);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(e.twinId, { allowed: answer.allowed, expires: now() + ttl });
      return answer.allowed;
    },
    get cached() {
      return cache.size;
    },
  };
}
