import kafkajs from 'kafkajs';
import type { Admin, Consumer, ConsumerConfig, Kafka, Producer, logCreator as LogCreator } from 'kafkajs';
import type { Logger } from '@twinledger/observability';

export type { Admin, Consumer, Producer, Kafka, EachBatchPayload, EachMessagePayload, KafkaMessage, RecordMetadata } from 'kafkajs';

/** The organization-internal topics (ARCHITECTURE.md section 7). */
export const TOPICS = {
  readings: 'dt.readings',
  ledgerEvents: 'dt.ledger-events',
  deadLetter: 'dt.dead-letter',
} as const;

export interface KafkaInit {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** kafkajs log lines go to this logger's child, never to the console. */
  readonly logger?: Logger;
  readonly connectionTimeoutMs?: number;
}

function pinoLogCreator(logger: Logger): LogCreator {
  const log = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log: entry }) => {
      const { message, ...rest } = entry;
      if (level <= kafkajs.logLevel.ERROR) log.error(rest, message);
      else if (level === kafkajs.logLevel.WARN) log.warn(rest, message);
      else if (level === kafkajs.logLevel.INFO) log.debug(rest, message);
      else log.trace(rest, message);
    };
}

export function createKafka(init: KafkaInit): Kafka {
  return new kafkajs.Kafka({
    clientId: init.clientId,
    brokers: [...init.brokers],
    connectionTimeout: init.connectionTimeoutMs ?? 3_000,
    logLevel: init.logger ? kafkajs.logLevel.INFO : kafkajs.logLevel.NOTHING,
    ...(init.logger ? { logCreator: pinoLogCreator(init.logger) } : {}),
    retry: { initialRetryTime: 100, retries: 8 },
  });
}

/**
 * The only producer shape the platform uses: idempotent (the broker drops retried duplicates)
 * and sent with acks=all by `sendAcked`, so "acknowledged" means durably written.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
}

export interface OutgoingMessage {
  readonly key: string;
  readonly value: Buffer | string;
  readonly headers?: Record<string, string>;
}

/** Sends with acks=all; resolves only once every in-sync replica has the messages. */
export async function sendAcked(producer: Producer, topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
  await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions?: number;
}

/** Creates missing topics (auto-creation is off on our brokers, so names are never typos). */
export async function ensureTopics(admin: Admin, topics: readonly TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.partitions ?? 3, replicationFactor: 1 })),
  });
}

export function createConsumer(kafka: Kafka, config: ConsumerConfig): Consumer {
  return kafka.consumer({ sessionTimeout: 10_000, heartbeatInterval: 1_000, ...config });
}
