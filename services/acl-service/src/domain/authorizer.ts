import type { Permission, TwinLedger } from '@twinledger/ledger';
import { Counter, type Registry } from '@twinledger/observability';

export interface AuthorizeQuery {
  readonly twinId: string;
  readonly permission: Permission;
  readonly mspId: string;
  /** `x509::...`; absent = MSP-wide grants only. */
  readonly identity?: string;
}

export interface Decision {
  readonly allowed: boolean;
  readonly reason: string;
  readonly roles: readonly string[];
  readonly permissions: readonly string[];
  readonly cached: boolean;
}

export interface Authorizer {
  decide(q: AuthorizeQuery): Promise<Decision>;
  /** Drops the cached decisions of one twin (a grant changed). */
  invalidate(twinId: string): void;
  /** Drops everything (the event stream was interrupted: changes may have been missed). */
  clear(): void;
  readonly size: number;
}

export interface AuthorizerInit {
  /** The ledger as this service's own identity (needs spec:read, which READER gives everyone). */
  readonly ledger: TwinLedger;
  readonly ttlMs: number;
  readonly maxEntries?: number;
  readonly metrics: Registry;
  readonly now?: () => number;
}

/**
 * Authorization decisions from the chaincode's own rules (acl:checkAccessFor), cached per
 * (twin, party, identity, permission) for `ttlMs` and dropped as soon as a GrantAdded or
 * GrantRevoked event of the twin arrives. The TTL bounds staleness from expiries, which emit
 * no event.
 */
export function createAuthorizer(init: AuthorizerInit): Authorizer {
  const now = init.now ?? Date.now;
  const max = init.maxEntries ?? 10_000;
  const cache = new Map<string, { decision: Omit<Decision, 'cached'>; expires: number; twinId: string }>();
  const lookups = new Counter({ name: 'acl_service_authorize_total', help: 'Authorization decisions by cache outcome and result', labelNames: ['cache', 'allowed'], registers: [init.metrics] });
  return {
    async decide(q) {
      const key = JSON.stringify([q.twinId, q.mspId, q.identity ?? '', q.permission]);
      const hit = cache.get(key);
      if (hit && hit.expires > now()) {
        lookups.inc({ cache: 'hit', allowed: String(hit.decision.allowed) });
        return { ...hit.decision, cached: true };
      }
      const a = await init.ledger.checkAccessFor(q.twinId, q.mspId, q.identity ?? '', q.permission);
      const decision = {
        allowed: a.allowed,
        reason: a.allowed
          ? `${q.permission} conferred by ${a.roles.length ? `role ${a.roles.join(', ')}` : 'a direct permission grant'}`
          : `no unexpired grant confers ${q.permission} on ${q.mspId}${q.identity ? ` (${q.identity})` : ''}`,
        roles: [...a.roles],
        permissions: [...a.permissions],
      };
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(key, { decision, expires: now() + init.ttlMs, twinId: q.twinId });
      lookups.inc({ cache: 'miss', allowed: String(decision.allowed) });
      return { ...decision, cached: false };
    },
    invalidate(twinId) {
      for (const [k, v] of cache) if (v.twinId === twinId) cache.delete(k);
    },
    clear() {
      cache.clear();
    },
    get size() {
      return cache.size;
    },
  };
}
