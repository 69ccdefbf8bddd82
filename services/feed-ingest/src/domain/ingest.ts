import { sendAcked, type Admin, type Producer } from '@twinledger/kafka';
import type { Logger } from '@twinledger/observability';
import { encodeReadingsMessages, type Reading } from '@twinledger/readings';
import { BacklogFullError, BrokerUnavailableError, PartialBatchError } from './errors.js';
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
  /**
   * Validates against registrations, produces with acks=all; resolves once Kafka acknowledged
   * every reading. When only some were acknowledged it throws PartialBatchError naming which.
   */
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
      const { acked, failed, firstError } = await produceByFeed(c.producer, init.topic, readings, init.readingsPerMessage);
      if (acked.length > 0) c.metrics.readingsAccepted.inc({ source: 'rest' }, acked.length);
      if (failed.length > 0) {
        c.metrics.ingestRejected.inc({ reason: 'broker' });
        if (acked.length === 0) {
          throw new BrokerUnavailableError('Kafka did not acknowledge the readings; nothing was accepted', { cause: firstError, retryAfterSeconds: init.retryAfterSeconds });
        }
        log.warn({ err: firstError, acknowledged: acked.length, notAcknowledged: failed.length }, 'Kafka acknowledged part of a batch');
        throw new PartialBatchError('Kafka acknowledged only part of the batch; retry only the readings listed as notAcknowledged', {
          cause: firstError,
          retryAfterSeconds: init.retryAfterSeconds,
          details: { accepted: acked.length, acknowledged: toRanges(acked), notAcknowledged: toRanges(failed) },
        });
      }
      return readings.length;
    },
  };
}

/**
 * Produces a batch so that what Kafka acknowledged is known exactly. One send is one record on
 * one partition, so it is written whole or not at all; a send spanning records (or partitions)
 * can fail after some of them were written without saying which. Each feed's records go in
 * order, one at a time, and stop at the first failure: a feed's acknowledged readings are a
 * prefix of its readings in the request, so a retry of the rest keeps the feed in time order.
 * Feeds go concurrently. Positions are the readings' positions in the request.
 */
async function produceByFeed(producer: Producer, topic: string, readings: readonly Reading[], perMessage: number): Promise<{ acked: number[]; failed: number[]; firstError: unknown }> {
  const byFeed = new Map<string, number[]>();
  for (let i = 0; i < readings.length; i++) {
    const feed = readings[i]!.feed;
    let list = byFeed.get(feed);
    if (!list) byFeed.set(feed, (list = []));
    list.push(i);
  }
  const acked: number[] = [];
  const failed: number[] = [];
  let firstError: unknown;
  await Promise.all(
    [...byFeed.values()].map(async (positions) => {
      for (let from = 0; from < positions.length; from += perMessage) {
        const part = positions.slice(from, from + perMessage);
        try {
          await sendAcked(producer, topic, encodeReadingsMessages(part.map((i) => readings[i]!), perMessage));
        } catch (err) {
          firstError ??= err;
          for (const i of positions.slice(from)) failed.push(i);
          return;
        }
        for (const i of part) acked.push(i);
      }
    }),
  );
  acked.sort((a, b) => a - b);
  failed.sort((a, b) => a - b);
  return { acked, failed, firstError };
}

/** Sorted positions as inclusive [from, to] ranges. */
export function toRanges(sorted: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === i - 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}
