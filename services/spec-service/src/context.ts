import type { FastifyRequest } from 'fastify';
import type { AuditBundleExporter } from '@twinledger/audit';
import type { DhtClient } from '@twinledger/dht-client';
import { withWriteRetry, type MvccConflictError } from '@twinledger/fabric-client';
import type { TwinLedger } from '@twinledger/ledger';
import type { Principal } from '@twinledger/service-kit';
import { UnauthenticatedError } from '@twinledger/service-kit';
import type { Counter } from '@twinledger/observability';
import type { EventHub } from './domain/event-hub.js';
import type { LedgerJournal } from './domain/ledger-journal.js';
import type { SpecCache } from './domain/spec-cache.js';

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
  /** The typed ledger signing as the caller's Fabric identity. */
  readonly ledgerFor: (principal: Principal) => Promise<TwinLedger>;
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
  readonly mvccAttempts: number;
  readonly retries: Counter;
  readonly orphans: Counter;
  readonly specCache: SpecCache;
  readonly specCacheLookups: Counter;
  /**
   * Builds block-proof audit bundles from this org's peer (qscc). Undefined where the service
   * has no block reader (route tests): the route then answers 503 AUDIT_BUNDLES_UNAVAILABLE.
   */
  readonly auditBundles?: AuditBundleExporter;
}

export async function ledger(deps: RouteDeps, req: FastifyRequest): Promise<TwinLedger> {
  if (!req.principal) throw new UnauthenticatedError('no principal');
  return deps.ledgerFor(req.principal);
}

export function write<T>(deps: RouteDeps, req: FastifyRequest, op: string, fn: () => Promise<T>): Promise<T> {
  return withWriteRetry(fn, {
    attempts: deps.mvccAttempts,
    onRetry: (attempt, err) => {
      deps.retries.inc({ operation: op });
      req.log.info({ attempt, transactionId: (err as MvccConflictError).transactionId, op }, 'MVCC conflict; retrying');
    },
  });
}
