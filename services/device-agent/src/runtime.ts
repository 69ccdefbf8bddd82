import { join } from 'node:path';
import { createLedgerEventSource, type ChaincodeEvent, type FabricClient, type LedgerEventSource } from '@twinledger/fabric-client';
import { parseLedgerEvent, twinIdOf, type AcknowledgementStatus, type TwinLedger } from '@twinledger/ledger';
import type { Consumer, Producer } from '@twinledger/kafka';
import type { Logger } from '@twinledger/observability';
import { openCallJournal } from './domain/call-journal.js';
import type { ConnectFailure, ConnectionState, DeviceAdapter, LinkSecurity } from './domain/device.js';
import type { EnvelopeGuard } from './domain/envelope.js';
import type { FeedRegistrar } from './domain/feed-registrar.js';
import type { AgentMetrics } from './domain/metrics.js';
import { createProgramExecutor, type ProgramExecutor } from './domain/program-executor.js';
import { createReadingForwarder, type ReadingForwarder } from './domain/reading-forwarder.js';
import { createSyncEngine, type SyncEngine, type SyncReport } from './domain/sync.js';

export interface DeviceAgentInit {
  /** The twin of the device (its deviceId). */
  readonly twinId: string;
  /** The organization operating the agent (only its users may trigger a re-sync). */
  readonly mspId: string;
  /** Typed ledger access signing as the agent's own identity (DEVICE_AGENT grant). */
  readonly ledger: TwinLedger;
  /** The same identity's Fabric client: its chaincode event stream carries ProgramCalled. */
  readonly fabric: FabricClient;
  readonly adapter: DeviceAdapter;
  readonly feeds: FeedRegistrar;
  /** Journal of program calls and the event checkpoint live here. */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly metrics?: AgentMetrics;
  readonly syncIntervalMs: number;
  /** The operator's safety envelope for program calls (see ProgramExecutorInit.envelope). */
  readonly envelope?: EnvelopeGuard;
  /** Readings to Kafka; absent = no streaming. */
  readonly readings?: {
    readonly producer: Producer;
    readonly topic: string;
    readonly maxReadingsPerSecond: number;
    readonly maxBuffered: number;
  };
  /** Also take ProgramCalled events from spec-service's relay (dt.ledger-events). */
  readonly ledgerEventsConsumer?: { readonly consumer: Consumer; readonly topic: string };
  /** Read ProgramCalled from the Gateway stream (default true). */
  readonly gatewayEvents?: boolean;
  /** Told when the device applied a call (tests, benchmark). */
  readonly onExecuted?: (callId: number, at: number) => void;
  /** The clock program-call expiry is judged by (default Date.now). */
  readonly now?: () => number;
  /** How far ahead of that clock a call's requestedAt may lie (default 60 s; CALL_CLOCK_SKEW_MS). */
  readonly clockSkewMs?: number;
}

export interface AgentStatus {
  readonly twinId: string;
  readonly device: { readonly endpoint: string; readonly state: ConnectionState; readonly link?: LinkSecurity; readonly lastFailure?: ConnectFailure };
  readonly events: { readonly gateway: boolean | null; readonly kafka: boolean | null };
  readonly lastSync: SyncReport | null;
  readonly syncRunning: boolean;
  readonly calls: Readonly<Record<AcknowledgementStatus, number>>;
  readonly stream: { readonly buffered: number; readonly produced: number; readonly ratePerSecond: number; readonly kafkaUp: boolean } | null;
}

export interface DeviceAgent {
  readonly twinId: string;
  readonly mspId: string;
  readonly sync: SyncEngine;
  readonly executor: ProgramExecutor;
  readonly forwarder: ReadingForwarder | undefined;
  readonly journal: Awaited<ReturnType<typeof openCallJournal>>;
  status(): AgentStatus;
  ready(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Wires adapter, sync, program calls and streaming into one long-lived agent. */
export async function createDeviceAgent(init: DeviceAgentInit): Promise<DeviceAgent> {
  const log = init.logger.child({ component: 'device-agent', twinId: init.twinId });
  const journal = await openCallJournal(join(init.dataDir, 'program-calls.jsonl'));
  const forwarder = init.readings
    ? createReadingForwarder({ producer: init.readings.producer, topic: init.readings.topic, logger: init.logger, metrics: init.metrics, maxReadingsPerSecond: init.readings.maxReadingsPerSecond, maxBuffered: init.readings.maxBuffered })
    : undefined;
  const sync = createSyncEngine({
    twinId: init.twinId,
    ledger: init.ledger,
    adapter: init.adapter,
    feeds: init.feeds,
    logger: init.logger,
    metrics: init.metrics,
    async onFeeds(feeds) {
      forwarder?.setFeeds(feeds);
      if (forwarder) await init.adapter.watchSensors([...feeds.keys()], (s) => void forwarder.accept(s));
    },
  });
  const executor = createProgramExecutor({
    twinId: init.twinId,
    ledger: init.ledger,
    adapter: init.adapter,
    journal,
    logger: init.logger,
    metrics: init.metrics,
    onExecuted: init.onExecuted,
    ...(init.envelope ? { envelope: init.envelope } : {}),
    ...(init.now ? { now: init.now } : {}),
    ...(init.clockSkewMs !== undefined ? { clockSkewMs: init.clockSkewMs } : {}),
  });

  let stopped = false;
  let kafkaConnected: boolean | null = init.ledgerEventsConsumer ? false : null;
  let timer: NodeJS.Timeout | undefined;

  const submitCall = (callId: number, source: string): Promise<void> =>
    executor.submit(callId).then(
      () => undefined,
      (err: unknown) => log.warn({ err, callId, source }, 'program call left pending for the next catch-up'),
    );

  // The one ledger-event follower of the project: it reopens a dropped stream with backoff and
  // resumes after the last handled event, also across restarts (checkpoint file). The event is
  // checkpointed only after its call was handled, so a restart in between hands it over again
  // (the executor answers a repeat from its journal).
  const events: LedgerEventSource | undefined =
    init.gatewayEvents === false
      ? undefined
      : createLedgerEventSource({
          client: init.fabric,
          checkpointFile: join(init.dataDir, 'ledger-events.checkpoint.json'),
          retryMs: 200,
          maxRetryMs: 5_000,
          logger: log,
          async onEvent(ev: ChaincodeEvent) {
            let parsed;
            try {
              parsed = parseLedgerEvent(ev);
            } catch {
              return; // an event of a newer chaincode: not ours to act on
            }
            if (twinIdOf(parsed) !== init.twinId) return;
            if (parsed.name === 'ProgramCalled') await submitCall(parsed.payload.callId, 'gateway');
          },
          // Calls committed while the stream was down arrive from the checkpoint on reopening;
          // the pending list also covers any whose handling failed.
          onDisconnect: () => void executor.catchUp().catch(() => undefined),
        });

  async function startKafkaRelay(c: { consumer: Consumer; topic: string }): Promise<void> {
    // Ready only once the group has partitions: a relay record produced before that (with no
    // committed offset yet) would be skipped by a fromBeginning=false consumer.
    c.consumer.on(c.consumer.events.GROUP_JOIN, () => void (kafkaConnected = true));
    c.consumer.on(c.consumer.events.CRASH, () => void (kafkaConnected = false));
    await c.consumer.connect();
    await c.consumer.subscribe({ topic: c.topic, fromBeginning: false });
    await c.consumer.run({
      eachMessage: async ({ message }) => {
        try {
          const v = JSON.parse(message.value?.toString('utf8') ?? '') as { eventName?: unknown; twinId?: unknown; payload?: { callId?: unknown } };
          if (v.eventName === 'ProgramCalled' && v.twinId === init.twinId && typeof v.payload?.callId === 'number' && Number.isInteger(v.payload.callId)) {
            void submitCall(v.payload.callId, 'kafka');
          }
        } catch {
          log.warn({ offset: message.offset }, 'unreadable dt.ledger-events message skipped');
        }
      },
    });
  }

  const trigger = (reason: string): void => {
    if (stopped) return;
    void sync.sync(reason).then((r) => {
      if (r.ok && r.actions.some((a) => a.txId !== undefined)) log.info({ reason, actions: r.actions, durationMs: r.durationMs }, 'twin synchronized with the device');
    });
  };

  return {
    twinId: init.twinId,
    mspId: init.mspId,
    sync,
    executor,
    forwarder,
    journal,
    status() {
      return {
        twinId: init.twinId,
        device: {
          endpoint: init.adapter.endpoint,
          state: init.adapter.state,
          ...(init.adapter.link ? { link: init.adapter.link } : {}),
          ...(init.adapter.lastFailure ? { lastFailure: init.adapter.lastFailure } : {}),
        },
        events: { gateway: events ? events.connected : null, kafka: kafkaConnected },
        lastSync: sync.lastReport ?? null,
        syncRunning: sync.running,
        calls: executor.counts,
        stream: forwarder ? { buffered: forwarder.buffered, produced: forwarder.produced, ratePerSecond: forwarder.rate, kafkaUp: forwarder.kafkaUp } : null,
      };
    },
    ready() {
      return init.adapter.state === 'connected' && (events?.connected ?? true) && kafkaConnected !== false;
    },
    async start() {
      init.adapter.onInventoryChange(() => {
        init.metrics?.deviceConnected.set(init.adapter.state === 'connected' ? 1 : 0);
        trigger('device-change');
      });
      forwarder?.start();
      await events?.start();
      if (init.ledgerEventsConsumer) await startKafkaRelay(init.ledgerEventsConsumer);
      // Connecting triggers the first sync (the adapter reports every (re)connect as a change).
      void init.adapter.start();
      executor.catchUp().catch((err: unknown) => log.warn({ err }, 'start-up catch-up of pending program calls failed'));
      timer = setInterval(() => {
        init.metrics?.deviceConnected.set(init.adapter.state === 'connected' ? 1 : 0);
        if (init.adapter.state !== 'connected') return;
        trigger('interval');
        executor.catchUp().catch(() => undefined);
      }, init.syncIntervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await events?.stop();
      for (let i = 0; i < 200 && sync.running; i += 1) await sleep(50);
      if (init.ledgerEventsConsumer) await init.ledgerEventsConsumer.consumer.disconnect().catch(() => undefined);
      await init.adapter.stop();
      await forwarder?.stop();
    },
  };
}

// The pieces a host process (main.ts, the benchmark, an operator's own launcher) wires up.
export { createOpcUaAdapter, SECURE_POLICIES, type OpcUaAdapterInit, type OpcUaClientSecurity, type SecurePolicy } from './domain/opcua-adapter.js';
export { createEnvelopeGuard, loadEnvelope, parseEnvelope, type SafetyEnvelope } from './domain/envelope.js';
export { derivedFeedRegistrar, feedIngestRegistrar, type FeedRegistrar } from './domain/feed-registrar.js';
export { createAgentMetrics, type AgentMetrics } from './domain/metrics.js';
export type { DeviceAdapter, DeviceComponent, SensorSample } from './domain/device.js';
export type { SyncReport, DriftReport } from './domain/sync.js';
