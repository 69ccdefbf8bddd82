import { createLedgerEventSource, type ChaincodeEvent, type FabricClient } from '@twinledger/fabric-client';
import { ChaincodeRejectedError } from '@twinledger/ledger';
import { LedgerEvents, parseLedgerEvent } from '@twinledger/ledger';
import type { Logger } from '@twinledger/observability';
import type { Authorizer } from './authorizer.js';
import type { KeyReconciler } from './key-reconciler.js';

export interface GrantWatcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly connected: boolean;
  /** Block of the last handled event (persisted when a checkpoint file is given). */
  readonly lastBlock: bigint | undefined;
}

export interface GrantWatcherInit {
  readonly client: FabricClient;
  readonly authorizer: Authorizer;
  readonly keys?: KeyReconciler;
  /** Checkpoint file: a restarted service resumes after the last event it handled. */
  readonly checkpointFile?: string;
  readonly logger: Logger;
  readonly retryMs?: number;
}

// The events after which a twin's document ACLs may have to change: grants, and new objects
// of ours (their first ACL is recorded on the ledger).
const KEY_EVENTS = new Set<string>([LedgerEvents.GrantAdded, LedgerEvents.GrantRevoked, LedgerEvents.DocumentAdded, LedgerEvents.DocumentVersionAdded]);

/**
 * Follows the chaincode's events through a checkpointed, reconnecting event source: a grant
 * change invalidates the twin's cached decisions and re-syncs its document keys; the
 * checkpoint moves past an event only once its key sync has run, so a revoke that commits
 * while the service is down is handled after the restart. (The start-up reconcile of every
 * twin covers it too; the checkpoint makes it prompt and ordered.) An interrupted stream
 * clears the decision cache: changes may arrive late.
 */
export function createGrantWatcher(init: GrantWatcherInit): GrantWatcher {
  const log = init.logger.child({ component: 'grant-watcher' });
  async function onEvent(raw: ChaincodeEvent): Promise<void> {
    if (!KEY_EVENTS.has(raw.eventName)) return;
    let twinId: string;
    try {
      twinId = (parseLedgerEvent(raw).payload as { twinId: string }).twinId;
    } catch (err) {
      log.warn({ err, tx: raw.transactionId }, 'malformed event; clearing the cache');
      init.authorizer.clear();
      return;
    }
    // The decision cache knows which events change grants.
    init.authorizer.onLedgerEvent({ eventName: raw.eventName, twinId });
    if (!init.keys) return;
    try {
      await init.keys.request(twinId);
    } catch (err) {
      // A refusal (twin gone, not readable) will not change on redelivery; anything else
      // (peer, gateway down) is retried by reopening the stream from the checkpoint.
      if (err instanceof ChaincodeRejectedError) log.warn({ err, twinId }, 'key sync refused by the ledger; skipping the event');
      else throw err;
    }
  }
  const source = createLedgerEventSource({
    client: init.client,
    ...(init.checkpointFile !== undefined ? { checkpointFile: init.checkpointFile } : {}),
    onEvent,
    onDisconnect: () => init.authorizer.clear(),
    ...(init.retryMs !== undefined ? { retryMs: init.retryMs } : {}),
    logger: log,
  });
  return source;
}
