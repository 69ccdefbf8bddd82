import { LevelDatastore } from 'datastore-level';
import type { AbortOptions } from '@libp2p/interface';
import type { Batch, Key, Pair, Query, KeyQuery } from 'interface-datastore';

/**
 * libp2p's peer store, on LevelDB with an in-memory read cache and write-behind. libp2p
 * reads and rewrites the remote peer's record (with a fresh `updated` time) on every stream
 * it opens, i.e. on every store-protocol request: a LevelDB get + put per chunk per replica,
 * ~8% of a 64 MiB put's CPU in the profile. The record is a cache of addresses and
 * protocols, so losing the last second of updates on a crash costs nothing; the records
 * still survive a clean restart (flushed on close and every `flushMs`).
 */
export class PeerDatastore extends LevelDatastore {
  readonly #cache = new Map<string, Uint8Array>();
  readonly #dirty = new Map<string, Key>();
  #timer: NodeJS.Timeout | undefined;
  readonly #flushMs: number;

  constructor(path: string, flushMs = 1000) {
    super(path);
    this.#flushMs = flushMs;
  }

  override async get(key: Key, options?: AbortOptions): Promise<Uint8Array> {
    const hit = this.#cache.get(key.toString());
    if (hit !== undefined) return hit;
    const value = await super.get(key, options);
    this.#cache.set(key.toString(), value);
    return value;
  }

  override async has(key: Key, options?: AbortOptions): Promise<boolean> {
    return this.#cache.has(key.toString()) || super.has(key, options);
  }

  override async put(key: Key, value: Uint8Array): Promise<Key> {
    this.#cache.set(key.toString(), value);
    this.#dirty.set(key.toString(), key);
    this.#timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.#flushMs).unref();
    return key;
  }

  override async delete(key: Key, options?: AbortOptions): Promise<void> {
    this.#cache.delete(key.toString());
    this.#dirty.delete(key.toString());
    await super.delete(key, options);
  }

  override batch(): Batch {
    const inner = super.batch();
    return {
      put: (key, value) => {
        this.#cache.set(key.toString(), value);
        this.#dirty.delete(key.toString());
        inner.put(key, value);
      },
      delete: (key) => {
        this.#cache.delete(key.toString());
        this.#dirty.delete(key.toString());
        inner.delete(key);
      },
      commit: (options) => inner.commit(options),
    };
  }

  override async *query(q: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    await this.flush();
    yield* super.query(q, options);
  }

  override async *queryKeys(q: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    await this.flush();
    yield* super.queryKeys(q, options);
  }

  /** Writes pending records in one LevelDB batch. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#dirty.size === 0) return;
    const b = super.batch();
    for (const [name, key] of this.#dirty) {
      const v = this.#cache.get(name);
      if (v !== undefined) b.put(key, v);
    }
    this.#dirty.clear();
    await b.commit();
  }

  override async close(): Promise<void> {
    await this.flush();
    await super.close();
  }
}
