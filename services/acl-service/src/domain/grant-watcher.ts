import type { FabricClient } from '@twinledger/fabric-client';
import { LedgerEvents, parseLedgerEvent } from '@twinledger/ledger';
import type { Logger } from '@twinledger/observability';
import type { Authorizer } from './authorizer.js';
import type { KeyManager } from './key-manager.js';

export interface GrantWatcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly connected: boolean;
}

/**
 * Follows the chaincode's events from the next block: GrantAdded/GrantRevoked invalidate the
 * twin's cached decisions and re-sync its document keys. The cache lives in memory, so
 * nothing needs replaying after a restart; an interrupted stream clears the whole cache.
 */
export function createGrantWatcher(init: { client: FabricClient; authorizer: Authorizer; keys?: KeyManager; logger: Logger; retryMs?: number }): GrantWatcher {
  const log = init.logger.child({ component: 'grant-watcher' });
  let stopping = false;
  let connected = false;
  let stream: { close(): void } | undefined;
  let loop: Promise<void> | undefined;
  async function run(): Promise<void> {
    while (!stopping) {
      try {
        const events = await init.client.chaincodeEvents();
        stream = events;
        connected = true;
        for await (const raw of events) {
          if (raw.eventName !== LedgerEvents.GrantAdded && raw.eventName !== LedgerEvents.GrantRevoked) continue;
          let twinId: string;
          try {
            const ev = parseLedgerEvent(raw);
            twinId = (ev.payload as { twinId: string }).twinId;
          } catch (err) {
            log.warn({ err, tx: raw.transactionId }, 'malformed grant event; clearing the cache');
            init.authorizer.clear();
            continue;
          }
          init.authorizer.invalidate(twinId);
          if (init.keys) {
            void init.keys.sync(twinId).catch((err: unknown) => log.warn({ err, twinId }, 'key sync after grant change failed'));
          }
        }
      } catch (err) {
        if (!stopping) log.warn({ err }, 'event stream interrupted; reconnecting');
      } finally {
        connected = false;
        stream?.close();
        stream = undefined;
        init.authorizer.clear();
      }
      if (!stopping) await new Promise((r) => setTimeout(r, init.retryMs ?? 1000));
    }
  }
  return {
    async start() {
      loop = run();
    },
    async stop() {
      stopping = true;
      stream?.close();
      await loop;
    },
    get connected() {
      return connected;
    },
  };
}
