import { EndorsementFailedError, MvccConflictError, TransactionInvalidError } from '@twinledger/fabric-client';

/**
 * Retries a ledger write lost to a race that a second try resolves: a concurrent transaction on
 * the same keys (MVCC), or the other organization's peer endorsing on a block it has not
 * committed yet (its read differs from ours, so the endorsements do not match).
 */
export async function retryTransient<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (err) {
      const transient = err instanceof MvccConflictError || err instanceof EndorsementFailedError || err instanceof TransactionInvalidError;
      if (!transient || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}
