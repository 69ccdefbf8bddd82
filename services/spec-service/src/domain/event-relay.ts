import type { Checkpointer, ChaincodeEvent, FabricClient } from '@twinledger/fabric-client';
import { TOPICS, sendAcked, type Producer } from '@twinledger/kafka';
import { parseLedgerEvent } from '@twinledger/ledger';
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@twinledger/observability';
import type { EventHub, RelayedEvent } from './event-hub.js';
import type { LedgerJournal } from './ledger-journal.js';

export interface EventRelayInit {
  readonly client: FabricClient;
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
 * Relays every chaincode event to Kafka and SSE clients. Order per event: Kafka acknowledges
 * (idempotent producer, acks=all) -> the journal records it -> the checkpoint moves past it ->
 * SSE clients get it. A restart resumes after the checkpoint: nothing is lost, and an event is
 * sent twice only if the process died between the Kafka ack and the checkpoint write;
 * consumers drop those by the `dedupe-key` header (`<txId>:<eventName>`, one event per tx).
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

  let stopping = false;
  let connected = false;
  let connections = 0;
  let stream: { close(): void } | undefined;
  let loop: Promise<void> | undefined;
  let lastBlock: bigint | undefined = init.checkpointer.getBlockNumber();

  async function relayOne(ev: ChaincodeEvent): Promise<void> {
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
    await init.checkpointer.checkpointChaincodeEvent(ev);
    lastBlock = ev.blockNumber;
    lastBlockGauge.set(Number(ev.blockNumber));
    relayed.inc({ event: out.eventName });
    lag.observe((performance.now() - t0) / 1000);
    init.hub.publish(out);
  }

  async function run(): Promise<void> {
    while (!stopping) {
      try {
        // No checkpoint yet: start at block 0 so the whole history is relayed once.
        const events = await init.client.chaincodeEvents({ checkpoint: init.checkpointer, startBlock: 0n });
        stream = events;
        connected = true;
        connections++;
        log.info({ fromBlock: String(init.checkpointer.getBlockNumber() ?? 0n) }, 'event stream connected');
        for await (const ev of events) {
          if (stopping) break;
          await relayOne(ev);
        }
      } catch (err) {
        if (stopping) break;
        failures.inc();
        log.warn({ err }, 'event relay interrupted; resuming from the checkpoint');
      } finally {
        connected = false;
        stream?.close();
        stream = undefined;
      }
      if (!stopping) await new Promise((r) => setTimeout(r, init.retryMs ?? 1000));
    }
  }

  return {
    async start() {
      stopping = false;
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
    get lastBlock() {
      return lastBlock;
    },
    get connections() {
      return connections;
    },
  };
}
