import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessDecisions } from '@twinledger/ledger-gateway';
import type { AuditBundleExporter } from '@twinledger/audit';
import type { DhtClient } from '@twinledger/dht-client';
import type { Permission, TwinLedger } from '@twinledger/ledger';
import { UnauthenticatedError } from '@twinledger/service-kit';
import type { Counter } from '@twinledger/observability';
import type { EventHub } from './domain/event-hub.js';
import type { LedgerJournal } from './domain/ledger-journal.js';
import type { SpecCache } from './domain/spec-cache.js';
import { ReadAccessDeniedError } from './domain/errors.js';
import type { Fence, Loaded, ReadModel } from './domain/read-model.js';

export interface Limits {
  /** Largest AML document accepted for createTwin, bytes. */
  readonly amlBytes: number;
  /** Largest AML fragment accepted for insertAML, bytes. */
  readonly fragmentBytes: number;
  /** Largest document upload, bytes (downloads are verified in memory up to this size). */
  readonly documentBytes: number;
  /** Largest AASX export, bytes (the documents it carries summed); default 4 × documentBytes. */
  readonly aasxBytes?: number;
}

/** What routes need; injected so tests pass real or fake collaborators. */
export interface RouteDeps {
  /**
   * The org's dht-gateway, called with this service's own credential (set on the client). A
   * user's token is never forwarded: the gateway takes service credentials only, and the
   * ledger, asked as the caller, has decided before any call (issue #17).
   */
  readonly dht: DhtClient;
  readonly hub: EventHub;
  /** Whether this replica relays ledger events (its hub fills); /events answers 503 otherwise. */
  readonly relaying: () => boolean;
  readonly journal: LedgerJournal;
  readonly limits: Limits;
  readonly orphans: Counter;
  readonly specCache: SpecCache;
  readonly specCacheLookups: Counter;
  /** The organization's read model (issue #27): cached ledger state kept current by events. */
  readonly reads: ReadModel;
  /** The chaincode's access decisions, cached (used only while the read model is enabled). */
  readonly decisions: AccessDecisions;
  readonly readLookups: Counter;
  /**
   * Builds block-proof audit bundles from this org's peer (qscc). Undefined where the service
   * has no block reader (route tests): the route then answers 503 AUDIT_BUNDLES_UNAVAILABLE.
   */
  readonly auditBundles?: AuditBundleExporter;
}

/**
 * A read of the twin served by the read model: the caller's access is the chaincode's decision
 * (cached per identity, twin and permission), then the answer is the model's, or `load`'s as
 * the caller. Sets X-TwinLedger-Block (the newest block the answer is known to reflect) and
 * X-TwinLedger-Stale when the model could not confirm it. Without the model, `load` as the
 * caller decides alone (the chaincode checks access itself), fences still apply.
 */
export async function cachedRead<T>(
  deps: RouteDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  read: {
    readonly twinId: string;
    /**
     * The permission the read needs; a function of the answer when only the answer tells (a
     * document's read level): then the decision is checked after the answer was found, and an
     * answer that does not tell (undefined) is read again as the caller, the chaincode deciding.
     */
    readonly permission: Permission | ((value: T) => Permission | undefined);
    readonly key: string;
    readonly fence: Fence;
    readonly load: (l: TwinLedger) => Promise<Loaded<T>>;
  },
): Promise<T> {
  if (!req.principal) throw new UnauthenticatedError('no principal');
  const principal = req.principal;
  const decide = async (permission: Permission): Promise<void> => {
    if (!(await deps.decisions.allows(principal, read.twinId, permission))) {
      throw new ReadAccessDeniedError(`the ledger grants you no ${permission} on this twin`, { details: { twinId: read.twinId, permission } });
    }
  };
  if (deps.reads.enabled && typeof read.permission === 'string') await decide(read.permission);
  const answer = await deps.reads.read(read.twinId, read.key, async () => read.load(await req.ledger()), read.fence);
  // The answer may come from another caller's load or the cache: this caller's own decision counts.
  if (deps.reads.enabled && typeof read.permission === 'function') {
    const needed = read.permission(answer.value);
    if (needed === undefined) return (await read.load(await req.ledger())).value;
    await decide(needed);
  }
  deps.readLookups.inc({ result: answer.lookup });
  if (answer.block !== undefined) void reply.header('x-twinledger-block', String(answer.block));
  if (answer.stale) void reply.header('x-twinledger-stale', 'true');
  return answer.value;
}

/** The querystring of a fenced read, as the route schemas declare it (FenceQuery). */
export function fenceOf(q: { readonly minBlock?: number; readonly atLeastTx?: string }): Fence {
  return { ...(q.minBlock !== undefined ? { minBlock: q.minBlock } : {}), ...(q.atLeastTx !== undefined ? { atLeastTx: q.atLeastTx } : {}) };
}
