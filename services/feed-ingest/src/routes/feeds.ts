import { Type, errorResponses, type ServiceApp } from '@twinledger/service-kit';
import type { DhtNode } from '@twinledger/dht';
import { READING_LIMITS } from '@twinledger/readings';
import { checkRange, expectedRangeFromAml } from '../domain/expected-range.js';
import { AccessDeniedError } from '@twinledger/errors';
import { FeedExistsError, InvalidRangeError } from '../domain/errors.js';
import type { FeedRecord, FeedRegistry } from '../domain/feed-registry.js';

const Id = Type.String({ minLength: 1, maxLength: READING_LIMITS.maxIdLength, pattern: '^[A-Za-z0-9._:-]+$' });
const MspId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._-]+$' });
const ValueSchema = Type.Union([
  Type.Object({ kind: Type.Literal('scalar') }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('named'), names: Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$', maxLength: 64 }), { minItems: 1, maxItems: 32, uniqueItems: true }) }, { additionalProperties: false }),
]);
const Range = Type.Object({ min: Type.Number(), max: Type.Number() }, { additionalProperties: false });

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
  ownerPublicKey: Type.String(),
  createdAt: Type.String(),
});

export const FeedParams = Type.Object({ feedId: Type.String({ pattern: '^[0-9a-f]{64}$' }) });

export interface FeedRoutesDeps {
  readonly registry: FeedRegistry;
  readonly dht: DhtNode;
  readonly ownerKey: Uint8Array;
  readonly ownerPublicKey: string;
  readonly mspId: string;
}

export function feedRoutes(app: ServiceApp, deps: FeedRoutesDeps): void {
  app.post(
    '/feeds',
    {
      schema: {
        summary: 'Register a sensor feed (creates the DHT feed with its ACL); unknown feeds are refused at ingest',
        body: Type.Object(
          {
            twinId: Id,
            componentId: Id,
            unit: Type.String({ maxLength: READING_LIMITS.maxUnitLength }),
            valueSchema: Type.Optional(ValueSchema),
            expectedRange: Type.Optional(Range),
            aml: Type.Optional(Type.String({ minLength: 1, maxLength: 1_000_000, description: 'AML fragment holding the sensor element (ExpectedMin/ExpectedMax attributes)' })),
            acl: Type.Array(MspId, { minItems: 1, maxItems: 64, uniqueItems: true }),
          },
          { additionalProperties: false },
        ),
        response: { 201: FeedSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if ((b.expectedRange === undefined) === (b.aml === undefined)) throw new InvalidRangeError('give exactly one of expectedRange or aml');
      const expectedRange = b.expectedRange ? checkRange(b.expectedRange) : expectedRangeFromAml(b.aml!, b.componentId);
      const topic = `${b.twinId}/${b.componentId}`;
      const acl = [...new Set([deps.mspId, ...b.acl])].sort();
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
    { schema: { summary: 'Feeds registered here that the caller\'s organization may read', response: { 200: Type.Object({ feeds: Type.Array(FeedSchema) }), ...errorResponses } } },
    async (req) => ({ feeds: deps.registry.list().filter((f) => f.acl.includes(req.principal!.mspId)) }),
  );

  app.get(
    '/feeds/:feedId',
    { schema: { summary: 'One registered feed', params: FeedParams, response: { 200: FeedSchema, ...errorResponses } } },
    async (req) => {
      const feed = deps.registry.require(req.params.feedId);
      if (!feed.acl.includes(req.principal!.mspId)) throw new AccessDeniedError('your organization is not in this feed\'s ACL', { details: { feedId: feed.feedId } });
      return feed;
    },
  );
}
