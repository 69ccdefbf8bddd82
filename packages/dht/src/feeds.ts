import type { Logger } from '@twinledger/observability';
import { mapBounded } from './bounded.js';
import { ValidationError } from '@twinledger/errors';
import { normalizeParties, signAclRecord, type AclRecord } from './acl-record.js';
import { random, sha256, toHex, type Hex } from './codec.js';
import { AclDeniedError, FeedIndexGapError, FeedReplayError, ItemNotFoundError, MalformedMessageError, NotOwnerError } from './errors.js';
import { feedIdOf, feedUpdateAddress, parseFeedHead, parseFeedUpdate, signFeedHead, signFeedUpdate, type FeedHead, type FeedUpdate } from './feed-records.js';
import { signLocator } from './locator.js';
import type { DhtMetrics } from './metrics.js';
import type { ObjectService } from './objects.js';
import type { ReplicaClient } from './replica-client.js';
import { signingKeyFromSeed, type SigningKey } from './signing.js';

/**
 * Swarm-style feeds on top of objects: each update's segment is an encrypted object under the
 * feed's ACL (one object id per feed), the signed update record sits at H(feedId || index),
 * the signed head at the feed id. Indices are contiguous from 0 and time ranges are assumed
 * to grow with the index (what the range-by-time search relies on).
 */
export interface CreateFeedOptions {
  /** Topic (twin + component), 1..256 characters. */
  readonly topic: string;
  /** The feed owner's Ed25519 seed (the device key). */
  readonly ownerKey: Uint8Array;
  /** MSP ids allowed to read the segments. */
  readonly acl: readonly string[];
}

/** What a writer needs to append: the feed's topic and object id plus the owner seed. */
export interface FeedWriter {
  readonly topic: string;
  readonly ownerKey: Uint8Array;
  readonly objectId: Hex;
}

export interface FeedInfo {
  readonly feedId: Hex;
  readonly objectId: Hex;
  readonly owner: Hex;
  readonly topic: string;
}

export interface TimeRange {
  /** Inclusive start, ms since the epoch. */
  readonly start: number;
  /** Inclusive end, ms since the epoch. */
  readonly end: number;
}

export interface FeedAppendResult {
  readonly feedId: Hex;
  readonly index: number;
  readonly ref: Hex;
  /** The head sequence after the append. */
  readonly seq: number;
  /** True when the same payload was already stored at this index (an idempotent replay). */
  readonly duplicate: boolean;
}

export interface FeedEntry {
  readonly feedId: Hex;
  readonly index: number;
  readonly timeStart: number;
  readonly timeEnd: number;
  readonly ref: Hex;
  readonly payload: Uint8Array;
}

export interface FeedServiceInit {
  readonly replicationFactor: number;
  readonly faultTolerance: number;
  /** Most entries one range call returns. */
  readonly maxRangeEntries: number;
  /** Decrypted segment payloads kept for repeated reads, in bytes; default 64 MiB, 0 turns it off. */
  readonly payloadCacheBytes?: number;
  /** Verified update records kept (they never change once stored); default 100,000. */
  readonly updateCacheEntries?: number;
}

/** Segment objects and update records fetched at once by a range read. */
const RANGE_CONCURRENCY = 8;

export interface FeedServiceComponents {
  readonly client: ReplicaClient;
  readonly objects: ObjectService;
  readonly logger: Logger;
  readonly metrics?: DhtMetrics;
}

export interface FeedService {
  createFeed(options: Readonly<CreateFeedOptions>): Promise<FeedInfo>;
  append(feed: Readonly<FeedWriter>, index: number, payload: Uint8Array, timeRange: TimeRange): Promise<FeedAppendResult>;
  head(feedId: Hex): Promise<FeedHead | undefined>;
  latest(feedId: Hex): Promise<FeedEntry | undefined>;
  /** `known`: a head of this feed the caller holds; verified again and used instead of reading the replicas. */
  rangeByIndex(feedId: Hex, from: number, to: number, known?: FeedHead): Promise<FeedEntry[]>;
  /** At most `limit` (default and cap: maxRangeEntries) entries, oldest first. */
  rangeByTime(feedId: Hex, from: number, to: number, limit?: number): Promise<FeedEntry[]>;
  /**
   * The indices of the first and the last segment whose time ranges meet [from, to] (the
   * searches of rangeByTime, uncapped, no segment read); undefined when none does. What a reader
   * needs to spread a bounded number of segment reads over a long window.
   */
  indexRangeByTime(feedId: Hex, from: number, to: number): Promise<{ readonly first: number; readonly last: number } | undefined>;
  updateFeedAcl(feed: Readonly<FeedWriter>, parties: readonly string[]): Promise<{ version: number }>;
  /**
   * The owner-signed update records from..to (capped at the head), verified, in index order;
   * an index no replica holds is left out. What feed anchors hash (ADR-18): no segment is read.
   */
  updateRecords(feedId: Hex, from: number, to: number): Promise<FeedUpdate[]>;
  /**
   * Every different owner-signed update for one index that any live candidate holds: one for an
   * honest feed; more is equivocation by the owner key, which the storing nodes' first-write-wins
   * rule hides from a reader that stops at the first answer.
   */
  updateReplicas(feedId: Hex, index: number): Promise<FeedUpdate[]>;
}

interface HeadView {
  readonly latestIndex: number;
  readonly seq: number;
}

interface WriterTail {
  readonly index: number;
  /** The feed head once this append is done. */
  readonly done: Promise<HeadView>;
}

export function createFeedService(init: Readonly<FeedServiceInit>, components: FeedServiceComponents): FeedService {
  const { client, objects, logger, metrics } = components;
  /** Observes the time since `since` under `phase` and returns now (the next phase's start). */
  const phaseDone = (phase: 'prepare' | 'object' | 'order' | 'update' | 'head', since: number): number => {
    const now = performance.now();
    metrics?.feedAppendPhaseSeconds.observe({ phase }, (now - since) / 1000);
    return now;
  };
  const r = init.replicationFactor;
  const dataQuorum = Math.min(r, init.faultTolerance + 1);
  /** Per feed, the last append this process started (its index and the head after it). */
  const writers = new Map<Hex, WriterTail>();
  /** Ed25519 key derivation per append showed in profiles: seeds are few (one per owner). */
  const signers = new Map<string, SigningKey>();

  async function head(feedId: Hex): Promise<FeedHead | undefined> {
    const order = (await client.candidates(feedId)).map((c) => c.peerId);
    let denied: AclDeniedError | undefined;
    const ask = async (peers: readonly string[]): Promise<FeedHead | undefined> => {
      const heads = await Promise.all(
        peers.map(async (peerId) => {
          try {
            const h = parseFeedHead((await client.request(peerId, { op: 'get-feed-head', feedId })).header['head']);
            return h.feedId === feedId ? h : undefined;
          } catch (err) {
            if (err instanceof AclDeniedError) denied = err;
            return undefined;
          }
        }),
      );
      return heads.reduce<FeedHead | undefined>((a, b) => (b !== undefined && (a === undefined || b.seq > a.seq) ? b : a), undefined);
    };
    // The first r in this node's view are the head's replicas when it sees what the writer saw;
    // when none of them holds a head, the rest of the live candidates are asked too.
    const found = (await ask(order.slice(0, r))) ?? (order.length > r ? await ask(order.slice(r)) : undefined);
    // A holder refused this party (outside the feed ACL): say so, rather than "no such feed".
    if (found === undefined && denied !== undefined) throw denied;
    return found;
  }

  /**
   * Update records are immutable once stored (storing nodes refuse a different update at a
   * taken index, and each is verified against the owner's signature), so a verified one is
   * kept: range reads re-walk the same indices (binary search, window) on every query.
   */
  const updates = new Map<string, FeedUpdate>();
  const maxUpdates = init.updateCacheEntries ?? 100_000;

  function keepUpdate(u: FeedUpdate): void {
    if (maxUpdates <= 0) return;
    if (updates.size >= maxUpdates) updates.delete(updates.keys().next().value!);
    updates.set(`${u.feedId}/${u.index}`, u);
  }

  async function update(feedId: Hex, index: number): Promise<FeedUpdate | undefined> {
    const key = `${feedId}/${index}`;
    const known = updates.get(key);
    if (known !== undefined) return known;
    const address = feedUpdateAddress(feedId, index);
    const order = (await client.candidates(address)).map((c) => c.peerId);
    try {
      const u = await client.read(order, async (peerId) => parseFeedUpdate((await client.request(peerId, { op: 'get-feed-update', address })).header['update'], address));
      keepUpdate(u);
      return u;
    } catch (err) {
      if (err instanceof ItemNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * Decrypted payloads by reference, least recently used out first. A cached payload is served
   * only while the feed object's ACL is still at the version it was read under: any ACL change
   * (a party removed, keys rotated) sends the next read back to the storing nodes, which decide
   * again, so the cache never widens access beyond what a fresh read would get.
   */
  const payloads = new Map<Hex, { payload: Uint8Array; objectId: Hex; aclVersion: number }>();
  let payloadBytes = 0;
  const maxPayloadBytes = init.payloadCacheBytes ?? 64 * 1024 * 1024;

  function remember(ref: Hex, value: { payload: Uint8Array; objectId: Hex; aclVersion: number }): void {
    if (value.payload.byteLength > maxPayloadBytes / 4) return;
    const old = payloads.get(ref);
    if (old !== undefined) {
      payloads.delete(ref);
      payloadBytes -= old.payload.byteLength;
    }
    payloads.set(ref, value);
    payloadBytes += value.payload.byteLength;
    while (payloadBytes > maxPayloadBytes) {
      const [k, v] = payloads.entries().next().value!;
      payloads.delete(k);
      payloadBytes -= v.payload.byteLength;
    }
  }

  /** The feed object's current ACL version (highest among replicas), for cache validation. */
  async function aclVersionOf(objectId: Hex): Promise<number | undefined> {
    if (maxPayloadBytes <= 0) return undefined;
    try {
      return (await objects.getAclRecord(objectId)).version;
    } catch {
      return undefined;
    }
  }

  /**
   * The verified updates at `index` that the first `limit` live candidates (all when undefined)
   * hold, asked in parallel; a candidate that cannot answer counts as empty.
   */
  async function updatesAt(feedId: Hex, index: number, limit?: number): Promise<FeedUpdate[]> {
    const address = feedUpdateAddress(feedId, index);
    const order = (await client.candidates(address)).slice(0, limit).map((c) => c.peerId);
    const found = await Promise.all(
      order.map(async (peerId) => {
        try {
          return parseFeedUpdate((await client.request(peerId, { op: 'get-feed-update', address })).header['update'], address);
        } catch {
          return undefined;
        }
      }),
    );
    return found.filter((u): u is FeedUpdate => u !== undefined);
  }

  /**
   * The update at `index` as its r placement replicas hold it: an append checks a usually empty
   * slot, where a sequential read would wait on every candidate in turn. Storing nodes still
   * refuse a second, different update at a taken index (DHT_FEED_REPLAY), so this shortcut
   * cannot overwrite one.
   */
  async function updateAtReplicas(feedId: Hex, index: number): Promise<FeedUpdate | undefined> {
    return (await updatesAt(feedId, index, r))[0];
  }

  /** The entry of an update; `acl` is the feed object's current ACL (id and version) when known. */
  async function entry(u: FeedUpdate, acl?: { objectId: Hex; version: number | undefined }): Promise<FeedEntry> {
    const base = { feedId: u.feedId, index: u.index, timeStart: u.timeStart, timeEnd: u.timeEnd, ref: u.ref };
    const hit = payloads.get(u.ref);
    if (hit !== undefined && acl?.version !== undefined && hit.objectId === acl.objectId && hit.aclVersion === acl.version) {
      payloads.delete(u.ref);
      payloads.set(u.ref, hit);
      return { ...base, payload: hit.payload };
    }
    // The head (signed by the feed's owner) names the object every segment is stored under.
    const payload = await objects.getObject(u.ref, acl?.objectId);
    // Read after the ACL version was taken: a change in between shows as a newer version next time.
    if (acl?.version !== undefined) remember(u.ref, { payload, objectId: acl.objectId, aclVersion: acl.version });
    return { ...base, payload };
  }

  /** The head and the feed object's current ACL version, read at once. */
  async function headAndAcl(feedId: Hex): Promise<{ h: FeedHead | undefined; acl: { objectId: Hex; version: number | undefined } | undefined }> {
    const h = await head(feedId);
    if (h === undefined) return { h, acl: undefined };
    return { h, acl: { objectId: h.objectId, version: await aclVersionOf(h.objectId) } };
  }

  /** A caller's head, checked like one from a replica (owner's signature, this feed), and the ACL version. */
  async function givenHeadAndAcl(feedId: Hex, known: FeedHead): Promise<{ h: FeedHead; acl: { objectId: Hex; version: number | undefined } }> {
    const h = parseFeedHead(known);
    if (h.feedId !== feedId) throw new ValidationError('the given head belongs to another feed', { details: { feedId } });
    return { h, acl: { objectId: h.objectId, version: await aclVersionOf(h.objectId) } };
  }

  /** Moves the head to `index` when it is behind; returns the head's sequence number after. */
  async function advanceHead(
    signer: SigningKey,
    feed: { topic: string; objectId: string },
    acl: AclRecord,
    current: HeadView | undefined,
    index: number,
    latestTimeEnd: number,
  ): Promise<number> {
    const seq = current?.seq ?? 0;
    if (index <= (current?.latestIndex ?? -1)) return seq;
    const feedId = feedIdOf(signer.publicKey, feed.topic);
    const h = signFeedHead(signer, { topic: feed.topic, seq: seq + 1, latestIndex: index, latestTimeEnd, objectId: feed.objectId });
    await client.write(
      feedId,
      r,
      dataQuorum,
      async (peerId) => {
        // With the feed's ACL: the head's nodes answer only its parties (and replicas).
        await client.request(peerId, { op: 'put-feed-head', head: h, acl });
      },
      undefined,
      { atQuorum: true },
    );
    return seq + 1;
  }

  /**
   * Appends are pipelined per feed: the expensive part (slot check, ACL, encrypting and storing
   * the segment object on its replicas) runs for several indices at once; the ordered part (the
   * update record, then the head) runs in index order, each after its predecessor. Update
   * records are therefore only ever written contiguously, and the head never passes an index
   * whose update is not stored, whatever crashes: exactly what a single sequential append gave.
   * An append behind a failed predecessor fails without writing (DHT_FEED_INDEX_GAP).
   * Each of an append's writes (segment, update, head) counts once k + 1 replicas acknowledged
   * it, the quorum every write needs anyway; the remaining copies are still sent, and the repair
   * loop tops up a replica that missed one. So the slowest replica no longer sets the pace of
   * every round trip (it was the append's tail), and readers, which take the highest head of the
   * replicas and fall back from a replica that lacks an update, see the same feed.
   * The head this process wrote last is remembered, so an append that follows its own
   * predecessor skips the head read; a stale memory cannot do harm because the storing nodes
   * refuse a different update at a taken index and a head sequence at or below theirs.
   */
  async function appendAfter(
    signer: SigningKey,
    feedId: Hex,
    feed: Readonly<FeedWriter>,
    index: number,
    payload: Uint8Array,
    timeRange: TimeRange,
    before: Promise<HeadView> | undefined,
  ): Promise<{ result: FeedAppendResult; head: HeadView }> {
    const address = feedUpdateAddress(feedId, index);
    let t = performance.now();
    // Behind its own predecessor the slot is empty unless something went wrong; the write below
    // then finds out (the storing nodes refuse a different update), so the read is skipped.
    const [existing, acl] = await Promise.all([before === undefined ? updateAtReplicas(feedId, index) : undefined, objects.getAclRecord(feed.objectId)]);
    t = phaseDone('prepare', t);
    let u: FeedUpdate | undefined;
    if (existing === undefined) {
      if (acl.owner !== signer.publicKey) throw new NotOwnerError('the feed object belongs to another key', { details: { objectId: feed.objectId } });
      const { ref } = await objects.putUnder(acl, signer, payload, { atQuorum: true });
      u = signFeedUpdate(signer, { topic: feed.topic, index, timeStart: timeRange.start, timeEnd: timeRange.end, ref });
      t = phaseDone('object', t);
    }
    // Ordered part: wait for this process's append of index - 1. When that one failed, this one
    // fails too, before writing anything: its caller cut this segment assuming the previous one
    // (e.g. which offsets it covers), so it must re-read the feed and cut again.
    let known: HeadView | undefined;
    if (before !== undefined) {
      known = await before.catch(() => undefined);
      if (known === undefined) throw new FeedIndexGapError('the append of the previous index failed', { details: { feedId, index } });
    }
    const current: HeadView | undefined = known ?? (await head(feedId));
    t = phaseDone('order', t);
    const latest = current?.latestIndex ?? -1;
    if (index > latest + 1) throw new FeedIndexGapError('feed indices are contiguous', { details: { feedId, index, next: latest + 1 } });
    if (u === undefined) return replay(signer, feedId, feed, acl, index, payload, timeRange, existing!, current);
    // The segment's locator (owner-signed ref -> feed object) proves to the update's nodes which ACL governs it.
    const locator = signLocator(signer, u.ref, acl.nonce);
    try {
      await client.write(
        address,
        r,
        dataQuorum,
        async (peerId) => {
          await client.request(peerId, { op: 'put-feed-update', address, update: u, acl, locator });
        },
        undefined,
        { atQuorum: true },
      );
    } catch (err) {
      if (!(err instanceof FeedReplayError)) throw err;
      // Taken since the slot check (a concurrent writer): same segment is a replay, else refused.
      const now = await updateAtReplicas(feedId, index);
      if (now === undefined) throw err;
      return replay(signer, feedId, feed, acl, index, payload, timeRange, now, known !== undefined ? await head(feedId) : current);
    }
    t = phaseDone('update', t);
    // What this node just signed and stored at quorum is what a verified read would return
    // (storing nodes refuse a different update at a taken index): kept, so the feed's anchorer
    // (ADR-18) hashes recent records from memory instead of asking the replicas for them again.
    keepUpdate(u);
    const seq = await advanceHead(signer, feed, acl, current, index, timeRange.end);
    phaseDone('head', t);
    logger.debug({ feedId, index, seq }, 'feed append');
    return { result: { feedId, index, ref: u.ref, seq, duplicate: false }, head: headAfter(current, index, seq) };
  }

  /** The head after an append at `index` (a replay below the head leaves it where it was). */
  function headAfter(current: HeadView | undefined, index: number, seq: number): HeadView {
    return { latestIndex: Math.max(current?.latestIndex ?? -1, index), seq };
  }

  /** The index already holds `existing`: idempotent when it is the same segment, refused otherwise. */
  async function replay(
    signer: SigningKey,
    feedId: Hex,
    feed: Readonly<FeedWriter>,
    acl: AclRecord,
    index: number,
    payload: Uint8Array,
    timeRange: TimeRange,
    existing: FeedUpdate,
    current: HeadView | undefined,
  ): Promise<{ result: FeedAppendResult; head: HeadView }> {
    const m = await objects.getManifest(existing.ref);
    // A writer that died between the update and the head leaves the head behind: moving it on
    // (the update is the owner's, contiguous) finishes that work, else the next index would be
    // refused as a gap forever, and lets the caller re-read where the feed stands.
    const seq = await advanceHead(signer, feed, acl, current, index, existing.timeEnd);
    if (m.plaintextHash === toHex(sha256(payload)) && existing.timeStart === timeRange.start && existing.timeEnd === timeRange.end) {
      return { result: { feedId, index, ref: existing.ref, seq, duplicate: true }, head: headAfter(current, index, seq) };
    }
    throw new FeedReplayError('the feed index already holds a different update', { details: { feedId, index } });
  }

  function signerOf(seed: Uint8Array): SigningKey {
    const id = toHex(seed);
    let s = signers.get(id);
    if (s === undefined) {
      if (signers.size >= 1024) signers.clear();
      signers.set(id, (s = signingKeyFromSeed(seed)));
    }
    return s;
  }

  /**
   * The binary searches of a time query (time ranges grow with the index): the first index whose
   * range ends at or after `from`, and the last, at most `max` from it, whose range starts at or
   * before `to`. Reads update records only, never a segment.
   */
  async function timeWindow(feedId: Hex, latestIndex: number, from: number, to: number, max: number): Promise<{ first: number; last: number }> {
    let lo = 0;
    let hi = latestIndex;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const u = await update(feedId, mid);
      if (u !== undefined && u.timeEnd < from) lo = mid + 1;
      else hi = mid;
    }
    let a = lo;
    let b = Math.min(latestIndex, lo + max - 1);
    while (a < b) {
      const mid = (a + b + 1) >> 1;
      const u = await update(feedId, mid);
      if (u !== undefined && u.timeStart > to) b = mid - 1;
      else a = mid;
    }
    return { first: lo, last: a };
  }

  function checkRange(range: TimeRange): void {
    if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start) {
      throw new ValidationError('time range must be integers with 0 <= start <= end');
    }
  }

  return {
    head,

    async createFeed(options) {
      const signer = signerOf(options.ownerKey);
      const acl = signAclRecord(signer, { nonce: toHex(random(16)), version: 1, parties: normalizeParties(options.acl) });
      await objects.writeAcl(acl);
      return { feedId: feedIdOf(signer.publicKey, options.topic), objectId: acl.objectId, owner: signer.publicKey, topic: options.topic };
    },

    append(feed, index, payload, timeRange) {
      if (!Number.isSafeInteger(index) || index < 0) return Promise.reject(new ValidationError('index must be a non-negative integer'));
      try {
        checkRange(timeRange);
      } catch (err) {
        return Promise.reject(err);
      }
      const signer = signerOf(feed.ownerKey);
      const feedId = feedIdOf(signer.publicKey, feed.topic);
      // Registered synchronously, so appends called in index order are ordered here too.
      const w = writers.get(feedId);
      const before = w !== undefined && w.index === index - 1 ? w.done : undefined;
      const after = appendAfter(signer, feedId, feed, index, payload, timeRange, before);
      const done = after.then((a) => a.result);
      const mine: WriterTail = { index, done: after.then((a) => a.head) };
      writers.set(feedId, mine);
      mine.done.catch(() => {
        if (writers.get(feedId) === mine) writers.delete(feedId);
      });
      return done;
    },

    async latest(feedId) {
      const h = await head(feedId);
      if (h === undefined) return undefined;
      const [u, version] = await Promise.all([update(feedId, h.latestIndex), aclVersionOf(h.objectId)]);
      if (u === undefined) throw new ItemNotFoundError('the head points at an update no replica holds', { details: { feedId, index: h.latestIndex } });
      return entry(u, { objectId: h.objectId, version });
    },

    async rangeByIndex(feedId, from, to, known) {
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) throw new ValidationError('index range must be integers with 0 <= from <= to');
      const { h, acl } = known === undefined ? await headAndAcl(feedId) : await givenHeadAndAcl(feedId, known);
      if (h === undefined) return [];
      const last = Math.min(to, h.latestIndex);
      if (last - from + 1 > init.maxRangeEntries) throw new MalformedMessageError('range too long', { details: { max: init.maxRangeEntries } });
      const indices = Array.from({ length: Math.max(0, last - from + 1) }, (_, k) => from + k);
      const found = await mapBounded(indices, RANGE_CONCURRENCY, async (i) => {
        const u = await update(feedId, i);
        return u === undefined ? undefined : entry(u, acl);
      });
      return found.filter((e): e is FeedEntry => e !== undefined);
    },

    async rangeByTime(feedId, from, to, limit) {
      checkRange({ start: from, end: to });
      const max = Math.min(limit ?? init.maxRangeEntries, init.maxRangeEntries);
      if (!Number.isSafeInteger(max) || max < 1) throw new ValidationError('limit must be a positive integer');
      const { h, acl } = await headAndAcl(feedId);
      if (h === undefined) return [];
      // The window is known before any segment is fetched, so the segments are fetched in parallel.
      const w = await timeWindow(feedId, h.latestIndex, from, to, max);
      const indices = Array.from({ length: w.last - w.first + 1 }, (_, k) => w.first + k);
      const ups = await mapBounded(indices, RANGE_CONCURRENCY, (i) => update(feedId, i));
      const wanted: FeedUpdate[] = [];
      for (const u of ups) {
        if (u === undefined) continue;
        if (u.timeStart > to) break;
        if (u.timeEnd >= from) wanted.push(u);
      }
      return mapBounded(wanted, RANGE_CONCURRENCY, (u) => entry(u, acl));
    },

    async indexRangeByTime(feedId, from, to) {
      checkRange({ start: from, end: to });
      const h = await head(feedId);
      if (h === undefined) return undefined;
      const w = await timeWindow(feedId, h.latestIndex, from, to, h.latestIndex + 1);
      // Time ranges grow with the index: the window is empty exactly when the search's first
      // index does not meet it (the whole feed before `from`, or `to` before that segment).
      const first = await update(feedId, w.first);
      if (first !== undefined ? first.timeEnd < from || first.timeStart > to : w.first === w.last) return undefined;
      return w;
    },

    async updateRecords(feedId, from, to) {
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) throw new ValidationError('index range must be integers with 0 <= from <= to');
      const h = await head(feedId);
      if (h === undefined) return [];
      const indices = Array.from({ length: Math.max(0, Math.min(to, h.latestIndex) - from + 1) }, (_, k) => from + k);
      return (await mapBounded(indices, RANGE_CONCURRENCY, (i) => update(feedId, i))).filter((u): u is FeedUpdate => u !== undefined);
    },

    async updateReplicas(feedId, index) {
      if (!Number.isSafeInteger(index) || index < 0) throw new ValidationError('index must be a non-negative integer');
      const distinct = new Map<string, FeedUpdate>();
      for (const u of await updatesAt(feedId, index)) if (u.feedId === feedId) distinct.set(u.sig, u);
      return [...distinct.values()];
    },

    async updateFeedAcl(feed, parties) {
      const signer = signerOf(feed.ownerKey);
      const cur = await objects.getAclRecord(feed.objectId);
      if (cur.owner !== signer.publicKey) throw new NotOwnerError('only the feed owner may change its ACL');
      // Segments each have their own key; later segments are wrapped only for the new parties.
      const acl = signAclRecord(signer, { nonce: cur.nonce, version: cur.version + 1, parties });
      await objects.writeAcl(acl);
      return { version: acl.version };
    },
  };
}
