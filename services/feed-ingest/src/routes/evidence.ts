import { Sha256Hex as Hash, Type, errorResponses, type ServiceApp } from '@twinledger/service-kit';
import type { DhtNode } from '@twinledger/dht';
import { UnknownFeedError } from '../domain/errors.js';
import type { FeedEvidenceSource } from '../domain/feed-evidence.js';
import type { FeedReader } from '../domain/feed-reader.js';
import type { FeedRegistry } from '../domain/feed-registry.js';
import { FeedParams } from './feeds.js';

const Index = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Record = Type.Object({}, { additionalProperties: true });

const EvidenceAnswer = Type.Object({
  feedId: Hash,
  twinId: Type.String(),
  componentId: Type.String(),
  anchors: Type.Array(
    Type.Object({ txId: Type.String(), fromIndex: Index, toIndex: Index, root: Hash }, { additionalProperties: true }),
    { description: 'the ledger\'s anchors covering the range (fetch their blocks with spec-service GET /twins/:twinId/audit-bundle?feeds=true)' },
  ),
  updates: Type.Array(
    Type.Object({
      update: Record,
      proof: Type.Array(Hash, { description: 'RFC 6962 audit path, leaf side first; empty when no anchor covers the index yet' }),
      manifest: Type.Optional(Record),
      segmentBase64: Type.Optional(Type.String()),
    }),
  ),
  conflicts: Type.Array(Type.Object({ index: Index, updates: Type.Array(Record) }), { description: 'indices where replicas hold different owner-signed updates: equivocation evidence' }),
  unanchoredFrom: Index,
});

export interface EvidenceRoutesDeps {
  readonly reader: FeedReader;
  readonly registry: FeedRegistry;
  readonly evidence: FeedEvidenceSource;
  readonly dht: DhtNode;
}

/** The feed half of an audit bundle (ADR-18; format in packages/audit README). */
export function evidenceRoutes(app: ServiceApp, deps: EvidenceRoutesDeps): void {
  app.get(
    '/feeds/:feedId/evidence',
    {
      schema: {
        summary: 'Owner-signed update records of an index range with inclusion proofs against the anchored Merkle roots on the ledger, the segments (readings) and any conflicting replicas (needs feed:read on the twin)',
        params: FeedParams,
        querystring: Type.Object(
          {
            fromIndex: Index,
            toIndex: Index,
            segments: Type.Optional(Type.Boolean({ default: true, description: 'include manifests and segment bytes' })),
            scanReplicas: Type.Optional(Type.Boolean({ default: false, description: 'ask every live replica of every index for a conflicting update' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: EvidenceAnswer, ...errorResponses },
      },
    },
    async (req) => {
      const { feedId } = req.params;
      await deps.reader.authorize(feedId, req.principal!);
      const local = deps.registry.get(feedId);
      const topic = local?.topic ?? (await deps.dht.feedHead(feedId))?.topic;
      if (topic === undefined) throw new UnknownFeedError('no feed with this id is registered here or has a head in the DHT', { details: { feedId } });
      const [twinId, componentId] = [topic.slice(0, topic.indexOf('/')), topic.slice(topic.indexOf('/') + 1)];
      const e = await deps.evidence.evidence(feedId, twinId, componentId, {
        fromIndex: req.query.fromIndex,
        toIndex: req.query.toIndex,
        segments: req.query.segments ?? true,
        scanReplicas: req.query.scanReplicas ?? false,
      });
      return { ...e, anchors: [...e.anchors], updates: e.updates.map((u) => ({ ...u, proof: [...u.proof] })), conflicts: e.conflicts.map((c) => ({ index: c.index, updates: [...c.updates] })) };
    },
  );
}
