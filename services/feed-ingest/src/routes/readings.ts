import { Type, errorResponses, type ServiceApp } from '@twinledger/service-kit';
import { validateReading, ReadingValidationError, type Reading } from '@twinledger/readings';
import { BatchRejectedError } from '../domain/errors.js';
import type { Ingest } from '../domain/ingest.js';

export interface ReadingRoutesDeps {
  readonly ingest: Ingest;
  readonly maxReadingsPerRequest: number;
}

/**
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
        summary: 'Ingest a batch of readings (JSON array, {readings:[...]}, or NDJSON); 202 once Kafka acknowledged them (acks=all)',
        body: Type.Union([Type.Array(Type.Unknown()), Type.Object({ readings: Type.Array(Type.Unknown()) }, { additionalProperties: false })]),
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
      const accepted = await deps.ingest.accept(readings);
      return reply.code(202).send({ accepted });
    },
  );
}
