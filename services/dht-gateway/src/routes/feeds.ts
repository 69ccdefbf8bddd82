import type { DhtNode, FeedEntry } from '@twinledger/dht';
import { ValidationError } from '@twinledger/errors';
import { errorResponses, Type, type ServiceApp } from '@twinledger/service-kit';
import { requireAclChange } from '../domain/access.js';
import { FeedEmptyError, FeedExistsError, FeedNotOwnedError, FeedUnknownError, UnsupportedMediaTypeError } from '../domain/errors.js';
import type { FeedKeyStore } from '../domain/feed-keys.js';
import { BinaryBody, FeedParams, Hex64, MspId } from '../domain/schemas.js';

export interface FeedRoutesOptions {
  readonly node: DhtNode;
  readonly keys: FeedKeyStore;
  /** Largest update payload, bytes (413 above). */
  readonly maxUpdateBytes: number;
  /** Most entries one range page returns. */
  readonly maxPageSize: number;
}

const Entry = Type.Object({
  feedId: Hex64,
  index: Type.Integer(),
  timeStart: Type.Integer(),
  timeEnd: Type.Integer(),
  ref: Hex64,
  payload: Type.String({ contentEncoding: 'base64' }),
});
const Feed = Type.Object({ feedId: Hex64, topic: Type.String(), ownerPublicKey: Hex64, objectId: Hex64, parties: Type.Array(Type.String()) });
const FeedAcl = Type.Object({
  feedId: Hex64,
  objectId: Hex64,
  owner: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'the feed owner\'s Ed25519 public key' }),
  version: Type.Integer({ minimum: 1, description: 'ACL version: every change adds one' }),
  parties: Type.Array(Type.String()),
});
const Millis = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'ms since the epoch' });

const toWire = (e: FeedEntry) => ({ feedId: e.feedId, index: e.index, timeStart: e.timeStart, timeEnd: e.timeEnd, ref: e.ref, payload: Buffer.from(e.payload).toString('base64') });

/**
 * Feeds: this gateway holds one owner key per topic (persisted); any consortium member's
 * gateway can read a feed's updates whose ACL names its party.
 */
export async function feedRoutes(app: ServiceApp, opts: FeedRoutesOptions): Promise<void> {
  const { node, keys, maxUpdateBytes, maxPageSize } = opts;
  // Feed segments are small and bounded: buffered, with Fastify's own limit (413).
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: maxUpdateBytes }, (_req, body, done) => done(null, body));
  // Creating the same topic twice at once must not mint two keys for it.
  const creating = new Map<string, Promise<unknown>>();

  app.post(
    '/feeds',
    {
      schema: {
        tags: ['feeds'],
        summary: 'Create a feed (this gateway keeps its owner key); idempotent for the same topic and ACL',
        body: Type.Object(
          { topic: Type.String({ minLength: 1, maxLength: 256 }), acl: Type.Array(MspId, { minItems: 1, maxItems: 64, uniqueItems: true }) },
          { additionalProperties: false },
        ),
        response: { 200: Feed, 201: Feed, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { topic, acl } = req.body;
      while (creating.has(topic)) await creating.get(topic)?.catch(() => undefined);
      const existing = keys.byTopic(topic);
      const wanted = [...new Set(acl)].sort();
      if (existing !== undefined) {
        if (JSON.stringify([...existing.parties].sort()) !== JSON.stringify(wanted)) {
          throw new FeedExistsError('the topic already has a feed with another ACL', { details: { feedId: existing.feedId, parties: existing.parties } });
        }
        return reply.code(200).send({ ...existing, parties: [...existing.parties] });
      }
      const work = (async () => {
        const k = keys.newKey(topic);
        const info = await node.createFeed({ topic, ownerKey: k.seed, acl: wanted });
        const record = { feedId: info.feedId, topic, objectId: info.objectId, ownerPublicKey: info.owner, parties: wanted };
        // Persisted only once the DHT holds the feed's ACL: a failed create leaves no key behind.
        await keys.save(record, k.seed);
        return record;
      })();
      creating.set(topic, work);
      try {
        const record = await work;
        req.log.info({ feedId: record.feedId, topic }, 'feed created');
        return reply.code(201).send(record);
      } finally {
        creating.delete(topic);
      }
    },
  );

  app.post(
    '/feeds/:feedId/updates',
    {
      bodyLimit: maxUpdateBytes,
      schema: {
        tags: ['feeds'],
        summary: 'Append the update at x-feed-index (signed, encrypted, replicated); idempotent for the same bytes',
        consumes: ['application/octet-stream'],
        params: FeedParams,
        headers: Type.Object({
          'x-feed-index': Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
          'x-range-start': Millis,
          'x-range-end': Millis,
        }),
        body: BinaryBody,
        response: {
          201: Type.Object({ feedId: Hex64, index: Type.Integer(), ref: Hex64, seq: Type.Integer(), duplicate: Type.Boolean() }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const feed = keys.get(req.params.feedId);
      if (feed === undefined) throw new FeedNotOwnedError('this gateway holds no owner key for the feed', { details: { feedId: req.params.feedId } });
      if (!Buffer.isBuffer(req.body)) throw new UnsupportedMediaTypeError('the body must be application/octet-stream');
      const h = req.headers;
      const out = await node.appendFeed(feed.writer, h['x-feed-index'], new Uint8Array(req.body), { start: h['x-range-start'], end: h['x-range-end'] });
      return reply.code(201).send({ feedId: out.feedId, index: out.index, ref: out.ref, seq: out.seq, duplicate: out.duplicate });
    },
  );

  /** The feed's object id: from this gateway's own record, else from the feed head any member can read. */
  async function feedObjectId(feedId: string): Promise<string> {
    const own = keys.get(feedId);
    if (own !== undefined) return own.record.objectId;
    const head = await node.feedHead(feedId);
    if (head === undefined) {
      throw new FeedUnknownError('no gateway-owned record and no head for the feed: its ACL cannot be located (a feed with no update is found only through its owning gateway)', { details: { feedId } });
    }
    return head.objectId;
  }

  app.get(
    '/feeds/:feedId/acl',
    {
      schema: {
        tags: ['feeds'],
        summary: "The feed's ACL (highest verified version among its replicas); readable through any member's gateway",
        params: FeedParams,
        response: { 200: FeedAcl, ...errorResponses },
      },
    },
    async (req) => {
      const acl = await node.getObjectAcl(await feedObjectId(req.params.feedId));
      return { feedId: req.params.feedId, objectId: acl.objectId, owner: acl.owner, version: acl.version, parties: [...acl.parties] };
    },
  );

  // One ACL change per feed at a time: versions are read-then-incremented.
  const changing = new Map<string, Promise<unknown>>();

  app.put(
    '/feeds/:feedId/acl',
    {
      schema: {
        tags: ['feeds'],
        summary: "Replace the feed's ACL (owning gateway only): a new signed version on 2k+1 replicas; segments appended afterwards are readable by the new parties only",
        params: FeedParams,
        body: Type.Object({ parties: Type.Array(MspId, { minItems: 1, maxItems: 64, uniqueItems: true }) }, { additionalProperties: false }),
        response: { 200: FeedAcl, ...errorResponses },
      },
    },
    async (req) => {
      // Feeds have no orphans to narrow: every change is the key manager's.
      requireAclChange(req.principal, req.body.parties, node.mspId, { narrowingAllowed: false });
      const { feedId } = req.params;
      while (changing.has(feedId)) await changing.get(feedId)?.catch(() => undefined);
      const work = (async () => {
        const feed = keys.get(feedId);
        if (feed === undefined) throw new FeedNotOwnedError('this gateway holds no owner key for the feed', { details: { feedId } });
        const parties = [...new Set(req.body.parties)].sort();
        const { version } = await node.updateFeedAcl(feed.writer, parties);
        // The DHT holds the new version first; the local record follows (it answers POST /feeds' idempotency check).
        await keys.save({ ...feed.record, parties }, feed.writer.ownerKey);
        return { feedId, objectId: feed.record.objectId, owner: feed.record.ownerPublicKey, version, parties };
      })();
      changing.set(feedId, work);
      try {
        const out = await work;
        req.log.info({ feedId, version: out.version, parties: out.parties }, 'feed ACL changed');
        return out;
      } finally {
        changing.delete(feedId);
      }
    },
  );

  app.get(
    '/feeds/:feedId/latest',
    { schema: { tags: ['feeds'], summary: 'The latest update with its decrypted payload', params: FeedParams, response: { 200: Entry, ...errorResponses } } },
    async (req) => {
      const e = await node.latest(req.params.feedId);
      if (e === undefined) throw new FeedEmptyError('the feed has no update yet', { details: { feedId: req.params.feedId } });
      return toWire(e);
    },
  );

  app.get(
    '/feeds/:feedId/updates',
    {
      schema: {
        tags: ['feeds'],
        summary: 'Updates by index range or by time range (one of the two), one bounded page',
        params: FeedParams,
        querystring: Type.Object(
          {
            fromIndex: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
            toIndex: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
            fromTime: Type.Optional(Millis),
            toTime: Type.Optional(Millis),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: maxPageSize })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            entries: Type.Array(Entry),
            next: Type.Optional(Type.Union([Type.Object({ fromIndex: Type.Integer(), toIndex: Type.Integer() }), Type.Object({ fromTime: Type.Integer(), toTime: Type.Integer() })])),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { fromIndex, toIndex, fromTime, toTime } = req.query;
      const limit = req.query.limit ?? maxPageSize;
      const byIndex = fromIndex !== undefined && toIndex !== undefined && fromTime === undefined && toTime === undefined;
      const byTime = fromTime !== undefined && toTime !== undefined && fromIndex === undefined && toIndex === undefined;
      if (!byIndex && !byTime) throw new ValidationError('give fromIndex and toIndex, or fromTime and toTime');
      if (byIndex) {
        if (toIndex < fromIndex) throw new ValidationError('toIndex must be >= fromIndex');
        const last = Math.min(toIndex, fromIndex + limit - 1);
        const entries = await node.rangeByIndex(req.params.feedId, fromIndex, last);
        const full = last < toIndex && entries.at(-1)?.index === last;
        return { entries: entries.map(toWire), ...(full ? { next: { fromIndex: last + 1, toIndex } } : {}) };
      }
      const from = fromTime as number;
      const to = toTime as number;
      if (to < from) throw new ValidationError('toTime must be >= fromTime');
      const entries = await node.rangeByTime(req.params.feedId, from, to, limit);
      const lastEnd = entries.at(-1)?.timeEnd;
      // Time ranges grow with the index, so the next page starts right after this page's end.
      const full = entries.length === limit && lastEnd !== undefined && lastEnd < to;
      return { entries: entries.map(toWire), ...(full ? { next: { fromTime: (lastEnd as number) + 1, toTime: to } } : {}) };
    },
  );
}
