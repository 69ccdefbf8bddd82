import { sendAcked, type Producer } from '@twinledger/kafka';
import type { Logger } from '@twinledger/observability';
import { encodeReadingsMessages, validateReading, type Reading } from '@twinledger/readings';
import type { SensorSample } from './device.js';
import type { FeedMap } from './sync.js';
import type { AgentMetrics } from './metrics.js';

export interface ReadingForwarderInit {
  readonly producer: Producer;
  readonly topic: string;
  readonly logger: Logger;
  readonly metrics?: AgentMetrics;
  /** Per-device ceiling (token bucket, burst = one second's worth). */
  readonly maxReadingsPerSecond: number;
  /** Readings held while Kafka is down; beyond it the oldest are dropped. */
  readonly maxBuffered: number;
  readonly flushIntervalMs?: number;
  readonly readingsPerMessage?: number;
}

export interface ReadingForwarder {
  /** The feeds of the device's sensors (from the last sync). */
  setFeeds(feeds: FeedMap): void;
  /** One sample from the device; returns false when it was not accepted. */
  accept(sample: SensorSample): boolean;
  readonly buffered: number;
  readonly produced: number;
  /** Readings per second acknowledged by Kafka over the last 10 s. */
  readonly rate: number;
  readonly kafkaUp: boolean;
  start(): void;
  /** Flushes what it can (bounded by `timeoutMs`) and stops. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Sensor samples -> `dt.readings` (key = feed ID, value = a batch of readings of that feed, the
 * format of @twinledger/readings), sent with acks=all by an idempotent producer. Kafka being
 * down never blocks the device side: readings wait in a bounded buffer and are sent in order
 * once the broker is back.
 */
export function createReadingForwarder(init: ReadingForwarderInit): ReadingForwarder {
  const log = init.logger.child({ component: 'reading-forwarder' });
  const flushMs = init.flushIntervalMs ?? 100;
  let feeds: FeedMap = new Map();
  let buffer: Reading[] = [];
  let tokens = init.maxReadingsPerSecond;
  let lastRefill = Date.now();
  let produced = 0;
  let kafkaUp = true;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  let backoffUntil = 0;
  let backoffMs = flushMs;
  const window: { at: number; n: number }[] = [];

  const drop = (reason: string, n = 1): void => void init.metrics?.readingsDropped.inc({ reason }, n);

  async function flush(): Promise<void> {
    if (buffer.length === 0 || Date.now() < backoffUntil) return;
    const batch = buffer.slice(0, 5_000);
    try {
      await sendAcked(init.producer, init.topic, encodeReadingsMessages(batch, init.readingsPerMessage ?? 500));
      // Only now leave the buffer: a failed send keeps them, in order, for the next attempt.
      buffer = buffer.slice(batch.length);
      produced += batch.length;
      window.push({ at: Date.now(), n: batch.length });
      init.metrics?.readingsProduced.inc(batch.length);
      if (!kafkaUp) log.info({ buffered: buffer.length }, 'Kafka reachable again; sending the buffered readings');
      kafkaUp = true;
      backoffMs = flushMs;
    } catch (err) {
      if (kafkaUp) log.warn({ err: err instanceof Error ? err.message : String(err), buffered: buffer.length }, 'Kafka unavailable; buffering readings');
      kafkaUp = false;
      backoffUntil = Date.now() + backoffMs;
      backoffMs = Math.min(backoffMs * 2, 5_000);
    } finally {
      init.metrics?.kafkaUp.set(kafkaUp ? 1 : 0);
      init.metrics?.readingsBuffered.set(buffer.length);
    }
  }

  function rate(): number {
    const cutoff = Date.now() - 10_000;
    while (window.length > 0 && window[0]!.at < cutoff) window.shift();
    return window.reduce((a, w) => a + w.n, 0) / 10;
  }

  return {
    setFeeds(next) {
      feeds = next;
    },
    accept(sample) {
      const feed = feeds.get(sample.componentId);
      if (!feed) {
        drop('no_feed');
        return false;
      }
      if (!sample.good) {
        drop('bad_value');
        return false;
      }
      const now = Date.now();
      tokens = Math.min(init.maxReadingsPerSecond, tokens + ((now - lastRefill) / 1000) * init.maxReadingsPerSecond);
      lastRefill = now;
      if (tokens < 1) {
        drop('rate_limited');
        return false;
      }
      tokens -= 1;
      let reading: Reading;
      try {
        reading = validateReading({ feed: feed.feedRef, component: sample.componentId, ts: Math.trunc(sample.ts), v: sample.value, u: feed.unit });
      } catch {
        drop('bad_value');
        return false;
      }
      buffer.push(reading);
      if (buffer.length > init.maxBuffered) {
        const excess = buffer.length - init.maxBuffered;
        buffer = buffer.slice(excess);
        drop('buffer_full', excess);
      }
      init.metrics?.readingsBuffered.set(buffer.length);
      return true;
    },
    get buffered() {
      return buffer.length;
    },
    get produced() {
      return produced;
    },
    get rate() {
      return rate();
    },
    get kafkaUp() {
      return kafkaUp;
    },
    start() {
      if (timer) return;
      timer = setInterval(() => {
        init.metrics?.streamRate.set(rate());
        if (flushing) return;
        flushing = flush().finally(() => (flushing = undefined));
      }, flushMs);
      timer.unref();
    },
    async stop(timeoutMs = 5_000) {
      if (timer) clearInterval(timer);
      timer = undefined;
      await flushing;
      const end = Date.now() + timeoutMs;
      backoffUntil = 0;
      while (buffer.length > 0 && Date.now() < end) {
        await flush();
        if (!kafkaUp) break;
      }
    },
  };
}
