import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reading } from '@twinledger/readings';
import { FeedExistsError, FeedMismatchError, UnknownFeedError } from './errors.js';
import type { ExpectedRange } from './expected-range.js';

/** What a feed's readings must look like: one number, or exactly these named numbers. */
export type ValueSchema = { readonly kind: 'scalar' } | { readonly kind: 'named'; readonly names: string[] };

export interface FeedRecord {
  readonly feedId: string;
  /** The DHT object id that carries the feed's ACL (needed to append). */
  readonly objectId: string;
  readonly topic: string;
  readonly twinId: string;
  readonly componentId: string;
  readonly unit: string;
  readonly valueSchema: ValueSchema;
  readonly expectedRange: ExpectedRange;
  /**
   * MSP ids the feed's segments are currently encrypted for: the organizations holding
   * `feed:read` on the twin on the ledger (always including the owning organization), kept in
   * line by the ACL reconciler.
   */
  readonly acl: string[];
  /** The registrant's optional narrowing (`acl` of POST /feeds): the party set never leaves it. */
  readonly aclLimit?: string[];
  readonly ownerPublicKey: string;
  readonly createdAt: string;
}

/** The registered feeds of this organization, durable in `<dataDir>/feeds.json`. */
export interface FeedRegistry {
  get(feedId: string): FeedRecord | undefined;
  require(feedId: string): FeedRecord;
  list(): FeedRecord[];
  byTopic(topic: string): FeedRecord | undefined;
  add(record: FeedRecord): Promise<void>;
  /** Records the feed's new party set (after the DHT ACL was changed). */
  setAcl(feedId: string, acl: readonly string[]): Promise<void>;
}

export async function openFeedRegistry(dataDir: string): Promise<FeedRegistry> {
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, 'feeds.json');
  const feeds = new Map<string, FeedRecord>();
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { feeds: FeedRecord[] };
    for (const f of parsed.feeds) feeds.set(f.feedId, f);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // Serialized writes; each one is a whole-file replace via rename, so a crash never leaves half a file.
  let writing: Promise<void> = Promise.resolve();
  const persist = (): Promise<void> => {
    writing = writing.then(async () => {
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify({ feeds: [...feeds.values()] }, null, 1), { mode: 0o600 });
      await rename(tmp, file);
    });
    return writing;
  };
  return {
    get: (id) => feeds.get(id),
    require(id) {
      const f = feeds.get(id);
      if (!f) throw new UnknownFeedError('no feed with this id is registered here', { details: { feedId: id } });
      return f;
    },
    list: () => [...feeds.values()],
    byTopic: (topic) => [...feeds.values()].find((f) => f.topic === topic),
    async add(record) {
      if (feeds.has(record.feedId) || [...feeds.values()].some((f) => f.topic === record.topic)) {
        throw new FeedExistsError('this twin component already has a feed', { details: { feedId: record.feedId } });
      }
      feeds.set(record.feedId, record);
      try {
        await persist();
      } catch (err) {
        feeds.delete(record.feedId);
        throw err;
      }
    },
    async setAcl(feedId, acl) {
      const f = feeds.get(feedId);
      if (!f) throw new UnknownFeedError('no feed with this id is registered here', { details: { feedId } });
      feeds.set(feedId, { ...f, acl: [...acl] });
      await persist();
    },
  };
}

/** Checks a validated reading against its feed's registration (component, unit, value shape). */
export function checkReadingFits(feed: FeedRecord, r: Reading, index?: number): void {
  const at = index === undefined ? {} : { index };
  if (r.component !== feed.componentId) throw new FeedMismatchError('the reading names another component than its feed', { details: { ...at, field: 'component' } });
  if (r.u !== feed.unit) throw new FeedMismatchError('the reading has another unit than its feed', { details: { ...at, field: 'u', expected: feed.unit } });
  const schema = feed.valueSchema;
  if (schema.kind === 'scalar') {
    if (typeof r.v !== 'number') throw new FeedMismatchError('the feed takes a single number', { details: { ...at, field: 'v' } });
  } else {
    if (typeof r.v === 'number') throw new FeedMismatchError('the feed takes named values', { details: { ...at, field: 'v' } });
    const names = Object.keys(r.v);
    if (names.length !== schema.names.length || names.some((n) => !schema.names.includes(n))) {
      throw new FeedMismatchError('the reading names other values than its feed', { details: { ...at, field: 'v', expected: schema.names } });
    }
  }
}

/** Values of a reading outside the expected range (empty when all fit). */
export function outOfRange(feed: FeedRecord, r: Reading): { name: string; value: number }[] {
  const { min, max } = feed.expectedRange;
  if (typeof r.v === 'number') return r.v < min || r.v > max ? [{ name: '', value: r.v }] : [];
  const out: { name: string; value: number }[] = [];
  for (const name in r.v) {
    const x = r.v[name]!;
    if (x < min || x > max) out.push({ name, value: x });
  }
  return out;
}
