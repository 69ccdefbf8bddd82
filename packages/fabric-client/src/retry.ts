import { EndorsementFailedError, MvccConflictError, TransactionInvalidError, WriteConflictError } from './errors.js';

/** A write invalidated at commit because a concurrent transaction changed what it read. */
export function isReadConflict(err: unknown): err is MvccConflictError {
  return err instanceof MvccConflictError;
}

/**
 * A write lost to a race that a second try resolves: a read conflict, or the other
 * organization's peer endorsing on a block it has not committed yet (the endorsements then
 * differ, or the transaction is invalidated at commit). Never a refusal by this organization's
 * own peer, and never an unknown outcome (a blind retry could do the work twice).
 */
export function isTransientWriteFailure(err: unknown): boolean {
  // A refusal reaches this package as an endorsement failure (the ledger package re-types it):
  // retried only when this organization's peer had endorsed (the other peer lags).
  return err instanceof MvccConflictError || (err instanceof EndorsementFailedError && (!err.refusedByChaincode || err.peersDisagree)) || err instanceof TransactionInvalidError;
}

/** This organization's peer endorsed and another organization's peer did not (see EndorsementFailedError.peersDisagree). */
export function isPeerDisagreement(err: unknown): err is EndorsementFailedError {
  return err instanceof EndorsementFailedError && err.peersDisagree;
}

export interface WriteRetryInit {
  /** Attempts in all, first included; default 3. */
  readonly attempts?: number;
  /** Base backoff in ms, doubled per retry with jitter; default 50. */
  readonly backoffMs?: number;
  /** Which failures to retry; default `isReadConflict`. */
  readonly retryOn?: (err: unknown) => boolean;
  /** Called before each retry (metrics, logs). */
  readonly onRetry?: (attempt: number, err: unknown) => void;
}

/**
 * The one retry of ledger writes: runs `write` again (a new proposal, endorsed on fresh state)
 * while it fails in a way `retryOn` calls transient. A read conflict that outlasts every
 * attempt surfaces as `WriteConflictError` (409 MVCC_CONFLICT); any other failure as itself.
 */
export async function withWriteRetry<T>(write: () => Promise<T>, init: WriteRetryInit = {}): Promise<T> {
  const attempts = init.attempts ?? 3;
  const base = init.backoffMs ?? 50;
  const retryOn = init.retryOn ?? isReadConflict;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (!retryOn(err)) throw err;
      if (attempt >= attempts) {
        if (err instanceof MvccConflictError) {
          throw new WriteConflictError(`write lost to concurrent transactions ${attempts} times`, {
            cause: err,
            details: { attempts, ...(err.transactionId !== undefined ? { transactionId: err.transactionId } : {}) },
          });
        }
        throw err;
      }
      init.onRetry?.(attempt, err);
      await new Promise((r) => setTimeout(r, base * 2 ** (attempt - 1) * (0.5 + Math.random())));
    }
  }
}

/**
 * For writers that race the other organizations' peers (the device agent writing right after
 * its own previous write): six attempts over about three seconds, on any transient failure.
 */
export const TRANSIENT_WRITE_RETRY: WriteRetryInit = { attempts: 6, backoffMs: 100, retryOn: isTransientWriteFailure };

/**
 * Every submit's endorsement, in the client itself: a peer of another organization that has not
 * committed this client's previous write yet refuses what this organization's peer endorsed
 * (a feed's next anchor "starts at 0, not 10"). Re-endorsing is safe, nothing was ordered; five
 * tries over about 1.5 s cover a block or two of lag. A refusal that outlasts them is the answer.
 */
export const PEER_LAG_RETRY: WriteRetryInit = { attempts: 5, backoffMs: 100, retryOn: isPeerDisagreement };
