import { EventEmitter } from 'node:events';
import { isTwinLedgerError, TwinLedgerError } from '@twinledger/errors';
import type { DhtNode, FeedAppendResult } from '@twinledger/dht';
import { createConsumer, sendAcked, type Consumer, type EachBatchPayload, type Kafka, type Producer } from '@twinledger/kafka';
import type { Logger } from '@twinledger/observability';
import { decodeReadingsMessage, decodeSegment, encodeSegment, ReadingValidationError, type Reading } from '@twinledger/readings';
import { checkReadingFits, outOfRange, type FeedRegistry, type FeedRecord } from './feed-registry.js';
import type { FeedMetrics } from './metrics.js';

/**
 * The consumer group that turns `dt.readings` into DHT feed segments.
 *
 * Exactly-once into the DHT, without a transaction per reading:
 * - each segment records the Kafka partition and offset range it covers (segment `meta`);
 * - offsets are committed only up to the first message of the oldest segment not yet
 *   acknowledged by the DHT, so after a crash everything not in the DHT is redelivered;
 * - on (re)assignment the builder reads each feed's head and latest segment from the DHT: the
 *   next index is head + 1 and redelivered messages at or below the latest segment's last
 *   offset are skipped (they are in the feed already). Indices stay contiguous (no gaps) and
 *   no message lands twice (no duplicates), whatever the flush timing was before the crash.
 * Memory is bounded: above `maxBufferedReadings` the consumer pauses until appends drain.
 */
export interface SegmentBuilderInit {
  readonly topic: string;
  readonly deadLetterTopic: string;
  readonly groupId: string;
  /** Flush a feed's open segment at this many readings. */
  readonly maxSegmentReadings: number;
  /** Flush a feed's open segment once its first reading has waited this long. */
  readonly maxSegmentAgeMs: number;
  /** Open plus in-flight readings above which the consumer pauses. */
  readonly maxBufferedReadings: number;
  /** First retry delay of a failed DHT append (doubles up to 5 s). */
  readonly appendRetryMs?: number;
  /** Observe the sharing latency of every n-th reading (histogram cost at high rates). */
  readonly latencySampleEvery?: number;
  /** Segments of one feed being appended at once (the DHT orders their heads); default 4. */
  readonly appendsInFlightPerFeed?: number;
  /** Kafka fetch: bytes the broker gathers before answering (default 1), at most fetchMaxWaitMs (default 5000). */
  readonly fetchMinBytes?: number;
  readonly fetchMaxWaitMs?: number;
}

export interface SegmentBuilderComponents {
  readonly kafka: Kafka;
  readonly producer: Producer;
  readonly dht: DhtNode;
  readonly registry: FeedRegistry;
  readonly ownerKey: Uint8Array;
  readonly logger: Logger;
  readonly metrics: FeedMetrics;
}

export interface AppendedSegment {
  readonly feedId: string;
  readonly index: number;
  readonly readings: readonly Reading[];
}

export interface AnomalyEvent {
  readonly feedId: string;
  readonly twinId: string;
  readonly componentId: string;
  readonly ts: number;
  readonly value: number;
  readonly name: string;
  readonly expectedRange: { min: number; max: number };
}

export interface SegmentBuilder {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Emits 'appended' (AppendedSegment) and 'anomaly' (AnomalyEvent). */
  readonly events: EventEmitter;
  /** True while the last DHT append attempt failed. */
  dhtFailing(): boolean;
  isRunning(): boolean;
  bufferedReadings(): number;
  /** True while this instance appends to the feed (it appended since its last group join). */
  writesFeed(feedId: string): boolean;
}

interface OpenSegment {
  readonly feed: FeedRecord;
  readonly partition: number;
  readings: Reading[];
  /** Offset of each message in the segment and where its readings start (for trimming). */
  offsets: bigint[];
  starts: number[];
  readonly openedAt: number;
  /** When the segment was handed to the DHT (for the append-duration metric). */
  flushedAt?: number;
}

interface PartitionState {
  readonly open: Map<string, OpenSegment>;
  readonly inflight: Set<OpenSegment>;
  resolved: bigint;
  committed: bigint;
  committing: Promise<void>;
}

interface FeedState {
  /** Next index to give a segment (pipelined: segments in flight hold the ones below). */
  nextIndex: number;
  /** Last Kafka offset given to a segment, or already in the DHT feed (-1 when none). */
  lastOffset: bigint;
  /** Settles segments in index order. */
  chain: Promise<void>;
  /** Segments flushed and not yet settled. */
  pending: number;
  /** After a failed append: segments are prepared one at a time, from what the DHT holds. */
  recovering: boolean;
}

/** A segment with its index and encoded payload, as sent to the DHT. */
interface PreparedSegment {
  readonly index: number;
  readonly payload: Uint8Array;
  readonly range: { start: number; end: number };
  readonly lastOffset: bigint;
  /** The feed's lastOffset before this segment (to give the same index and payload again). */
  readonly prevOffset: bigint;
}

export function createSegmentBuilder(init: Readonly<SegmentBuilderInit>, c: SegmentBuilderComponents): SegmentBuilder {
  const log = c.logger.child({ component: 'segment-builder' });
  const events = new EventEmitter();
  events.setMaxListeners(1000);
  const drained = new EventEmitter();
  const partitions = new Map<number, PartitionState>();
  const feedStates = new Map<string, Promise<FeedState>>();
  /** Segments queued or being appended, per feed. */
  const inflightPerFeed = new Map<string, number>();
  /** Feeds this instance appended to since it last joined the group (their streams are pushed). */
  const localFeeds = new Set<string>();
  const retryBase = init.appendRetryMs ?? 200;
  const sampleEvery = Math.max(1, init.latencySampleEvery ?? 1);
  const perFeed = Math.max(1, init.appendsInFlightPerFeed ?? 4);
  let consumer: Consumer | undefined;
  let buffered = 0;
  let failing = false;
  let running = false;
  let resetPending = false;
  let timer: NodeJS.Timeout | undefined;
  let sampleCounter = 0;

  const setBuffered = (delta: number): void => {
    buffered += delta;
    c.metrics.bufferedReadings.set(buffered);
    if (delta < 0) drained.emit('drain');
  };

  function partitionState(p: number): PartitionState {
    let s = partitions.get(p);
    if (!s) partitions.set(p, (s = { open: new Map(), inflight: new Set(), resolved: -1n, committed: -1n, committing: Promise.resolve() }));
    return s;
  }

  function writer(feed: FeedRecord) {
    return { topic: feed.topic, ownerKey: c.ownerKey, objectId: feed.objectId };
  }

  /** Where the feed stands in the DHT: next index and the last Kafka offset it holds. */
  async function loadFeedState(feed: FeedRecord): Promise<FeedState> {
    for (let attempt = 0; ; attempt++) {
      try {
        const latest = await c.dht.latest(feed.feedId);
        if (latest === undefined) return { nextIndex: 0, lastOffset: -1n, chain: Promise.resolve(), pending: 0, recovering: false };
        const meta = decodeSegment(latest.payload).header.meta;
        return { nextIndex: latest.index + 1, lastOffset: BigInt(String(meta['lastOffset'] ?? '-1')), chain: Promise.resolve(), pending: 0, recovering: false };
      } catch (err) {
        failing = true;
        c.metrics.appendFailures.inc({ code: codeOf(err) });
        log.warn({ err, feedId: feed.feedId, attempt }, 'reading the feed head from the DHT failed; retrying');
        await sleep(Math.min(5000, retryBase * 2 ** attempt));
        if (!running) throw err;
      }
    }
  }

  function feedState(feed: FeedRecord): Promise<FeedState> {
    let s = feedStates.get(feed.feedId);
    if (!s) {
      s = loadFeedState(feed);
      feedStates.set(feed.feedId, s);
      s.catch(() => feedStates.delete(feed.feedId));
    }
    return s;
  }

  async function deadLetter(message: { key: Buffer | null; value: Buffer | null; offset: string }, partition: number, reason: string, detail: string): Promise<void> {
    // Awaited with acks=all before the offset moves on: a poison message is parked, never dropped.
    await sendAcked(c.producer, init.deadLetterTopic, [
      {
        key: message.key?.toString('utf8') ?? '',
        value: message.value ?? Buffer.alloc(0),
        headers: { reason, detail: detail.slice(0, 500), 'source-topic': init.topic, 'source-partition': String(partition), 'source-offset': message.offset, service: 'feed-ingest' },
      },
    ]);
    c.metrics.deadLetters.inc({ reason });
    log.warn({ reason, partition, offset: message.offset }, 'message sent to the dead-letter topic');
  }

  function flush(seg: OpenSegment): void {
    const ps = partitionState(seg.partition);
    seg.flushedAt = Date.now();
    ps.open.delete(seg.feed.feedId);
    ps.inflight.add(seg);
    inflightPerFeed.set(seg.feed.feedId, (inflightPerFeed.get(seg.feed.feedId) ?? 0) + 1);
    void feedState(seg.feed).then((state) => {
      state.pending++;
      // Pipelined: the segment gets its index now and its append starts at once; the DHT writes
      // update records and heads in index order. While recovering, it waits its turn instead.
      let first: { prepared: PreparedSegment; append: Promise<FeedAppendResult> } | undefined;
      if (!state.recovering) {
        const prepared = prepare(seg, state);
        if (prepared) first = { prepared, append: c.dht.appendFeed(writer(seg.feed), prepared.index, prepared.payload, prepared.range) };
        first?.append.catch(() => undefined); // settled in order below
      }
      state.chain = state.chain.then(() => settle(seg, state, ps, first));
    });
  }

  /**
   * Drops what the DHT already holds (a redelivery overlapping an appended segment), then gives
   * the segment the feed's next index and encodes it. Undefined when nothing new is left.
   */
  function prepare(seg: OpenSegment, state: FeedState): PreparedSegment | undefined {
    const firstNew = seg.offsets.findIndex((o) => o > state.lastOffset);
    if (firstNew === -1) {
      c.metrics.readingsSkippedReplay.inc(seg.readings.length);
      setBuffered(-seg.readings.length);
      seg.readings = [];
      seg.offsets = [];
      seg.starts = [];
      return undefined;
    }
    if (firstNew > 0) {
      const cut = seg.starts[firstNew]!;
      c.metrics.readingsSkippedReplay.inc(cut);
      setBuffered(-cut);
      seg.readings = seg.readings.slice(cut);
      seg.offsets = seg.offsets.slice(firstNew);
      seg.starts = seg.starts.slice(firstNew).map((s) => s - cut);
    }
    const lastOffset = seg.offsets[seg.offsets.length - 1]!;
    let start = Infinity;
    let end = -Infinity;
    for (const r of seg.readings) {
      if (r.ts < start) start = r.ts;
      if (r.ts > end) end = r.ts;
    }
    // Index and offsets derive from the feed's state only, so a replay of the same messages
    // from the same state encodes the same bytes (the DHT then answers it as a duplicate).
    const meta = { feedId: seg.feed.feedId, partition: seg.partition, firstOffset: String(seg.offsets[0]), lastOffset: String(lastOffset) };
    const prepared = { index: state.nextIndex, payload: encodeSegment(seg.readings, meta), range: { start, end }, lastOffset, prevOffset: state.lastOffset };
    state.nextIndex++;
    state.lastOffset = lastOffset;
    return prepared;
  }

  /** Waits for the segment's append (retrying it in recovery mode); called in index order per feed. */
  async function settle(seg: OpenSegment, state: FeedState, ps: PartitionState, first: { prepared: PreparedSegment; append: Promise<FeedAppendResult> } | undefined): Promise<void> {
    let current = first;
    for (let attempt = 0; running || attempt === 0; attempt++) {
      if (current === undefined) {
        const prepared = prepare(seg, state);
        if (prepared === undefined) break;
        current = { prepared, append: c.dht.appendFeed(writer(seg.feed), prepared.index, prepared.payload, prepared.range) };
      }
      const { prepared } = current;
      try {
        const res = await current.append;
        failing = false;
        if (state.recovering) {
          state.nextIndex = res.index + 1;
          state.lastOffset = prepared.lastOffset;
        }
        const now = Date.now();
        c.metrics.appendDuration.observe((now - (seg.flushedAt ?? now)) / 1000);
        for (let i = 0; i < seg.readings.length; i++) {
          if (++sampleCounter % sampleEvery === 0) c.metrics.sharingLatency.observe(Math.max(0, now - seg.readings[i]!.ts) / 1000);
        }
        c.metrics.readingsAppended.inc(seg.readings.length);
        c.metrics.segmentReadings.observe(seg.readings.length);
        c.metrics.segmentBytes.observe(prepared.payload.length);
        localFeeds.add(seg.feed.feedId);
        events.emit('appended', { feedId: seg.feed.feedId, index: res.index, readings: seg.readings } satisfies AppendedSegment);
        break;
      } catch (err) {
        failing = true;
        state.recovering = true;
        const code = codeOf(err);
        c.metrics.appendFailures.inc({ code });
        log.warn({ err, feedId: seg.feed.feedId, index: prepared.index, attempt }, 'DHT append failed; retrying');
        if (code === 'DHT_FEED_REPLAY' || code === 'DHT_FEED_INDEX_GAP') {
          // Someone (a previous instance, or a failed predecessor) moved the feed elsewhere: re-read where it stands.
          const fresh = await loadFeedState(seg.feed);
          state.nextIndex = fresh.nextIndex;
          state.lastOffset = fresh.lastOffset;
        } else {
          // Same index and payload again (segments after this one wait for it).
          state.nextIndex = prepared.index;
          state.lastOffset = prepared.prevOffset;
        }
        current = undefined;
        await sleep(Math.min(5000, retryBase * 2 ** Math.min(attempt, 5)));
      }
    }
    if (--state.pending === 0) state.recovering = false;
    ps.inflight.delete(seg);
    const left = (inflightPerFeed.get(seg.feed.feedId) ?? 1) - 1;
    if (left > 0) inflightPerFeed.set(seg.feed.feedId, left);
    else inflightPerFeed.delete(seg.feed.feedId);
    setBuffered(-seg.readings.length);
    // The feed's next segment may have waited for a free append slot: send it now if it is due.
    const waiting = ps.open.get(seg.feed.feedId);
    if (left < perFeed && waiting && Date.now() - waiting.openedAt >= init.maxSegmentAgeMs) flush(waiting);
    // Not awaited: the feed's next segment settles without waiting for a broker round trip.
    // Commits are chained in order and each carries the safe offset of its moment; stop()
    // waits for the last one.
    void commit(ps, seg.partition);
  }

  /** Commits up to the first message not yet in the DHT (kafkajs wants the next offset to read). */
  function commit(ps: PartitionState, partition: number): Promise<void> {
    if (ps.resolved < 0n) return ps.committing;
    let safe = ps.resolved + 1n;
    for (const seg of [...ps.open.values(), ...ps.inflight]) if (seg.offsets[0]! < safe) safe = seg.offsets[0]!;
    if (safe <= ps.committed || !consumer) return ps.committing;
    ps.committed = safe;
    const cons = consumer;
    ps.committing = ps.committing
      .then(() => cons.commitOffsets([{ topic: init.topic, partition, offset: String(safe) }]))
      .catch((err: unknown) => {
        // The next commit carries a higher offset; a lost commit only means a longer (skipped) replay.
        log.warn({ err, partition }, 'offset commit failed');
        ps.committed = -1n;
      });
    return ps.committing;
  }

  async function handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (resetPending) {
      resetPending = false;
      while ([...partitions.values()].some((ps) => ps.inflight.size > 0)) await sleep(20);
      for (const ps of partitions.values()) for (const seg of ps.open.values()) setBuffered(-seg.readings.length);
      partitions.clear();
      feedStates.clear();
      inflightPerFeed.clear();
    }
    const ps = partitionState(batch.partition);
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      const offset = BigInt(message.offset);
      let readings: Reading[];
      let feed: FeedRecord | undefined;
      try {
        readings = decodeReadingsMessage(message.key, message.value);
        feed = c.registry.get(readings[0]!.feed);
        if (!feed) {
          await deadLetter(message, batch.partition, 'UNKNOWN_FEED', 'no feed with this id is registered');
        } else {
          for (let i = 0; i < readings.length; i++) checkReadingFits(feed, readings[i]!, i);
        }
      } catch (err) {
        if (!(err instanceof ReadingValidationError) && !(isTwinLedgerError(err) && err.httpStatus < 500)) throw err;
        const reason = err instanceof ReadingValidationError ? err.reason : (err as TwinLedgerError).code;
        await deadLetter(message, batch.partition, reason, (err as Error).message);
        feed = undefined;
        readings = [];
      }
      if (feed) {
        const state = await feedState(feed);
        if (offset <= state.lastOffset) {
          c.metrics.readingsSkippedReplay.inc(readings.length);
        } else {
          for (const r of readings) {
            const bad = outOfRange(feed, r);
            for (const b of bad) {
              c.metrics.anomalies.inc({ feed: feed.feedId.slice(0, 16) });
              events.emit('anomaly', { feedId: feed.feedId, twinId: feed.twinId, componentId: feed.componentId, ts: r.ts, value: b.value, name: b.name, expectedRange: feed.expectedRange } satisfies AnomalyEvent);
            }
          }
          let seg = ps.open.get(feed.feedId);
          if (!seg) {
            seg = { feed, partition: batch.partition, readings: [], offsets: [], starts: [], openedAt: Date.now() };
            ps.open.set(feed.feedId, seg);
          }
          seg.offsets.push(offset);
          seg.starts.push(seg.readings.length);
          for (const r of readings) seg.readings.push(r);
          setBuffered(readings.length);
          c.metrics.consumeDelay.observe(Math.max(0, Date.now() - readings[0]!.ts) / 1000);
          if (seg.readings.length >= init.maxSegmentReadings) flush(seg);
        }
      }
      resolveOffset(message.offset);
      ps.resolved = offset;
      if (buffered > init.maxBufferedReadings) await backpressure(heartbeat, isRunning);
    }
    // Not awaited either: the next fetch need not wait for this commit (see settle).
    void commit(ps, batch.partition);
    await heartbeat();
  }

  async function backpressure(heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<void> {
    c.metrics.consumerPaused.set(1);
    consumer?.pause([{ topic: init.topic }]);
    log.debug({ buffered }, 'consumer paused: DHT appends behind');
    try {
      while (buffered > init.maxBufferedReadings && isRunning() && running) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          drained.once('drain', () => {
            clearTimeout(t);
            resolve();
          });
        });
        await heartbeat().catch(() => undefined);
      }
    } finally {
      consumer?.resume([{ topic: init.topic }]);
      c.metrics.consumerPaused.set(0);
    }
  }

  function flushAged(): void {
    const now = Date.now();
    for (const ps of partitions.values()) {
      // Adaptive batching: while all of a feed's append slots are busy, its open segment keeps
      // growing (up to the size bound) instead of queueing many small ones, so a slow DHT gets
      // fewer, larger appends and the throughput follows the load.
      for (const seg of [...ps.open.values()]) {
        if (now - seg.openedAt >= init.maxSegmentAgeMs && (inflightPerFeed.get(seg.feed.feedId) ?? 0) < perFeed) flush(seg);
      }
    }
  }

  return {
    events,
    dhtFailing: () => failing,
    isRunning: () => running,
    bufferedReadings: () => buffered,
    writesFeed: (feedId) => localFeeds.has(feedId),
    async start() {
      running = true;
      consumer = createConsumer(c.kafka, {
        groupId: init.groupId,
        maxBytes: 4 * 1024 * 1024,
        maxBytesPerPartition: 1024 * 1024,
        // A fetch waits for this much data or this long: under a steady stream, a few larger
        // fetches instead of one per arriving record (each costs the broker and this loop).
        minBytes: init.fetchMinBytes ?? 1,
        maxWaitTimeInMs: init.fetchMaxWaitMs ?? 5000,
      });
      consumer.on(consumer.events.GROUP_JOIN, () => {
        // After a rebalance kafkajs refetches from the committed offsets: rebuild from there.
        resetPending = true;
        localFeeds.clear();
      });
      await consumer.connect();
      await consumer.subscribe({ topic: init.topic, fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch: handleBatch });
      timer = setInterval(flushAged, Math.max(10, Math.floor(init.maxSegmentAgeMs / 4)));
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      // Flush what is open so a clean shutdown leaves nothing to replay, then let appends finish.
      for (const ps of partitions.values()) for (const seg of [...ps.open.values()]) flush(seg);
      const deadline = Date.now() + 10_000;
      while ([...partitions.values()].some((ps) => ps.inflight.size > 0) && Date.now() < deadline) await sleep(20);
      running = false;
      for (const ps of partitions.values()) await ps.committing;
      await consumer?.disconnect();
      consumer = undefined;
    },
  };
}

function codeOf(err: unknown): string {
  return err instanceof TwinLedgerError ? err.code : 'INTERNAL';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
