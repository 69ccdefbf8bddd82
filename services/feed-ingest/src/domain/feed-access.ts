import { permissionHolders, Permissions, createTwinLedger, type TwinLedger } from '@twinledger/ledger';
import { createAccessDecisions, type CallerIdentity, type IdentityRegistry } from '@twinledger/ledger-gateway';
import type { PartyRegistry } from '@twinledger/dht';
import { FeedAccessDeniedError } from './errors.js';

/** The two feed permissions of the chaincode: reading a twin's feeds, and registering/writing them. */
export type FeedPermission = typeof Permissions.FEED_READ | typeof Permissions.FEED_REGISTER;

/**
 * The ledger's decisions about off-chain feed data: who may read or write a twin's feeds, and
 * which organizations form a feed's party set. feed-ingest keeps no access rule of its own.
 */
export interface FeedAccess {
  /** Resolves when the chaincode grants `permission` on the twin to the caller's own identity; 403 FEED_ACCESS_DENIED otherwise. */
  require(caller: CallerIdentity, twinId: string, permission: FeedPermission): Promise<void>;
  /** Whether it does (same cache), for filters such as the feed listing. */
  allows(caller: CallerIdentity, twinId: string, permission: FeedPermission): Promise<boolean>;
  /**
   * The organizations holding an unexpired `feed:read` on the twin (this organization always
   * included), restricted to parties the DHT registry knows (a segment key can only be wrapped
   * for those): the feed's party set.
   */
  readers(twinId: string): Promise<string[]>;
}

export interface FeedAccessInit {
  /** Maps a caller's token to the Fabric identity it signs as (ledger-gateway). */
  readonly identities: Pick<IdentityRegistry, 'clientFor'>;
  /** The ledger as the service's own identity: grants and parties for the party set. */
  readonly serviceLedger: TwinLedger;
  /** The DHT's party registry (`*` grants expand to it; unknown parties are left out). */
  readonly parties: PartyRegistry;
  readonly mspId: string;
  /** How long a decision is reused: the staleness bound of REST checks after a revoke or expiry. */
  readonly ttlMs: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/**
 * Decisions are the chaincode's own (`acl:checkAccess` evaluated as the caller, so identity
 * grants and expiries count exactly as on chain), cached by ledger-gateway's decision cache for
 * `ttlMs` and never past the earliest grant expiry on the twin (read as the service); denials
 * as well, so a refused client cannot load the peer.
 */
export function createFeedAccess(init: FeedAccessInit): FeedAccess {
  const now = init.now ?? Date.now;
  const decisions = createAccessDecisions({
    check: async (caller, twinId, permission) => (await createTwinLedger(await init.identities.clientFor(caller)).checkAccess(twinId, permission)).allowed,
    grantExpiries: async (twinId) => (await init.serviceLedger.listGrants(twinId)).map((g) => g.expiresAt),
    ttlMs: init.ttlMs,
    ...(init.maxEntries !== undefined ? { maxEntries: init.maxEntries } : {}),
    now,
  });
  const allows = (caller: CallerIdentity, twinId: string, permission: FeedPermission): Promise<boolean> => decisions.allows(caller, twinId, permission);

  return {
    allows,
    async require(caller, twinId, permission) {
      if (!(await allows(caller, twinId, permission))) {
        throw new FeedAccessDeniedError(`the ledger grants you no ${permission} on this twin`, { details: { twinId, permission } });
      }
    },
    async readers(twinId) {
      const grants = await init.serviceLedger.listGrants(twinId);
      const known = init.parties.list();
      return permissionHolders(grants, Permissions.FEED_READ, known, init.mspId, new Date(now())).filter((p) => p === init.mspId || init.parties.get(p) !== undefined);
    },
  };
}
