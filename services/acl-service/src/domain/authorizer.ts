import { createAccessDecisions, type DecisionSubject } from '@twinledger/ledger-gateway';
import type { AccessAnswer, Permission, TwinLedger } from '@twinledger/ledger';
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
  /** Feeds one ledger event: a grant change drops its twin's decisions (see createAccessDecisions). */
  onLedgerEvent(event: { readonly eventName: string; readonly twinId?: string | undefined }): void;
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
 * Authorization decisions for any party (acl:checkAccessFor), from the one decision cache of
 * the ledger's REST gateways (ledger-gateway's createAccessDecisions): cached per (twin, party,
 * identity, permission) for `ttlMs`, dropped as soon as a grant event of the twin arrives, and
 * an allowing one kept no longer than the earliest grant expiry on the twin (expiries emit no
 * event). This adds what `POST /authorize` answers besides yes or no: the roles and permissions
 * behind it, a reason, whether it came from the cache.
 */
export function createAuthorizer(init: AuthorizerInit): Authorizer {
  const decisions = createAccessDecisions<AccessAnswer, DecisionSubject>({
    check: (subject, twinId, permission) => init.ledger.checkAccessFor(twinId, subject.mspId, subject.fabricIdentity ?? '', permission),
    allows: (a) => a.allowed,
    // As the service: READER (everyone's) confers spec:read, which listing grants needs.
    grantExpiries: async (twinId) => (await init.ledger.listGrants(twinId)).map((g) => g.expiresAt),
    ttlMs: init.ttlMs,
    maxEntries: init.maxEntries ?? 10_000,
    ...(init.now ? { now: init.now } : {}),
  });
  const lookups = new Counter({ name: 'acl_service_authorize_total', help: 'Authorization decisions by cache outcome and result', labelNames: ['cache', 'allowed'], registers: [init.metrics] });
  return {
    async decide(q) {
      const { decision, cached } = decisions.decide({ mspId: q.mspId, fabricIdentity: q.identity }, q.twinId, q.permission);
      const a = await decision;
      lookups.inc({ cache: cached ? 'hit' : 'miss', allowed: String(a.allowed) });
      return {
        allowed: a.allowed,
        reason: a.allowed
          ? `${q.permission} conferred by ${a.roles.length ? `role ${a.roles.join(', ')}` : 'a direct permission grant'}`
          : `no unexpired grant confers ${q.permission} on ${q.mspId}${q.identity ? ` (${q.identity})` : ''}`,
        roles: [...a.roles],
        permissions: [...a.permissions],
        cached,
      };
    },
    invalidate: (twinId) => decisions.invalidate(twinId),
    clear: () => decisions.clear(),
    onLedgerEvent: (event) => decisions.onLedgerEvent(event),
    get size() {
      return decisions.size;
    },
  };
}
