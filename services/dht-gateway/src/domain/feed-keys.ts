import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { feedIdOf, generateSigningKey, signingKeyFromSeed, type FeedWriter } from '@twinledger/dht';
import { ValidationError } from '@twinledger/errors';

/**
 * Feed owner keys, one Ed25519 key per topic, persisted in the gateway's data dir (one file
 * per feed, mode 0600, written atomically) so a restarted gateway keeps appending to its feeds.
 */
export interface FeedRecord {
  readonly feedId: string;
  readonly topic: string;
  readonly objectId: string;
  readonly ownerPublicKey: string;
  readonly parties: readonly string[];
}

export interface FeedKeyStore {
  /** The record and writer for a feed this gateway owns. */
  get(feedId: string): { record: FeedRecord; writer: FeedWriter } | undefined;
  byTopic(topic: string): FeedRecord | undefined;
  /** A fresh owner key for `topic` (not persisted until `save`). */
  newKey(topic: string): { seed: Uint8Array; feedId: string; ownerPublicKey: string };
  save(record: FeedRecord, seed: Uint8Array): Promise<void>;
}

interface FeedFile extends FeedRecord {
  readonly seed: string;
}

function parseFeedFile(raw: unknown, file: string): FeedFile {
  const f = raw as Partial<FeedFile>;
  const hex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  if (
    typeof f !== 'object' || f === null || !hex64(f.feedId) || typeof f.topic !== 'string' || !hex64(f.objectId) ||
    !hex64(f.ownerPublicKey) || !hex64(f.seed) || !Array.isArray(f.parties) || !f.parties.every((p) => typeof p === 'string')
  ) {
    throw new ValidationError('feed key file is malformed', { details: { file } });
  }
  return f as FeedFile;
}

export async function openFeedKeyStore(dir: string): Promise<FeedKeyStore> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const byId = new Map<string, FeedFile>();
  const topics = new Map<string, string>();
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.json')) continue;
    const f = parseFeedFile(JSON.parse(await readFile(join(dir, name), 'utf8')), name);
    // The file is only trusted if its key really derives the feed id it claims.
    if (feedIdOf(signingKeyFromSeed(Buffer.from(f.seed, 'hex')).publicKey, f.topic) !== f.feedId) {
      throw new ValidationError('feed key file does not match its feed id', { details: { file: name } });
    }
    byId.set(f.feedId, f);
    topics.set(f.topic, f.feedId);
  }
  const fileOf = (topic: string): string => join(dir, `${createHash('sha256').update(topic).digest('hex')}.json`);

  return {
    get(feedId) {
      const f = byId.get(feedId);
      if (f === undefined) return undefined;
      const { seed, ...record } = f;
      return { record, writer: { topic: f.topic, objectId: f.objectId, ownerKey: Buffer.from(seed, 'hex') } };
    },
    byTopic(topic) {
      const id = topics.get(topic);
      const f = id === undefined ? undefined : byId.get(id);
      if (f === undefined) return undefined;
      const { seed: _seed, ...record } = f;
      return record;
    },
    newKey(topic) {
      const { seed, key } = generateSigningKey();
      return { seed, feedId: feedIdOf(key.publicKey, topic), ownerPublicKey: key.publicKey };
    },
    async save(record, seed) {
      const f: FeedFile = { ...record, parties: [...record.parties], seed: Buffer.from(seed).toString('hex') };
      const file = fileOf(record.topic);
      await writeFile(`${file}.tmp`, JSON.stringify(f), { mode: 0o600 });
      await rename(`${file}.tmp`, file);
      byId.set(f.feedId, f);
      topics.set(f.topic, f.feedId);
    },
  };
}
