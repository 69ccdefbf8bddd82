import { MspId } from '@twinledger/ledger-gateway';
import { Sha256Hex, Type, errorResponses, type ServiceApp } from '@twinledger/service-kit';
import type { DhtNode } from '@twinledger/dht';
import { READING_LIMITS } from '@twinledger/readings';
import { checkRange, expectedRangeFromAml } from '../domain/expected-range.js';
import { Permissions } from '@twinledger/ledger';
import { FeedExistsError, InvalidRangeError } from '../domain/errors.js';
import type { FeedAccess } from '../domain/feed-access.js';
import type { FeedRecord, FeedRegistry } from '../domain/feed-registry.js';

const Id = Type.String({ minLength: 1, maxLength: READING_LIMITS.maxIdLength, pattern: '^[A-Za-z0-9._:-]+$' });
const ValueSchema = Type.Union([
  Type.Object({ kind: Type.Literal('scalar') }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('named'), names: Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$', maxLength: 64 }), { minItems: 1, maxItems: 32, uniqueItems: true }) }, { additionalProperties: false }),
]);
const Range = Type.Object({ min: Type.Number(), max: Type.Number() }, { additionalProperties: false });

/** The documented registration: the expected range read from the sensor's AML element. */
const REGISTRATION_EXAMPLE = {
  twinId: 'plant-1',
  componentId: 'sensor-pressure-1',
  unit: 'bar',
  aml:
    '<InternalElement Name="PressureSensor" ID="sensor-pressure-1">' +
    '<Attribute Name="ExpectedMin" AttributeDataType="xs:double" Unit="bar"><Value>1.5</Value></Attribute>' +
    '<Attribute Name="ExpectedMax" AttributeDataType="xs:double" Unit="bar"><Value>6</Value></Attribute></InternalElement>',
};

export const FeedSchema = Type.Object({
  feedId: Type.String(),
  objectId: Type.String(),
  topic: Type.String(),
  twinId: Type.String(),
  componentId: Type.String(),
  unit: Type.String(),
  valueSchema: ValueSchema,
  expectedRange: Range,
  acl: Type.Array(Type.String()),
  aclLimit: Type.Optional(Type.Array(Type.String())),
  ownerPublicKey: Type.String(),
  createdAt: Type.String(),
});

export const FeedParams = Type.Object({ feedId: Sha256Hex });

export interface FeedRoutesDeps {
  readonly registry: FeedRegistry;
  readonly dht: DhtNode;
  readonly ownerKey: Uint8Array;
  readonly ownerPublicKey: string;
  readonly mspId: string;
  readonly access: FeedAccess;
}

export function feedRoutes(app: ServiceApp, deps: FeedRoutesDeps): void {
  app.post(
    '/feeds',
    {
      schema: {
        summary: 'Register a sensor feed (needs feed:register on the twin on the ledger; creates the DHT feed shared with the organizations holding feed:read on the twin); unknown feeds are refused at ingest',
        body: Type.Object(
          {
            twinId: Id,
            componentId: Id,
            unit: Type.String({ maxLength: READING_LIMITS.maxUnitLength }),
            valueSchema: Type.Optional(ValueSchema),
            expectedRange: Type.Optional(Range),
            aml: Type.Optional(Type.String({ minLength: 1, maxLength: 1_000_000, description: 'AML fragment holding the sensor element (ExpectedMin/ExpectedMax attributes), or a whole CAEX document. Read with the chaincode\'s AML rules and limits (@twinledger/aml): 400 AML_INVALID, DOCTYPE_FORBIDDEN, DUPLICATE_ID, 413 TOO_LARGE; 400 INVALID_EXPECTED_RANGE without exactly one min and max' })),
            acl: Type.Optional(
              Type.Array(MspId, {
                minItems: 1,
                maxItems: 64,
                uniqueItems: true,
                description: 'Optional narrowing only: the feed is shared with the organizations holding feed:read on the twin on the ledger, intersected with this list (this organization always included); never widened by it',
              }),
            ),
          },
          { additionalProperties: false, examples: [REGISTRATION_EXAMPLE] },
        ),
        response: { 201: FeedSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if ((b.expectedRange === undefined) === (b.aml === undefined)) throw new InvalidRangeError('give exactly one of expectedRange or aml');
      const expectedRange = b.expectedRange ? checkRange(b.expectedRange) : expectedRangeFromAml(b.aml!, b.componentId);
      await deps.access.require(req.principal!, b.twinId, Permissions.FEED_REGISTER);
      const topic = `${b.twinId}/${b.componentId}`;
      const aclLimit = b.acl === undefined ? undefined : [...new Set([deps.mspId, ...b.acl])].sort();
      // The party set comes from the ledger; the request can only narrow it.
      const acl = (await deps.access.readers(b.twinId)).filter((p) => aclLimit === undefined || aclLimit.includes(p));
      const existing = deps.registry.byTopic(topic);
      if (existing) throw new FeedExistsError('this twin component already has a feed', { details: { feedId: existing.feedId } });
      const info = await deps.dht.createFeed({ topic, ownerKey: deps.ownerKey, acl });
      const record: FeedRecord = {
        feedId: info.feedId,
        objectId: info.objectId,
        topic,
        twinId: b.twinId,
        componentId: b.componentId,
        unit: b.unit,
        valueSchema: b.valueSchema ?? { kind: 'scalar' },
        expectedRange,
        acl,
        ...(aclLimit !== undefined ? { aclLimit } : {}),
        ownerPublicKey: deps.ownerPublicKey,
        createdAt: new Date().toISOString(),
      };
      await deps.registry.add(record);
      req.log.info({ feedId: record.feedId, topic }, 'feed registered');
      return reply.code(201).send(record);
    },
  );

  app.get(
    '/feeds',
    { schema: { summary: 'Feeds registered here on whose twins the ledger grants the caller feed:read', response: { 200: Type.Object({ feeds: Type.Array(FeedSchema) }), ...errorResponses } } },
    async (req) => {
      const feeds = deps.registry.list();
      const byTwin = new Map<string, Promise<boolean>>();
      // A feed registered before its twin was on the ledger (or after the twin was removed) is
      // nobody's to read: hidden, not a failure of the whole listing.
      const orHidden = (err: unknown): boolean => {
        if ((err as { code?: string }).code === 'NOT_FOUND') return false;
        throw err;
      };
      for (const f of feeds) if (!byTwin.has(f.twinId)) byTwin.set(f.twinId, deps.access.allows(req.principal!, f.twinId, Permissions.FEED_READ).catch(orHidden));
      const readable = await Promise.all(feeds.map((f) => byTwin.get(f.twinId)!));
      return { feeds: feeds.filter((_, i) => readable[i]) };
    },
  );

  app.get(
    '/feeds/:feedId',
    { schema: { summary: 'One registered feed', params: FeedParams, response: { 200: FeedSchema, ...errorResponses } } },
    async (req) => {
      const feed = deps.registry.require(req.params.feedId);
      await deps.access.require(req.principal!, feed.twinId, Permissions.FEED_READ);
      return feed;
    },
  );
}
