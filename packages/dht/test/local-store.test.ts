import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { LevelDatastore } from 'datastore-level';
import { Key } from 'interface-datastore';
import { silentLogger } from '@twinledger/observability';
import { createGarbageCollector } from '../src/gc.js';
import { createLocalStore, type LocalStore } from '../src/local-store.js';

const hashOf = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const objectId = 'ab'.repeat(32);

/** A store on a real LevelDB and blob directory, reopenable on the same disk (a restart). */
async function openStore(dir: string): Promise<{ store: LocalStore; ds: LevelDatastore; close(): Promise<void> }> {
  const ds = new LevelDatastore(join(dir, 'store'));
  await ds.open();
  const store = createLocalStore(ds, { blobDir: join(dir, 'blobs') });
  await store.open();
  return { store, ds, close: () => ds.close() };
}

describe('local store: chunk bodies as files', () => {
  const dirs: string[] = [];
  const tempDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'twinledger-store-'));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('stores a body given as pieces (a writer\'s sealed chunk) as their bytes in order, as a file and inline', async () => {
    const dir = await tempDir();
    const { store, close } = await openStore(dir);
    for (const size of [256 * 1024, 4096]) {
      const pieces = [randomBytes(12), randomBytes(size), new Uint8Array(0), randomBytes(16)];
      const whole = Buffer.concat(pieces);
      const hash = hashOf(whole);
      expect(await store.putBlob('chunk', hash, objectId, pieces)).toBe('stored');
      expect(Buffer.compare(Buffer.from((await store.getBlob('chunk', hash))!.bytes), whole)).toBe(0);
      expect(await store.putBlob('chunk', hash, objectId, pieces)).toBe('duplicate');
    }
    expect(existsSync(join(dir, 'blobs'))).toBe(true);
    expect(store.stats()).toMatchObject({ chunks: 2, bytes: 12 + 256 * 1024 + 16 + 12 + 4096 + 16 });
    await close();
  });

  it('keeps the body in a file named by its hash and only its size in LevelDB; reads, counts and deletes it', async () => {
    const dir = await tempDir();
    const { store, ds, close } = await openStore(dir);
    const body = randomBytes(256 * 1024);
    const hash = hashOf(body);
    expect(await store.putBlob('chunk', hash, objectId, body)).toBe('stored');
    const file = join(dir, 'blobs', hash.slice(0, 2), hash);
    expect(Buffer.compare(await readFile(file), body)).toBe(0);
    expect(new TextDecoder().decode(await ds.get(new Key(`/twinledger/chunkf/${hash}`)))).toBe(String(body.byteLength));
    expect(await ds.has(new Key(`/twinledger/chunk/${hash}`))).toBe(false);
    const got = await store.getBlob('chunk', hash);
    expect(got?.objectId).toBe(objectId);
    expect(Buffer.compare(Buffer.from(got!.bytes), body)).toBe(0);
    expect(await store.putBlob('chunk', hash, objectId, body)).toBe('duplicate');
    expect(store.stats()).toMatchObject({ chunks: 1, bytes: body.byteLength });

    // Manifests and small chunks (feed segments) stay in LevelDB, where small values are cheaper than files.
    const manifest = randomBytes(500);
    await store.putBlob('manifest', hashOf(manifest), objectId, manifest);
    expect(await ds.has(new Key(`/twinledger/manifest/${hashOf(manifest)}`))).toBe(true);
    const segment = randomBytes(4096);
    await store.putBlob('chunk', hashOf(segment), objectId, segment);
    expect(await ds.has(new Key(`/twinledger/chunk/${hashOf(segment)}`))).toBe(true);
    expect(existsSync(join(dir, 'blobs', hashOf(segment).slice(0, 2), hashOf(segment)))).toBe(false);
    expect(Buffer.compare(Buffer.from((await store.getBlob('chunk', hashOf(segment)))!.bytes), segment)).toBe(0);

    const [held] = await collect(store.objects());
    const chunk = held!.blobs.find((b) => b.hash === hash)!;
    expect(await store.deleteBlobs(objectId, [chunk])).toEqual([{ hash, bytes: body.byteLength }]);
    expect(existsSync(file)).toBe(false);
    expect(await store.getBlob('chunk', hash)).toBeUndefined();
    expect(store.stats()).toMatchObject({ chunks: 1, manifests: 1, bytes: manifest.byteLength + segment.byteLength });
    await close();
  });

  it('comes back after a restart with its chunks and counts, and drops temporary files of interrupted writes', async () => {
    const dir = await tempDir();
    let s = await openStore(dir);
    const bodies = [randomBytes(100_000), randomBytes(200_000)];
    for (const b of bodies) await s.store.putBlob('chunk', hashOf(b), objectId, b);
    await s.close();
    const orphan = join(dir, 'blobs', hashOf(bodies[0]!).slice(0, 2), `${hashOf(bodies[0]!)}.0123abcd.tmp`);
    await writeFile(orphan, randomBytes(10));

    s = await openStore(dir);
    expect(s.store.stats()).toMatchObject({ chunks: 2, bytes: 300_000 });
    for (const b of bodies) expect(Buffer.compare(Buffer.from((await s.store.getBlob('chunk', hashOf(b)))!.bytes), b)).toBe(0);
    expect(existsSync(orphan)).toBe(false);
    await s.close();
  });

  it('treats an indexed chunk whose file is gone as missing, and a re-sent copy restores it without counting it twice', async () => {
    const dir = await tempDir();
    const { store, close } = await openStore(dir);
    const body = randomBytes(65_536);
    const hash = hashOf(body);
    await store.putBlob('chunk', hash, objectId, body);
    await unlink(join(dir, 'blobs', hash.slice(0, 2), hash));
    expect(await store.hasBlob('chunk', hash)).toBe(false);
    expect(await store.getBlob('chunk', hash)).toBeUndefined();
    expect(await store.putBlob('chunk', hash, objectId, body)).toBe('stored');
    expect(await store.hasBlob('chunk', hash)).toBe(true);
    expect(store.stats()).toMatchObject({ chunks: 1, bytes: 65_536 });
    await close();
  });

  it('garbage collection removes stray chunk files older than the grace period, never indexed or young ones', async () => {
    const dir = await tempDir();
    const { store, close } = await openStore(dir);
    const indexed = randomBytes(100_000);
    await store.putBlob('chunk', hashOf(indexed), objectId, indexed);
    // A crash between a file's rename and its index batch leaves a file no entry names.
    const place = async (body: Uint8Array, ageMs: number): Promise<string> => {
      const hash = hashOf(body);
      await mkdir(join(dir, 'blobs', hash.slice(0, 2)), { recursive: true });
      const path = join(dir, 'blobs', hash.slice(0, 2), hash);
      await writeFile(path, body);
      const when = new Date(Date.now() - ageMs);
      await utimes(path, when, when);
      return path;
    };
    const old = await place(randomBytes(70_000), 3_600_000);
    const young = await place(randomBytes(80_000), 0);
    const oldIndexed = join(dir, 'blobs', hashOf(indexed).slice(0, 2), hashOf(indexed));
    const longAgo = new Date(Date.now() - 3_600_000);
    await utimes(oldIndexed, longAgo, longAgo);

    const gc = createGarbageCollector({ graceMs: 60_000, intervalMs: 0 }, { store, logger: silentLogger() });
    const report = await gc.runOnce();
    expect(report).toMatchObject({ strayFilesRemoved: 1, chunksRemoved: 0, bytesRemoved: 70_000 });
    expect(existsSync(old)).toBe(false);
    expect(existsSync(young)).toBe(true);
    expect(Buffer.compare(Buffer.from((await store.getBlob('chunk', hashOf(indexed)))!.bytes), indexed)).toBe(0);
    await close();
  });

  it('still reads and deletes chunks stored inside LevelDB by earlier versions', async () => {
    const dir = await tempDir();
    const { store, ds, close } = await openStore(dir);
    const body = randomBytes(256 * 1024);
    const hash = hashOf(body);
    const enc = new TextEncoder();
    // The layout before blob files: body, binding and index entry all in LevelDB.
    await ds.put(new Key(`/twinledger/chunk/${hash}`), body);
    await ds.put(new Key(`/twinledger/bind/${hash}`), enc.encode(objectId));
    await ds.put(new Key(`/twinledger/obj/${objectId}/chunk/${hash}`), enc.encode(String(Date.now())));
    expect(await store.hasBlob('chunk', hash)).toBe(true);
    expect(Buffer.compare(Buffer.from((await store.getBlob('chunk', hash))!.bytes), body)).toBe(0);
    const [held] = await collect(store.objects());
    expect(await store.deleteBlobs(objectId, held!.blobs)).toEqual([{ hash, bytes: 256 * 1024 }]);
    expect(await ds.has(new Key(`/twinledger/chunk/${hash}`))).toBe(false);
    expect(await readdir(join(dir, 'blobs'))).toEqual([]);
    await close();
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
