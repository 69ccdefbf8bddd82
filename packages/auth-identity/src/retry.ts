import { MvccConflictError } from '@twinledger/fabric-client';
import { WriteConflictError } from './errors.js';

export interface RetryInit {
  /** Attempts in all, first included; default 3. */
  readonly attempts?: number;
  /** Base backoff in ms, doubled per retry with jitter; default 50. */
  readonly backoffMs?: number;
  /** Called before each retry (metrics, logs). */
  readonly onRetry?: (attempt: number, err: MvccConflictError) => void;
}

/**
 * Runs a write, retrying it while Fabric invalidates it for an MVCC read conflict (a
 * concurrent transaction won); the whole proposal is endorsed again, so it reads fresh state.
 * After the last attempt the conflict surfaces as 409 MVCC_CONFLICT.
 */
export async function withMvccRetry<T>(write: () => Promise<T>, init: RetryInit = {}): Promise<T> {
  const attempts = init.attempts ?? 3;
  const base = init.backoffMs ?? 50;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof MvccConflictError)) throw err;
      if (attempt >= attempts) {
        throw new WriteConflictError(`write lost to concurrent transactions ${attempts} times`, {
          cause: err,
          details: { attempts, transactionId: err.transactionId },
        });
      }
      init.onRetry?.(attempt, err);
      await new Promise((r) => setTimeout(r, base * 2 ** (attempt - 1) * (0.5 + Math.random())));
    }
  }
}
