import { Type, errorResponses, type ServiceApp } from '@twinledger/service-kit';
import { validateReading, ReadingValidationError, type Reading } from '@twinledger/readings';
import { BatchRejectedError } from '../domain/errors.js';
import { Permissions } from '@twinledger/ledger';
import type { FeedAccess } from '../domain/feed-access.js';
import type { FeedRegistry } from '../domain/feed-registry.js';
import type { Ingest } from '../domain/ingest.js';

export interface ReadingRoutesDeps {
  readonly ingest: Ingest;
  readonly registry: FeedRegistry;
  readonly access: FeedAccess;
  readonly maxReadingsPerRequest: number;
}

/**
 * Writing readings over REST needs the chaincode's feed write permission (`feed:register`, the
 * one addSensorFeed requires) on the twin of every feed in the batch, for the caller's own
 * identity. Readings on Kafka (`dt.readings`) are not checked per message: that topic is the
 * organization's internal device stream, written by its device agents under the org's own
 * broker ACLs, and trusted as such.
 *
 * POST /readings takes a JSON array of readings, `{"readings": [...]}`, or NDJSON
 * (`application/x-ndjson`, one reading per line): the compact form for devices that stream.
 */
export function readingRoutes(app: ServiceApp, deps: ReadingRoutesDeps): void {
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_req, body, done) => {
    const lines = (body as string).split('\n');
    const out: unknown[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line.length === 0) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        done(new ReadingValidationError('MALFORMED_JSON', 'an NDJSON line is not JSON', { line: i + 1 }), undefined);
        return;
      }
    }
    done(null, out);
  });

  app.post(
    '/readings',
    {
      schema: {
        summary: 'Ingest a batch of readings (JSON array, {readings:[...]}, or NDJSON); needs feed:register on each feed\'s twin on the ledger; 202 once Kafka acknowledged them (acks=all)',
        body: Type.Union([Type.Array(Type.Unknown()), Type.Object({ readings: Type.Array(Type.Unknown()) }, { additionalProperties: false })], {
          // The feed ID is the one POST /feeds answered; v a number, or named values ({ "p": 3.2, "t": 21.5 }).
          examples: [[{ feed: 'f'.repeat(64), component: 'sensor-pressure-1', ts: 1_767_225_600_000, v: 3.2, u: 'bar' }, { feed: 'f'.repeat(64), component: 'sensor-pressure-1', ts: 1_767_225_600_250, v: 3.3, u: 'bar' }]],
        }),
        response: {
          202: Type.Object({ accepted: Type.Integer() }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const items = Array.isArray(req.body) ? req.body : req.body.readings;
      if (items.length === 0 || items.length > deps.maxReadingsPerRequest) {
        throw new BatchRejectedError(`a request carries 1..${deps.maxReadingsPerRequest} readings`, { details: { count: items.length, max: deps.maxReadingsPerRequest } });
      }
      const readings = new Array<Reading>(items.length);
      for (let i = 0; i < items.length; i++) readings[i] = validateReading(items[i], i);
      const twins = new Set<string>();
      for (const r of readings) twins.add(deps.registry.require(r.feed).twinId);
      await Promise.all([...twins].map((t) => deps.access.require(req.principal!, t, Permissions.FEED_REGISTER)));
      const accepted = await deps.ingest.accept(readings);
      return reply.code(202).send({ accepted });
    },
  );
}
