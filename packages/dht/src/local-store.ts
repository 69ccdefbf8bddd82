import { randomBytes } from 'node:crypto';
import { access, mkdir, open as openFile, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Key, type Datastore } from 'interface-datastore';
import { canonicalJson, concat, fromUtf8, utf8, type Hex } from './codec.js';
import { type AclRecord, parseAclRecord } from './acl-record.js';
import { BindingConflictError, FeedReplayError, StaleAclVersionError } from './errors.js';
import { type FeedHead, type FeedUpdate, parseFeedHead, parseFeedUpdate } from './feed-records.js';
import { type Locator, parseLocator } from './locator.js';

/**
 * What a storing node keeps: records and indexes on its datastore (LevelDB under the data
 * dir), large chunk bodies as one file each under the blob directory (a filesystem
 * blockstore). Enforces the storage rules that do not depend on the requester: ACL versions
 * only go up, feed heads' sequences only go up, a feed index holds one update, content stays
 * bound to the object it was first stored for. Read-modify-write sequences run under a
 * per-key lock.
 */
export type BlobKind = 'chunk' | 'manifest';
export type PutResult = 'stored' | 'duplicate';

export interface StoredBlob {
  readonly bytes: Uint8Array;
  readonly objectId: Hex;
}

export interface LocalStoreStats {
  readonly chunks: number;
  readonly manifests: number;
  readonly bytes: number;
  readonly acls: number;
  readonly locators: number;
  readonly feedUpdates: number;
  readonly feedHeads: number;
}

export interface HeldBlob {
  readonly kind: BlobKind;
  readonly hash: Hex;
  /** When this node last stored (or was re-sent) the blob, ms since the epoch; absent for blobs stored before times were kept. */
  readonly storedAt?: number;
}

export interface ObjectHoldings {
  readonly objectId: Hex;
  readonly blobs: readonly HeldBlob[];
}

export interface LocalStore {
  /** `body` may be the pieces of one blob (a writer's sealed chunk), written in order without joining them. */
  putBlob(kind: BlobKind, hash: Hex, objectId: Hex, body: Uint8Array | readonly Uint8Array[]): Promise<PutResult>;
  getBlob(kind: BlobKind, hash: Hex): Promise<StoredBlob | undefined>;
  hasBlob(kind: BlobKind, hash: Hex): Promise<boolean>;
  /** The object a held blob is filed under, without reading its bytes. */
  blobObjectId(hash: Hex): Promise<Hex | undefined>;
  /** Stores a verified ACL record unless a higher version is held; equal and identical is a duplicate. */
  putAcl(rec: AclRecord): Promise<PutResult>;
  getAcl(objectId: Hex): Promise<AclRecord | undefined>;
  putLocator(loc: Locator): Promise<PutResult>;
  getLocator(ref: Hex): Promise<Locator | undefined>;
  putFeedUpdate(address: Hex, update: FeedUpdate): Promise<PutResult>;
  getFeedUpdate(address: Hex): Promise<FeedUpdate | undefined>;
  putFeedHead(head: FeedHead): Promise<PutResult>;
  getFeedHead(feedId: Hex): Promise<FeedHead | undefined>;
  /**
   * The object whose ACL governs a feed's records here (the caller checks it is the feed owner's).
   * Lets a node holding updates but not the head decide who may read them. `signed`: proven by
   * the owner's locator of a segment; it replaces an unsigned binding and is never replaced.
   * Returns false when a signed binding to another object is held.
   */
  bindFeedObject(feedId: Hex, objectId: Hex, signed: boolean): Promise<boolean>;
  feedObject(feedId: Hex): Promise<Hex | undefined>;
  /** Every object with blobs held here, for the repair loop and garbage collection. */
  objects(): AsyncIterable<ObjectHoldings>;
  /**
   * Removes an object's blobs (blob, binding and index entry in one batch). A blob whose
   * stored time changed since `expected` (re-sent meanwhile) is kept. Returns the bytes removed per hash.
   */
  deleteBlobs(objectId: Hex, blobs: readonly HeldBlob[]): Promise<ReadonlyArray<{ hash: Hex; bytes: number }>>;
  locators(): AsyncIterable<Locator>;
  feedUpdates(): AsyncIterable<{ address: Hex; update: FeedUpdate }>;
  feedHeads(): AsyncIterable<FeedHead>;
  stats(): LocalStoreStats;
  /** Counts what is on disk; call once after the datastore opens. */
  open(): Promise<void>;
  /**
   * Removes chunk files no index entry names, last modified before `cutoffMs` (epoch ms): a
   * crash between a file's rename and its index batch leaves one. Returns what it removed.
   */
  sweepStrayFiles(cutoffMs: number): Promise<{ files: number; bytes: number }>;
  /** Test hook: overwrites a blob's bytes without any check (simulates disk tampering). */
  overwriteBlobUnchecked(kind: BlobKind, hash: Hex, bytes: Uint8Array): Promise<void>;
}

const P = '/twinledger';

/** The index entry's value: the time the blob was stored, decimal ms (entries written before this was kept are empty). */
const storedAtBytes = (): Uint8Array => utf8(String(Date.now()));
function parseStoredAt(value: Uint8Array): number | undefined {
  if (value.byteLength === 0) return undefined;
  const n = Number(fromUtf8(value));
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}
/**
 * Chunks from this size on are files; smaller ones (feed segments of a few KiB) stay in
 * LevelDB, where a small value costs less than a file: 150 appends of 4 KiB segments on five
 * nodes ran at 31/s with every chunk a file and 39/s with these inline.
 */
const FILE_MIN_BYTES = 64 * 1024;

/**
 * Writes `pieces` in order as a new file: one writev for the usual case, more only if the kernel
 * took less. A sealed chunk arrives from its own writer as nonce, ciphertext and tag, and joining
 * them first was a copy of every chunk the writer also stores (issue #25).
 */
async function writePieces(path: string, pieces: readonly Uint8Array[]): Promise<void> {
  const fh = await openFile(path, 'w');
  try {
    let rest = pieces.filter((p) => p.byteLength > 0);
    while (rest.length > 0) {
      let { bytesWritten } = await fh.writev(rest as Uint8Array[]);
      // Drop what was written: whole pieces, then the front of a partly written one.
      while (rest.length > 0 && bytesWritten >= (rest[0] as Uint8Array).byteLength) bytesWritten -= (rest.shift() as Uint8Array).byteLength;
      if (bytesWritten > 0) rest = [(rest[0] as Uint8Array).subarray(bytesWritten), ...rest.slice(1)];
    }
  } finally {
    await fh.close();
  }
}
const k = (...parts: string[]): Key => new Key(`${P}/${parts.join('/')}`);

/** ACL records kept in memory (most recent objects): put-chunk and get-blob consult the ACL on every chunk. */
const ACL_CACHE_ENTRIES = 1024;

export interface LocalStoreHooks {
  /** Called after a newer feed head is stored here (this node is one of the feed's head replicas). */
  readonly onFeedHead?: (head: FeedHead) => void;
}

export interface LocalStoreInit extends LocalStoreHooks {
  /**
   * Directory for chunk bodies of FILE_MIN_BYTES and more, one file per chunk named by its
   * hash. Without it chunk bodies go into the datastore like everything else.
   *
   * Why files: LevelDB rewrites every value on each compaction, and chunks are up to 1 MiB of
   * incompressible ciphertext. Storing 3 x 64 MiB that way cost the receiving processes 2.6 s
   * of CPU per put, one file per chunk 1.15 s (bench/floor/put-floor.mjs), and compactions no
   * longer compete with feed appends. Durability is LevelDB's as configured (no fsync): the
   * body file is renamed into place before the index entry that makes it visible is written.
   */
  readonly blobDir?: string;
}

export function createLocalStore(ds: Datastore, init: LocalStoreInit = {}): LocalStore {
  const hooks: LocalStoreHooks = init;
  const blobDir = init.blobDir;
  // chunkf/<hash> = the body's size when the body is a file; chunk/<hash> = the body itself
  // (stores written before blob files, and stores without a blob directory).
  const filePath = (hash: Hex): string => join(blobDir as string, hash.slice(0, 2), hash);
  async function writeBlobFile(hash: Hex, pieces: readonly Uint8Array[]): Promise<void> {
    const path = filePath(hash);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writePieces(tmp, pieces);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(join(blobDir as string, hash.slice(0, 2)), { recursive: true });
      await writePieces(tmp, pieces);
    }
    await rename(tmp, path);
  }
  async function readBlobFile(hash: Hex): Promise<Uint8Array | undefined> {
    try {
      return await readFile(filePath(hash));
    } catch (err) {
      // Indexed but gone (a disk lost underneath): not held; the repair loop restores a copy.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  const fileSize = (marker: Uint8Array): number => Number(fromUtf8(marker));
  /** Every file under the blob directory (bodies and temporary files), one fan-out directory at a time. */
  async function* blobFiles(): AsyncGenerator<{ name: string; path: string }> {
    for (const dir of await readdir(blobDir as string)) {
      for (const name of await readdir(join(blobDir as string, dir)).catch(() => [] as string[])) yield { name, path: join(blobDir as string, dir, name) };
    }
  }
  const locks = new Map<string, Promise<unknown>>();
  // objectId -> the record held on disk. Every ACL write goes through putAcl below, so the
  // cache never disagrees with the datastore; Map order gives a cheap least-recently-set eviction.
  const aclCache = new Map<string, AclRecord>();
  const cacheAcl = (rec: AclRecord): void => {
    aclCache.delete(rec.objectId);
    aclCache.set(rec.objectId, rec);
    if (aclCache.size > ACL_CACHE_ENTRIES) aclCache.delete(aclCache.keys().next().value as string);
  };
  async function loadAcl(objectId: Hex): Promise<AclRecord | undefined> {
    const hit = aclCache.get(objectId);
    if (hit !== undefined) return hit;
    const v = await getJson(k('acl', objectId));
    if (v === undefined) return undefined;
    const rec = parseAclRecord(v);
    cacheAcl(rec);
    return rec;
  }
  const counts = { chunks: 0, manifests: 0, bytes: 0, acls: 0, locators: 0, feedUpdates: 0, feedHeads: 0 };

  async function locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(name, tail);
    try {
      return await run;
    } finally {
      if (locks.get(name) === tail) locks.delete(name);
    }
  }

  async function getOpt(key: Key): Promise<Uint8Array | undefined> {
    try {
      return await ds.get(key);
    } catch (err) {
      if ((err as { name?: string }).name === 'NotFoundError') return undefined;
      throw err;
    }
  }

  /** Held and readable: an indexed chunk whose file is gone counts as missing, so a repair push or a re-upload restores it. */
  async function held(kind: BlobKind, hash: Hex): Promise<boolean> {
    if (kind === 'chunk' && blobDir !== undefined && (await ds.has(k('chunkf', hash)))) {
      return access(filePath(hash)).then(
        () => true,
        () => false,
      );
    }
    return ds.has(k(kind, hash));
  }

  async function getJson(key: Key): Promise<unknown> {
    const b = await getOpt(key);
    return b === undefined ? undefined : JSON.parse(fromUtf8(b));
  }

  const putJson = async (key: Key, v: unknown): Promise<void> => {
    await ds.put(key, utf8(canonicalJson(v)));
  };

  async function* scan(prefix: string): AsyncIterable<{ key: Key; value: Uint8Array }> {
    for await (const pair of ds.query({ prefix: `${P}/${prefix}` })) yield pair;
  }

  return {
    async open() {
      for await (const { value } of scan('chunk/')) {
        counts.chunks++;
        counts.bytes += value.byteLength;
      }
      for await (const { value } of scan('chunkf/')) {
        counts.chunks++;
        counts.bytes += fileSize(value);
      }
      if (blobDir !== undefined) {
        await mkdir(blobDir, { recursive: true });
        // Temporary files of writes a crash interrupted: never indexed, so never visible.
        for await (const { name, path } of blobFiles()) if (name.endsWith('.tmp')) await rm(path, { force: true });
      }
      for await (const { value } of scan('manifest/')) {
        counts.manifests++;
        counts.bytes += value.byteLength;
      }
      for await (const _ of ds.queryKeys({ prefix: `${P}/acl/` })) counts.acls++;
      for await (const _ of ds.queryKeys({ prefix: `${P}/loc/` })) counts.locators++;
      for await (const _ of ds.queryKeys({ prefix: `${P}/feed-update/` })) counts.feedUpdates++;
      for await (const _ of ds.queryKeys({ prefix: `${P}/feed-head/` })) counts.feedHeads++;
    },

    putBlob(kind, hash, objectId, body) {
      const pieces = body instanceof Uint8Array ? [body] : body;
      const byteLength = pieces.reduce((n, p) => n + p.byteLength, 0);
      return locked(`blob/${hash}`, async () => {
        const bound = await getOpt(k('bind', hash));
        if (bound !== undefined) {
          const boundTo = fromUtf8(bound);
          if (boundTo !== objectId) throw new BindingConflictError('content is bound to another object', { details: { hash } });
          if (await held(kind, hash)) {
            // Re-sent content (a retried upload, a repair push) restarts its grace period.
            await ds.put(k('obj', objectId, kind, hash), storedAtBytes());
            return 'duplicate';
          }
        }
        const asFile = kind === 'chunk' && blobDir !== undefined && byteLength >= FILE_MIN_BYTES;
        // An indexed chunk whose file was lost is already counted; this only restores its file.
        const restoring = asFile && bound !== undefined && (await ds.has(k('chunkf', hash)));
        if (asFile) await writeBlobFile(hash, pieces);
        // One atomic LevelDB write: a crash never leaves a blob without its binding or index entry.
        const batch = ds.batch();
        if (asFile) batch.put(k('chunkf', hash), utf8(String(byteLength)));
        else batch.put(k(kind, hash), pieces.length === 1 ? (pieces[0] as Uint8Array) : concat(...pieces));
        batch.put(k('bind', hash), utf8(objectId));
        batch.put(k('obj', objectId, kind, hash), storedAtBytes());
        await batch.commit();
        if (!restoring) {
          counts[kind === 'chunk' ? 'chunks' : 'manifests']++;
          counts.bytes += byteLength;
        }
        return 'stored';
      });
    },

    async getBlob(kind, hash) {
      const bound = await getOpt(k('bind', hash));
      if (bound === undefined) return undefined;
      const bytes = kind === 'chunk' && blobDir !== undefined && (await ds.has(k('chunkf', hash))) ? await readBlobFile(hash) : await getOpt(k(kind, hash));
      return bytes === undefined ? undefined : { bytes, objectId: fromUtf8(bound) };
    },

    hasBlob: (kind, hash) => held(kind, hash),

    async blobObjectId(hash) {
      const bound = await getOpt(k('bind', hash));
      return bound === undefined ? undefined : fromUtf8(bound);
    },

    putAcl(rec) {
      return locked(`acl/${rec.objectId}`, async () => {
        const cur = await loadAcl(rec.objectId);
        if (cur !== undefined) {
          if (cur.version === rec.version && canonicalJson(cur) === canonicalJson(rec)) return 'duplicate';
          if (rec.version <= cur.version) {
            throw new StaleAclVersionError('an ACL version at or below the stored one is never applied', {
              details: { objectId: rec.objectId, stored: cur.version, offered: rec.version },
            });
          }
        } else counts.acls++;
        await putJson(k('acl', rec.objectId), rec);
        cacheAcl(rec);
        return 'stored';
      });
    },

    getAcl: loadAcl,

    putLocator(loc) {
      return locked(`loc/${loc.ref}`, async () => {
        const cur = (await getJson(k('loc', loc.ref))) as Locator | undefined;
        if (cur !== undefined) {
          if (cur.objectId !== loc.objectId) throw new BindingConflictError('reference already located under another object', { details: { ref: loc.ref } });
          return 'duplicate';
        }
        counts.locators++;
        await putJson(k('loc', loc.ref), loc);
        return 'stored';
      });
    },

    async getLocator(ref) {
      const v = await getJson(k('loc', ref));
      return v === undefined ? undefined : parseLocator(v);
    },

    putFeedUpdate(address, update) {
      return locked(`feed-update/${address}`, async () => {
        const cur = await getJson(k('feed-update', address));
        if (cur !== undefined) {
          if (canonicalJson(cur) === canonicalJson(update)) return 'duplicate';
          throw new FeedReplayError('the feed index already holds a different update', { details: { feedId: update.feedId, index: update.index } });
        }
        counts.feedUpdates++;
        await putJson(k('feed-update', address), update);
        return 'stored';
      });
    },

    async getFeedUpdate(address) {
      const v = await getJson(k('feed-update', address));
      return v === undefined ? undefined : parseFeedUpdate(v, address);
    },

    putFeedHead(head) {
      return locked(`feed-head/${head.feedId}`, async () => {
        const cur = (await getJson(k('feed-head', head.feedId))) as FeedHead | undefined;
        if (cur !== undefined) {
          if (cur.seq === head.seq && canonicalJson(cur) === canonicalJson(head)) return 'duplicate';
          if (head.seq <= cur.seq) {
            throw new FeedReplayError('a feed head with a sequence at or below the stored one is a replay', {
              details: { feedId: head.feedId, stored: cur.seq, offered: head.seq },
            });
          }
        } else counts.feedHeads++;
        await putJson(k('feed-head', head.feedId), head);
        hooks.onFeedHead?.(head);
        return 'stored';
      });
    },

    async getFeedHead(feedId) {
      const v = await getJson(k('feed-head', feedId));
      return v === undefined ? undefined : parseFeedHead(v);
    },

    bindFeedObject(feedId, objectId, signed) {
      return locked(`feed-obj/${feedId}`, async () => {
        const cur = (await getJson(k('feed-obj', feedId))) as { objectId: Hex; signed: boolean } | undefined;
        if (cur !== undefined && (cur.signed || !signed)) return cur.objectId === objectId; // kept: first binding of its rank
        await putJson(k('feed-obj', feedId), { objectId, signed });
        return true;
      });
    },

    async feedObject(feedId) {
      const v = (await getJson(k('feed-obj', feedId))) as { objectId?: unknown } | undefined;
      return typeof v?.objectId === 'string' ? v.objectId : undefined;
    },

    async *objects() {
      let current: { objectId: Hex; blobs: HeldBlob[] } | undefined;
      for await (const { key, value } of scan('obj/')) {
        const [, , , objectId, kind, hash] = key.toString().split('/');
        if (objectId === undefined || hash === undefined || (kind !== 'chunk' && kind !== 'manifest')) continue;
        if (current !== undefined && current.objectId !== objectId) {
          yield current;
          current = undefined;
        }
        current ??= { objectId, blobs: [] };
        const storedAt = parseStoredAt(value);
        current.blobs.push(storedAt === undefined ? { kind, hash } : { kind, hash, storedAt });
      }
      if (current !== undefined) yield current;
    },

    async deleteBlobs(objectId, blobs) {
      const removed: Array<{ hash: Hex; bytes: number }> = [];
      for (const b of blobs) {
        await locked(`blob/${b.hash}`, async () => {
          const index = await getOpt(k('obj', objectId, b.kind, b.hash));
          if (index === undefined || parseStoredAt(index) !== b.storedAt) return;
          const marker = b.kind === 'chunk' ? await getOpt(k('chunkf', b.hash)) : undefined;
          const inline = marker === undefined ? await getOpt(k(b.kind, b.hash)) : undefined;
          const size = marker !== undefined ? fileSize(marker) : inline?.byteLength;
          const batch = ds.batch();
          batch.delete(k(b.kind, b.hash));
          if (b.kind === 'chunk') batch.delete(k('chunkf', b.hash));
          batch.delete(k('bind', b.hash));
          batch.delete(k('obj', objectId, b.kind, b.hash));
          await batch.commit();
          // After the index: a crash in between leaves an unreferenced file, never a dangling entry.
          if (marker !== undefined && blobDir !== undefined) await unlink(filePath(b.hash)).catch(() => undefined);
          if (size !== undefined) {
            counts[b.kind === 'chunk' ? 'chunks' : 'manifests']--;
            counts.bytes -= size;
          }
          removed.push({ hash: b.hash, bytes: size ?? 0 });
        });
      }
      return removed;
    },

    async *locators() {
      for await (const { value } of scan('loc/')) yield parseLocator(JSON.parse(fromUtf8(value)));
    },

    async *feedUpdates() {
      for await (const { key, value } of scan('feed-update/')) {
        const address = key.toString().split('/').pop() as Hex;
        yield { address, update: parseFeedUpdate(JSON.parse(fromUtf8(value)), address) };
      }
    },

    async *feedHeads() {
      for await (const { value } of scan('feed-head/')) yield parseFeedHead(JSON.parse(fromUtf8(value)));
    },

    stats: () => ({ ...counts }),

    async sweepStrayFiles(cutoffMs) {
      const out = { files: 0, bytes: 0 };
      if (blobDir === undefined) return out;
      for await (const { name, path } of blobFiles()) {
        const hash = name.endsWith('.tmp') ? undefined : name;
        // Under the blob's lock: a write holds it from the file's rename to its index batch.
        await locked(`blob/${hash ?? name}`, async () => {
          // Nearly every file is indexed: the index lookup comes first, the stat only for strays.
          if (hash !== undefined && (await ds.has(k('chunkf', hash)))) return;
          const info = await stat(path).catch(() => undefined);
          if (info === undefined || info.mtimeMs >= cutoffMs) return;
          await rm(path, { force: true });
          out.files++;
          out.bytes += info.size;
        });
      }
      return out;
    },

    async overwriteBlobUnchecked(kind, hash, bytes) {
      if (kind === 'chunk' && blobDir !== undefined && (await ds.has(k('chunkf', hash)))) await writeFile(filePath(hash), bytes);
      else await ds.put(k(kind, hash), bytes);
    },
  };
}
