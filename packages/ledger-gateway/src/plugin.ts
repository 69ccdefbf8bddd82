import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { withWriteRetry, type MvccConflictError } from '@twinledger/fabric-client';
import type { TwinLedger } from '@twinledger/ledger';
import type { Counter } from '@twinledger/observability';
import { UnauthenticatedError, type Principal } from '@twinledger/service-kit';

declare module 'fastify' {
  interface FastifyRequest {
    /** The typed ledger signing as the caller's Fabric identity (ledger-gateway plugin); 401 without a principal. */
    ledger(): Promise<TwinLedger>;
    /**
     * Runs one ledger write with the shared retry: a write that loses Fabric's MVCC read check
     * is endorsed again (up to MVCC_ATTEMPTS), then fails as 409 MVCC_CONFLICT. `op` names the
     * write in logs and the retry counter.
     */
    write<T>(op: string, fn: () => Promise<T>): Promise<T>;
  }
}

export interface LedgerGatewayPluginOptions {
  /** The ledger as an authenticated caller (identity mapping: createIdentityRegistry's clientFor). */
  readonly ledgerFor: (principal: Principal) => Promise<TwinLedger>;
  /** Attempts for a write that loses MVCC read conflicts (MVCC_ATTEMPTS); default 3. */
  readonly mvccAttempts?: number;
  /** Counts retried writes by `operation` label, when given. */
  readonly retries?: Counter<'operation'>;
}

/**
 * What every REST gateway to the ledger does per request, in one place: the caller's ledger
 * from identity mapping, and writes with the one retry policy (fabric-client's withWriteRetry).
 * Routes call `req.ledger()` and `req.write(op, fn)` instead of passing collaborators around.
 */
export const ledgerGatewayPlugin = fp(
  async (app: FastifyInstance, opts: LedgerGatewayPluginOptions): Promise<void> => {
    const attempts = opts.mvccAttempts ?? 3;
    app.decorateRequest('ledger', function (this: FastifyRequest): Promise<TwinLedger> {
      // Public routes carry no principal: they must not reach the ledger as anyone.
      if (!this.principal) return Promise.reject(new UnauthenticatedError('no principal'));
      return opts.ledgerFor(this.principal);
    });
    app.decorateRequest('write', function <T>(this: FastifyRequest, op: string, fn: () => Promise<T>): Promise<T> {
      return withWriteRetry(fn, {
        attempts,
        onRetry: (attempt, err) => {
          opts.retries?.inc({ operation: op });
          this.log.info({ attempt, transactionId: (err as MvccConflictError).transactionId, op }, 'MVCC conflict; retrying');
        },
      });
    });
  },
  { name: '@twinledger/ledger-gateway', fastify: '5.x', dependencies: [] },
);
