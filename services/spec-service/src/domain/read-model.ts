import { TwinLedgerError } from '@twinledger/errors';

/** A read that must reflect at least this much of the ledger (`?minBlock=`, `?atLeastTx=`). */
export interface Fence {
  readonly minBlock?: number;
  readonly atLeastTx?: string;
}

/** The fence was not reached within READ_FENCE_WAIT_MS: neither the cache nor the peer has it yet. */
export class FenceNotReachedError extends TwinLedgerError {
  readonly code = 'FENCE_NOT_REACHED';
  override readonly httpStatus = 504;
}

/** What the peer itself says of the channel (qscc): see PeerProbe.height and hasTransaction. */
export interface ChainView {
  height(): Promise<bigint>;
  hasTransaction(txId: string): Promise<boolean>;
}

export interface ReadModelInit {
  /** Characters (UTF-16 code units, as each loader reports them) kept at most, least recently used first out; 0 keeps nothing. */
  readonly maxChars: number;
  /**
   * Longest an entry is served while nothing confirms it (the event follower is disconnected or
   * the peer marked down). Older ones are read from the peer again.
   */
  readonly maxAgeMs: number;
  /** How long a fenced read waits for its block or transaction before 504 FENCE_NOT_REACHED. */
  readonly fenceWaitMs: number;
  /**
   * True while every committed event reaches onLedgerEvent (the relay's stream is open and the
   * peer is up): an entry without an event of its twin since it was read is then current.
   * Always false: the model keeps nothing and only answers fences (no event relay here).
   */
  readonly following: () => boolean;
  /** Block of a transaction whose event was relayed (the relay journal), if any. */
  readonly blockOf: (txId: string) => number | undefined;
  /** The peer's view, for fences the events have not reached yet; without it fences wait for events only. */
  readonly chain?: ChainView;
  /** The last block whose events were handled before this process started (the relay's checkpoint). */
  readonly startBlock?: number;
  /**
   * Changes each time the event stream is opened again (EventRelay.connections). The events
   * committed while it was closed are then replayed from the checkpoint, after the stream is
   * already `following`: so the model drops everything it holds, and calls onResume (main.ts
   * drops the cached access decisions alike). An outage of the peer alone needs none of this:
   * the stream stays open and delivers the blocks in order as the peer commits them.
   */
  readonly streamEpoch?: () => number;
  readonly onResume?: () => void;
  /** Pause between fence checks; default 25 ms. */
  readonly fencePollMs?: number;
  readonly now?: () => number;
}

export interface ReadAnswer<T> {
  readonly value: T;
  /** The newest block this answer is known to reflect (undefined before any event was seen). */
  readonly block: number | undefined;
  /** Served from the cache while nothing confirmed it (events not followed), within maxAgeMs. */
  readonly stale: boolean;
  readonly lookup: 'hit' | 'miss' | 'stale' | 'fenced' | 'uncached';
}

export interface Loaded<T> {
  readonly value: T;
  /** Its size in characters, for the READ_CACHE_MAX_CHARS bound. */
  readonly chars: number;
  /** false: answer this read (and the ones sharing its load) but keep nothing. */
  readonly keep?: boolean;
}

export interface ReadModel {
  /** Whether entries are kept and served (an event relay feeds the model). */
  readonly enabled: boolean;
  /**
   * `key` of the twin: the cached answer while it is current, else `load()` (a read from the
   * peer, as a caller already authorized for it) whose answer is kept for the next reader. The
   * content must not depend on who reads it. With a fence, waits until the events handled (or
   * else the peer) reach it; a fence reached only by the peer is answered by `load()`.
   */
  read<T>(twinId: string, key: string, load: () => Promise<Loaded<T>>, fence?: Fence): Promise<ReadAnswer<T>>;
  /** Applies one relayed ledger event: every entry of its twin is dropped. */
  onLedgerEvent(event: { readonly eventName: string; readonly twinId?: string | undefined; readonly blockNumber: number }): void;
  /** The last block whose events were applied. */
  readonly block: number | undefined;
  stats(): { readonly entries: number; readonly chars: number };
  start(): void;
  stop(): void;
}

/** Events that name no twin and change nothing the model holds. */
const CHANNEL_EVENTS = new Set(['PartyRegistered', 'DeviceNamespaceChanged', 'DiagPut']);

interface Entry {
  readonly twinId: string;
  readonly value: unknown;
  readonly chars: number;
  readonly loadedAt: number;
  readonly block: number | undefined;
}

/**
 * The organization's cache of ledger state for reads (issue #27): answers kept per (twin, key)
 * until an event of their twin arrives. While the event follower is connected and the peer up,
 * an entry no event invalidated is current up to the event lag; while not, it is served marked
 * stale for at most `maxAgeMs` after it was last confirmed, then read from the peer again.
 */
export function createReadModel(init: ReadModelInit): ReadModel {
  const now = init.now ?? Date.now;
  const pollMs = init.fencePollMs ?? 25;
  const entries = new Map<string, Entry>();
  const byTwin = new Map<string, Set<string>>();
  const generation = new Map<string, number>();
  const loading = new Map<string, Promise<Loaded<unknown>>>();
  let chars = 0;
  let block = init.startBlock;
  /** Last time the follower was seen following: entries are confirmed up to then. */
  let confirmedAt = now();
  let timer: NodeJS.Timeout | undefined;

  let epoch = init.streamEpoch?.();
  const following = (): boolean => {
    const current = init.streamEpoch?.();
    if (current !== epoch) {
      // The stream was reopened: the events committed meanwhile are still being replayed, so
      // what was read before may already be outdated. Everything is read again.
      epoch = current;
      for (const twinId of [...byTwin.keys()]) invalidate(twinId);
      init.onResume?.();
    }
    const yes = init.following();
    if (yes) confirmedAt = now();
    return yes;
  };
  const drop = (k: string): void => {
    const e = entries.get(k);
    if (!e) return;
    entries.delete(k);
    chars -= e.chars;
    const keys = byTwin.get(e.twinId);
    keys?.delete(k);
    if (keys?.size === 0) byTwin.delete(e.twinId);
  };
  const store = (k: string, e: Entry): void => {
    drop(k);
    if (init.maxChars <= 0 || e.chars > init.maxChars) return;
    entries.set(k, e);
    chars += e.chars;
    let keys = byTwin.get(e.twinId);
    if (!keys) byTwin.set(e.twinId, (keys = new Set()));
    keys.add(k);
    for (const oldest of entries.keys()) {
      if (chars <= init.maxChars) break;
      drop(oldest);
    }
  };
  const invalidate = (twinId: string): void => {
    generation.set(twinId, (generation.get(twinId) ?? 0) + 1);
    for (const k of [...(byTwin.get(twinId) ?? [])]) drop(k);
  };

  /** 'model': the events handled reach the fence; 'peer': only the peer does; undefined: nobody yet. */
  const reached = async (fence: Fence): Promise<'model' | 'peer' | undefined> => {
    const txBlock = fence.atLeastTx !== undefined ? init.blockOf(fence.atLeastTx) : undefined;
    const modelHas =
      (fence.minBlock === undefined || (block !== undefined && block >= fence.minBlock)) &&
      (fence.atLeastTx === undefined || (txBlock !== undefined && block !== undefined && block >= txBlock));
    if (modelHas && init.maxChars > 0) return 'model';
    if (!init.chain) return modelHas ? 'peer' : undefined;
    try {
      if (fence.minBlock !== undefined && (await init.chain.height()) <= BigInt(fence.minBlock)) return undefined;
      if (fence.atLeastTx !== undefined && !(await init.chain.hasTransaction(fence.atLeastTx))) return undefined;
      return 'peer';
    } catch {
      // The peer does not answer: the fence may still be reached by events until the deadline.
      return undefined;
    }
  };

  const model: ReadModel = {
    get enabled() {
      return init.maxChars > 0;
    },
    async read<T>(twinId: string, key: string, load: () => Promise<Loaded<T>>, fence?: Fence): Promise<ReadAnswer<T>> {
      if (fence && (fence.minBlock !== undefined || fence.atLeastTx !== undefined)) {
        // A real wait (timers), so measured on the monotonic clock, not the injectable `now`.
        const deadline = performance.now() + init.fenceWaitMs;
        for (;;) {
          const where = await reached(fence);
          if (where === 'model') break;
          if (where === 'peer') {
            // The peer has committed it but the events have not arrived: the peer answers this
            // read, and its answer is at least as new as the fence.
            const height = await init.chain?.height().catch(() => undefined);
            const { value } = await load();
            return { value, block: height !== undefined ? Number(height) - 1 : fence.minBlock, stale: false, lookup: 'fenced' };
          }
          const left = deadline - performance.now();
          if (left <= 0) {
            throw new FenceNotReachedError(`the ledger has not reached the requested ${fence.atLeastTx !== undefined ? `transaction ${fence.atLeastTx}` : `block ${fence.minBlock}`} within ${init.fenceWaitMs} ms`, {
              details: { ...fence, block: block ?? null, waitedMs: init.fenceWaitMs },
            });
          }
          await new Promise((r) => setTimeout(r, Math.min(pollMs, left)));
        }
      }
      if (init.maxChars <= 0) return { value: (await load()).value, block, stale: false, lookup: 'uncached' };

      const k = JSON.stringify([twinId, key]);
      // First: a resumed follower drops the entries this read might otherwise find.
      const live = following();
      const e = entries.get(k);
      if (e) {
        if (live || now() - Math.max(e.loadedAt, confirmedAt) <= init.maxAgeMs) {
          // Most recently used last.
          entries.delete(k);
          entries.set(k, e);
          return { value: e.value as T, block: live ? block : e.block, stale: !live, lookup: live ? 'hit' : 'stale' };
        }
        drop(k);
      }
      // Readers of the same key share one load, as long as no event of the twin arrived since it
      // started (the peer may have answered from before that event): its answer is kept only then.
      const gen = generation.get(twinId) ?? 0;
      const lk = `${k}#${gen}`;
      const atBlock = block;
      let pending = loading.get(lk) as Promise<Loaded<T>> | undefined;
      if (!pending) {
        const startedAt = now();
        const p = load();
        pending = p;
        loading.set(lk, p);
        void p.then(
          (loaded) => {
            loading.delete(lk);
            if ((generation.get(twinId) ?? 0) === gen && loaded.keep !== false) store(k, { twinId, value: loaded.value, chars: loaded.chars, loadedAt: startedAt, block: atBlock });
          },
          () => loading.delete(lk),
        );
      }
      return { value: (await pending).value, block: atBlock, stale: false, lookup: 'miss' };
    },
    onLedgerEvent(event) {
      if (event.twinId !== undefined) invalidate(event.twinId);
      else if (!CHANNEL_EVENTS.has(event.eventName)) for (const twinId of [...byTwin.keys()]) invalidate(twinId);
      if (block === undefined || event.blockNumber > block) block = event.blockNumber;
    },
    get block() {
      return block;
    },
    stats: () => ({ entries: entries.size, chars }),
    start() {
      // Samples the follower so an outage's start is known even when no read came meanwhile:
      // entries are confirmed up to the last sample that saw it following.
      timer ??= setInterval(following, 250);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return model;
}
