import { sendAcked, type Admin, type Producer } from '@twinledger/kafka';
import type { Logger } from '@twinledger/observability';
import { encodeReadingsMessages, type Reading } from '@twinledger/readings';
import { BacklogFullError, BrokerUnavailableError } from './errors.js';
import { checkReadingFits, type FeedRegistry } from './feed-registry.js';
import type { FeedMetrics } from './metrics.js';

export interface IngestInit {
  readonly topic: string;
  readonly groupId: string;
  /** Uncommitted dt.readings messages above which REST ingest answers 503. */
  readonly maxBacklogMessages: number;
  /** Readings per Kafka record. */
  readonly readingsPerMessage: number;
  /** Lag refresh period. */
  readonly lagIntervalMs: number;
  readonly retryAfterSeconds: number;
}

export interface Ingest {
  /** Validates against registrations, produces with acks=all; resolves once Kafka acknowledged. */
  accept(readings: readonly Reading[]): Promise<number>;
  /** Consumer lag in messages (last measurement). */
  lag(): number;
  start(): void;
  stop(): void;
}

/**
 * The REST ingest path. The gate is the consumer lag: the backlog that is in Kafka but not yet
 * in the DHT. While the DHT is slow the consumer pauses and the lag grows; once it passes the
 * bound, new batches are refused with 503 + Retry-After before anything is produced, so the
 * backlog (on the broker's disk, not in our memory) stays bounded and nothing is dropped.
 */
export function createIngest(init: IngestInit, c: { producer: Producer; admin: Admin; registry: FeedRegistry; metrics: FeedMetrics; logger: Logger }): Ingest {
  const log = c.logger.child({ component: 'ingest' });
  let lag = 0;
  let timer: NodeJS.Timeout | undefined;
  let measuring = false;

  async function measure(): Promise<void> {
    if (measuring) return;
    measuring = true;
    try {
      const [ends, committed] = await Promise.all([c.admin.fetchTopicOffsets(init.topic), c.admin.fetchOffsets({ groupId: init.groupId, topics: [init.topic] })]);
      const done = new Map<number, number>();
      for (const t of committed) for (const p of t.partitions) done.set(p.partition, Number(p.offset));
      let total = 0;
      for (const p of ends) {
        const c0 = done.get(p.partition) ?? -1;
        total += Math.max(0, Number(p.high) - (c0 < 0 ? Number(p.low) : c0));
      }
      lag = total;
      c.metrics.consumerLag.set(total);
    } catch (err) {
      log.debug({ err }, 'lag measurement failed');
    } finally {
      measuring = false;
    }
  }

  return {
    lag: () => lag,
    start() {
      void measure();
      timer = setInterval(() => void measure(), init.lagIntervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
    async accept(readings) {
      for (let i = 0; i < readings.length; i++) checkReadingFits(c.registry.require(readings[i]!.feed), readings[i]!, i);
      if (lag >= init.maxBacklogMessages) {
        c.metrics.ingestRejected.inc({ reason: 'backlog' });
        throw new BacklogFullError('the ingest backlog is full (the DHT is behind); retry later', { retryAfterSeconds: init.retryAfterSeconds, details: { lag, bound: init.maxBacklogMessages } });
      }
      try {
        await sendAcked(c.producer, init.topic, encodeReadingsMessages(readings, init.readingsPerMessage));
      } catch (err) {
        c.metrics.ingestRejected.inc({ reason: 'broker' });
        throw new BrokerUnavailableError('Kafka did not acknowledge the readings; nothing was accepted', { cause: err, retryAfterSeconds: init.retryAfterSeconds });
      }
      c.metrics.readingsAccepted.inc({ source: 'rest' }, readings.length);
      return readings.length;
    },
  };
}
