import type { ChaincodeEvent, Checkpointer } from '@hyperledger/fabric-gateway';
import type { Logger } from '@twinledger/observability';
import { checkpointFile, checkpointInMemory } from './checkpoint.js';
import type { FabricClient } from './client.js';

export interface LedgerEventSourceInit {
  /** The client whose chaincode events are followed (any identity of the org can read them). */
  readonly client: FabricClient;
  /**
   * File that persists the checkpoint, so a restarted process resumes right after the last
   * event it handled. Absent: an in-memory checkpoint (resumes across reconnects only).
   */
  readonly checkpointFile?: string;
  /**
   * A checkpoint already loaded (e.g. `await checkpointFile(path)` at boot), for a caller that
   * needs its block before the stream starts (a read model that must not miss an event).
   * Takes precedence over `checkpointFile`.
   */
  readonly checkpointer?: Checkpointer;
  /** Block to start at while there is no checkpoint yet; default: the next block. */
  readonly startBlock?: bigint;
  /**
   * Handles one event. The checkpoint moves past the event only after this resolves; when it
   * throws, the stream is reopened from the checkpoint and the event is delivered again.
   */
  readonly onEvent: (event: ChaincodeEvent) => Promise<void>;
  /**
   * Called once the checkpoint has moved past the event: what must not happen twice for one
   * event (telling live subscribers) belongs here, not in `onEvent`.
   */
  readonly onCheckpointed?: (event: ChaincodeEvent) => void;
  /** Called with every failure that interrupts the stream (not with a stop). */
  readonly onError?: (err: unknown) => void;
  /** Called each time the stream drops (events may arrive late; nothing is lost). */
  readonly onDisconnect?: () => void;
  /** Pause before reopening a dropped stream; default 1000 ms. */
  readonly retryMs?: number;
  /**
   * When set, the pause doubles after every failed attempt up to this bound and returns to
   * `retryMs` once a stream opens (a peer that is down is not hammered); default: `retryMs`.
   */
  readonly maxRetryMs?: number;
  readonly logger: Logger;
}

export interface LedgerEventSource {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True while the event stream is open. */
  readonly connected: boolean;
  /** Block of the last handled event (from the checkpoint file after a restart). */
  readonly lastBlock: bigint | undefined;
  /** How many times a stream was opened (a consumer reloads what it may have missed after a reopen). */
  readonly connections: number;
}

/**
 * A reconnecting, checkpointed follower of the chaincode's events: every event committed
 * after the checkpoint is handed to `onEvent` in commit order, at least once, even across
 * process restarts (with a checkpoint file) and dropped streams. Handlers must tolerate a
 * repeat: an event is delivered again if the process dies between the handler and the
 * checkpoint write.
 */
export function createLedgerEventSource(init: LedgerEventSourceInit): LedgerEventSource {
  const log = init.logger.child({ component: 'ledger-event-source' });
  let checkpointer: Checkpointer | undefined;
  let stopping = false;
  let connected = false;
  let connections = 0;
  let stream: { close(): void } | undefined;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const firstDelay = init.retryMs ?? 1000;
  const maxDelay = Math.max(firstDelay, init.maxRetryMs ?? firstDelay);

  async function run(cp: Checkpointer): Promise<void> {
    let delay = firstDelay;
    while (!stopping) {
      try {
        const events = await init.client.chaincodeEvents({ checkpoint: cp, ...(init.startBlock !== undefined ? { startBlock: init.startBlock } : {}) });
        stream = events;
        connected = true;
        connections++;
        delay = firstDelay;
        log.info({ fromBlock: cp.getBlockNumber()?.toString() ?? 'next' }, 'event stream connected');
        for await (const ev of events) {
          if (stopping) break;
          await init.onEvent(ev);
          await cp.checkpointChaincodeEvent(ev);
          init.onCheckpointed?.(ev);
        }
      } catch (err) {
        if (!stopping) {
          init.onError?.(err);
          log.warn({ err }, 'event stream interrupted; resuming from the checkpoint');
        }
      } finally {
        const was = connected;
        connected = false;
        stream?.close();
        stream = undefined;
        if (was) init.onDisconnect?.();
      }
      if (!stopping) {
        const pause = delay;
        delay = Math.min(delay * 2, maxDelay);
        await new Promise<void>((r) => ((wake = r), setTimeout(r, pause)));
      }
    }
  }

  return {
    async start() {
      stopping = false;
      checkpointer ??= init.checkpointer ?? (init.checkpointFile !== undefined ? await checkpointFile(init.checkpointFile) : checkpointInMemory());
      loop = run(checkpointer);
    },
    async stop() {
      stopping = true;
      stream?.close();
      wake?.();
      await loop;
    },
    get connected() {
      return connected;
    },
    get lastBlock() {
      return (checkpointer ?? init.checkpointer)?.getBlockNumber();
    },
    get connections() {
      return connections;
    },
  };
}
