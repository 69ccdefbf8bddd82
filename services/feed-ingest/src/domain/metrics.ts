import { Counter, Gauge, Histogram, type Registry } from '@twinledger/observability';

export interface FeedMetrics {
  readonly readingsAccepted: Counter<'source'>;
  readonly readingsAppended: Counter;
  readonly readingsSkippedReplay: Counter;
  readonly sharingLatency: Histogram;
  readonly consumeDelay: Histogram;
  readonly appendDuration: Histogram;
  readonly consumerLag: Gauge;
  readonly segmentReadings: Histogram;
  readonly segmentBytes: Histogram;
  readonly deadLetters: Counter<'reason'>;
  readonly anomalies: Counter<'feed'>;
  readonly appendFailures: Counter<'code'>;
  readonly bufferedReadings: Gauge;
  readonly consumerPaused: Gauge;
  readonly ingestRejected: Counter<'reason'>;
}

export interface FeedAnchorMetrics {
  readonly anchors: Counter<'outcome'>;
  readonly anchoredUpdates: Counter;
}

/** Anchor transactions by outcome (committed, retip: the ledger's tip had moved, failed) and the updates they cover. */
export function createFeedAnchorMetrics(registry: Registry): FeedAnchorMetrics {
  const p = 'twinledger_feed_ingest_';
  const registers = [registry];
  return {
    anchors: new Counter({ name: `${p}anchors_total`, help: 'Feed anchor transactions submitted, by outcome', labelNames: ['outcome'], registers }),
    anchoredUpdates: new Counter({ name: `${p}anchored_updates_total`, help: 'Feed update records covered by committed anchors', registers }),
  };
}

export function createFeedMetrics(registry: Registry): FeedMetrics {
  const p = 'twinledger_feed_ingest_';
  const registers = [registry];
  return {
    readingsAccepted: new Counter({ name: `${p}readings_accepted_total`, help: 'Readings acknowledged by Kafka through this service', labelNames: ['source'], registers }),
    readingsAppended: new Counter({ name: `${p}readings_appended_total`, help: 'Readings appended to DHT feeds (ingest rate)', registers }),
    readingsSkippedReplay: new Counter({ name: `${p}readings_replay_skipped_total`, help: 'Redelivered readings already in the DHT feed', registers }),
    sharingLatency: new Histogram({
      name: `${p}sharing_latency_seconds`,
      help: 'Device timestamp to segment acknowledged by the DHT replicas (readable by other organizations), per reading, sampled',
      buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30],
      registers,
    }),
    // The two stages of the sharing latency an operator can act on: Kafka (broker, consumer lag)
    // and the DHT append (replicas, network); the rest is the segment's age at flush.
    consumeDelay: new Histogram({
      name: `${p}consume_delay_seconds`,
      help: 'Device timestamp to the reading being consumed from dt.readings, first reading of each message',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    appendDuration: new Histogram({
      name: `${p}append_duration_seconds`,
      help: 'Segment flushed to its DHT append acknowledged (object on r replicas, update record, head)',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    }),
    consumerLag: new Gauge({ name: `${p}consumer_lag_messages`, help: 'dt.readings messages not yet committed (not yet in the DHT)', registers }),
    segmentReadings: new Histogram({ name: `${p}segment_readings`, help: 'Readings per appended segment', buckets: [1, 10, 100, 1000, 5000, 10000, 50000], registers }),
    segmentBytes: new Histogram({ name: `${p}segment_bytes`, help: 'Encoded segment size', buckets: [256, 4096, 65536, 262144, 1048576, 4194304], registers }),
    deadLetters: new Counter({ name: `${p}dead_letters_total`, help: 'Messages sent to dt.dead-letter', labelNames: ['reason'], registers }),
    anomalies: new Counter({ name: `${p}anomalies_total`, help: 'Readings outside the expected range of their sensor', labelNames: ['feed'], registers }),
    appendFailures: new Counter({ name: `${p}append_failures_total`, help: 'Failed DHT append attempts (retried)', labelNames: ['code'], registers }),
    bufferedReadings: new Gauge({ name: `${p}buffered_readings`, help: 'Readings held in memory (open plus in-flight segments)', registers }),
    consumerPaused: new Gauge({ name: `${p}consumer_paused`, help: '1 while the consumer is paused for backpressure', registers }),
    ingestRejected: new Counter({ name: `${p}ingest_rejected_total`, help: 'REST ingest requests refused', labelNames: ['reason'], registers }),
  };
}
