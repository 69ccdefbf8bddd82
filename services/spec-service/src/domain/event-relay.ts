import { createLedgerEventSource, type Checkpointer, type ChaincodeEvent, type FabricClient } from '@twinledger/fabric-client';
import { TOPICS, sendAcked, type Producer } from '@twinledger/kafka';
import { parseLedgerEvent } from '@twinledger/ledger';
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@twinledger/observability';
import type { EventHub, RelayedEvent } from './event-hub.js';
import type { LedgerJournal } from './ledger-journal.js';

export interface EventRelayInit {
  readonly client: FabricClient;
  /** Loaded at boot, so `lastBlock` answers before start (the read model starts there). */
  readonly checkpointer: Checkpointer;
  readonly producer: Producer;
  readonly hub: EventHub;
  readonly journal: LedgerJournal;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** Topic; default dt.ledger-events. */
  readonly topic?: string;
  /** Pause before reconnecting after the event stream or Kafka failed; default 1 s. */
  readonly retryMs?: number;
}

export interface EventRelay {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True while the event stream is connected. */
  readonly connected: boolean;
  /** Highest block relayed (from the checkpoint after a restart). */
  readonly lastBlock: bigint | undefined;
  /** How many times the event stream was opened (the read model reloads after a reopen). */
  readonly connections: number;
}

/** The Kafka record of one event (value), keyed by twin so a twin's events stay in order. */
export function toRelayed(ev: ChaincodeEvent): RelayedEvent {
  let payload: unknown;
  let twinId: string | undefined;
  try {
    const parsed = parseLedgerEvent(ev);
    payload = parsed.payload;
    twinId = 'twinId' in parsed.payload ? parsed.payload.twinId : undefined;
  } catch {
    // Unknown or malformed event (a newer chaincode): relay the raw text, consumers decide.
    payload = { raw: Buffer.from(ev.payload).toString('utf8') };
  }
  return {
    id: `${ev.blockNumber}:${ev.transactionId}`,
    eventName: ev.eventName,
    transactionId: ev.transactionId,
    blockNumber: Number(ev.blockNumber),
    ...(twinId !== undefined ? { twinId } : {}),
    payload,
  };
}

/**
 * Relays every chaincode event to Kafka and SSE clients, on the one ledger event source
 * (fabric-client's createLedgerEventSource: reconnects, resumes from the checkpoint). Order per
 * event: Kafka acknowledges (idempotent producer, acks=all) -> the journal records it -> the
 * checkpoint moves past it -> SSE clients get it. A restart resumes after the checkpoint:
 * nothing is lost, and an event is sent twice only if the process died between the Kafka ack
 * and the checkpoint write; consumers drop those by the `dedupe-key` header
 * (`<txId>:<eventName>`, one event per tx). SSE clients never see an event twice: they are told
 * only once the checkpoint is past it.
 */
export function createEventRelay(init: EventRelayInit): EventRelay {
  const topic = init.topic ?? TOPICS.ledgerEvents;
  const log = init.logger.child({ component: 'event-relay' });
  const relayed = new Counter({ name: 'spec_service_events_relayed_total', help: 'Chaincode events relayed to Kafka', labelNames: ['event'], registers: [init.metrics] });
  const lag = new Histogram({
    name: 'spec_service_event_relay_lag_seconds',
    help: 'From receiving a chaincode event from the peer to its Kafka acknowledgement and checkpoint',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [init.metrics],
  });
  const lastBlockGauge = new Gauge({ name: 'spec_service_event_relay_last_block', help: 'Block number of the last relayed event', registers: [init.metrics] });
  const failures = new Counter({ name: 'spec_service_event_relay_failures_total', help: 'Event stream or Kafka failures (the relay reconnects)', registers: [init.metrics] });

  // The event being relayed: events are handled one at a time, in commit order.
  let current: { readonly out: RelayedEvent; readonly t0: number } | undefined;

  const source = createLedgerEventSource({
    client: init.client,
    checkpointer: init.checkpointer,
    // No checkpoint yet: start at block 0 so the whole history is relayed once.
    startBlock: 0n,
    ...(init.retryMs !== undefined ? { retryMs: init.retryMs } : {}),
    logger: log,
    async onEvent(ev) {
      const t0 = performance.now();
      const out = toRelayed(ev);
      await sendAcked(init.producer, topic, [
        {
          key: out.twinId ?? out.eventName,
          value: JSON.stringify(out),
          headers: { 'event-name': out.eventName, 'tx-id': out.transactionId, 'block-number': String(out.blockNumber), 'dedupe-key': `${out.transactionId}:${out.eventName}` },
        },
      ]);
      const p = out.payload as { deviceName?: unknown };
      init.journal.record({
        txId: out.transactionId,
        blockNumber: out.blockNumber,
        eventName: out.eventName,
        ...(out.twinId !== undefined ? { twinId: out.twinId } : {}),
        ...(out.eventName === 'TwinCreated' && typeof p.deviceName === 'string' ? { deviceName: p.deviceName } : {}),
      });
      current = { out, t0 };
    },
    onCheckpointed(ev) {
      const done = current;
      current = undefined;
      if (!done) return;
      lastBlockGauge.set(Number(ev.blockNumber));
      relayed.inc({ event: done.out.eventName });
      lag.observe((performance.now() - done.t0) / 1000);
      init.hub.publish(done.out);
    },
    onError: () => failures.inc(),
  });

  return source;
}
