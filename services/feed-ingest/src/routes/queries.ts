import type { ReadingsProofEdge } from '@twinledger/audit';
import { ValidationError } from '@twinledger/errors';
import { Sha256Hex, Type, errorResponses, type ServiceApp } from '@twinledger/service-kit';
import type { EventEmitter } from 'node:events';
import { ProofUnavailableError } from '../domain/errors.js';
import type { FeedEvidenceSource } from '../domain/feed-evidence.js';
import type { FeedReader } from '../domain/feed-reader.js';
import type { AnomalyEvent, AppendedSegment } from '../domain/segment-builder.js';
import { FeedParams } from './feeds.js';

const ReadingSchema = Type.Object({
  feed: Type.String(),
  component: Type.String(),
  ts: Type.Integer(),
  v: Type.Union([Type.Number(), Type.Record(Type.String(), Type.Number())]),
  u: Type.String(),
});
const Index = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const ProofAnchor = Type.Object({ txId: Type.String(), blockNumber: Index, fromIndex: Index, toIndex: Index, root: Sha256Hex });
/** packages/audit `ReadingsProofEdge`: a neighbour's record without its bytes, showing the range's edge. */
const ProofEdge = Type.Object({
  update: Type.Object({}, { additionalProperties: true, description: 'the owner-signed update record of the neighbour segment (its time range; no segment bytes)' }),
  anchor: Type.Union([ProofAnchor, Type.Null()], { description: 'null: the index is past the last anchor (see unanchoredFrom)' }),
  proof: Type.Array(Sha256Hex, { description: 'RFC 6962 audit path of update in anchor, leaf side first' }),
});
/** packages/audit `ReadingsProof`: what `verifyReadingsProof` checks offline. */
const ReadingsProofSchema = Type.Object(
  {
    feedId: Sha256Hex,
    twinId: Type.String(),
    anchors: Type.Array(ProofAnchor, { description: 'the anchors the segments fall under: transaction, its block (qscc GetBlockByTxID), index range, Merkle root' }),
    segments: Type.Array(
      Type.Object({
        update: Type.Object({}, { additionalProperties: true, description: 'the owner-signed update record of the segment' }),
        manifest: Type.Object({}, { additionalProperties: true, description: 'the segment manifest; its canonical JSON hashes to update.ref' }),
        segmentBase64: Type.String({ description: 'the whole segment plaintext the readings were decoded from (every reading of the segment, also those outside the range)' }),
        readings: Type.Object({ offset: Index, count: Index }, { description: 'readings[offset .. offset+count-1] are the segment\'s readings in [from, to], in segment order' }),
        anchor: Type.Union([ProofAnchor, Type.Null()], { description: 'null: the index is past the last anchor (see unanchoredFrom)' }),
        proof: Type.Array(Sha256Hex, { description: 'RFC 6962 audit path of update in anchor, leaf side first' }),
      }),
    ),
    unanchoredFrom: Index,
    before: Type.Union([ProofEdge, Type.Null()], {
      description:
        'the record of index first-1, which ends before from (without segments: the last segment ending before from); null when the range starts at index 0 (without segments: when no segment ends before from)',
    }),
    after: Type.Union([ProofEdge, Type.Null()], {
      description:
        'the record of index last+1, which starts after to (without segments: the index after before); null when this node holds no later segment (accepted by the verifier only past the last anchor) and when truncated',
    }),
  },
  { description: 'with proof=true: per segment touched by the range, and for the neighbour segments at its edges, the evidence verifyReadingsProof (@twinledger/audit) checks against on-chain anchors' },
);
/** A feed this instance writes is not polled; an idle stream still gets a comment this often. */
const KEEPALIVE_MS = 15_000;
const Ts = Type.Integer({ minimum: 0, maximum: 2 ** 50 });
/** Device time in epoch ms; the examples make a one-minute window. */
const From = { ...Ts, examples: [1_767_225_600_000] };
const To = { ...Ts, examples: [1_767_225_660_000] };

export interface QueryRoutesDeps {
  readonly reader: FeedReader;
  /** Assembles readings proofs (`?proof=true`); without it such requests answer 503 PROOF_UNAVAILABLE. */
  readonly evidence?: Pick<FeedEvidenceSource, 'readingsProof'>;
  readonly maxReadingsPerQuery: number;
  /** 'appended' and 'anomaly' events of feeds this instance ingests. */
  readonly events: EventEmitter;
  /** Whether this instance is the one appending to a feed (else its stream polls the DHT). */
  readonly writesFeed: (feedId: string) => boolean;
  /** How often a live stream polls the DHT head of a feed another instance writes. */
  readonly streamPollMs: number;
  /** Wakes a stream when this node stores a new head of the feed (the DHT node's watchFeed). */
  readonly watchFeed?: (feedId: string, listener: () => void) => () => void;
  /** An open stream asks the ledger again this often (the decision TTL): it ends once feed:read is gone. */
  readonly accessRecheckMs: number;
}

export function queryRoutes(app: ServiceApp, deps: QueryRoutesDeps): void {
  const { reader } = deps;

  app.get(
    '/feeds/:feedId/readings',
    {
      schema: {
        summary:
          'Readings of a feed in a device-time range (decrypts only segments the caller\'s organization may read), in segment order. `truncated: true`: more readings of the range may exist (the `limit` was reached, or the segments one query reads were: 1,000 by default); ask again with `from` = the last reading\'s ts (readings at that ts come again: skip those already held). With proof=true the answer adds `proof`: per segment touched, the owner-signed update record, manifest and whole segment bytes, and its inclusion proof against the anchor on the ledger; and the records (no bytes) of the segments just before and after, which show that no segment of the range is left out at its edges (503 PROOF_UNAVAILABLE when the ledger or the replicas cannot give it)',
        params: FeedParams,
        querystring: Type.Object(
          {
            from: From,
            to: To,
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: deps.maxReadingsPerQuery })),
            proof: Type.Optional(Type.Boolean({ description: 'add the inclusion proof (default false: the answer is unchanged)' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            readings: Type.Array(ReadingSchema),
            truncated: Type.Boolean({ description: 'more readings of the range may exist (limit or the segments of one query reached): continue from the last reading\'s ts' }),
            proof: Type.Optional(ReadingsProofSchema),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { feedId } = req.params;
      const { from, to } = req.query;
      const limit = req.query.limit ?? deps.maxReadingsPerQuery;
      await reader.authorize(feedId, req.principal!);
      if (req.query.proof !== true) return reader.range(feedId, from, to, limit);
      if (!deps.evidence) throw new ProofUnavailableError('this instance serves no readings proofs', { details: { feedId } });
      // One read: the readings and the segments they were decoded from, so the proof is of exactly these bytes.
      const { readings, truncated, segments } = await reader.rangeWithSegments(feedId, from, to, limit);
      const proof = await deps.evidence.readingsProof(feedId, await reader.twinOf(feedId), { from, to, truncated }, segments);
      const edge = (e: ReadingsProofEdge | null) => e && { ...e, proof: [...e.proof] };
      return {
        readings,
        truncated,
        proof: { ...proof, anchors: [...proof.anchors], segments: proof.segments.map((s) => ({ ...s, proof: [...s.proof] })), before: edge(proof.before), after: edge(proof.after) },
      };
    },
  );

  app.get(
    '/feeds/:feedId/latest',
    {
      schema: {
        summary: 'The newest reading of the latest segment',
        params: FeedParams,
        response: { 200: Type.Object({ reading: Type.Union([ReadingSchema, Type.Null()]) }), ...errorResponses },
      },
    },
    async (req) => {
      await reader.authorize(req.params.feedId, req.principal!);
      return { reading: (await reader.latest(req.params.feedId)) ?? null };
    },
  );

  app.get(
    '/feeds/:feedId/series',
    {
      schema: {
        summary:
          'A downsampled series for charts: min/max/mean per time bucket and value name. Either `from` and `to`, or `last` (ms): the window of that length ending at the newest reading, found in the same call (the answer carries the window and that reading). One query reads at most 20,000 segments by default (about 80 minutes of a busy feed at 250 ms segments); a window holding more is sampled: runs of consecutive segments spread evenly over the whole window, said by `sampled` (segments read, of how many): counts are then of the readings read, min/max/mean of those',
        params: FeedParams,
        querystring: Type.Object(
          {
            from: Type.Optional(From),
            to: Type.Optional(To),
            last: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 ** 50, examples: [60_000] })),
            buckets: Type.Optional(Type.Integer({ minimum: 1, maximum: 2000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            from: Type.Integer(),
            to: Type.Integer(),
            /** With `last`: the newest reading (null for an empty feed). */
            latest: Type.Optional(Type.Union([ReadingSchema, Type.Null()])),
            buckets: Type.Array(Type.Object({ start: Type.Integer(), count: Type.Integer(), values: Type.Record(Type.String(), Type.Object({ min: Type.Number(), max: Type.Number(), mean: Type.Number() })) })),
            truncated: Type.Boolean({ description: 'segments of the window may be left unread (feed time running backwards across segments)' }),
            sampled: Type.Optional(
              Type.Object(
                { segments: Type.Integer({ description: 'segments read' }), of: Type.Integer({ description: 'segments in the window' }) },
                { description: 'the window held more segments than one query reads: the buckets are computed from runs of segments spread evenly over it' },
              ),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { from, to, last } = req.query;
      const buckets = req.query.buckets ?? 200;
      if (last !== undefined) {
        if (from !== undefined || to !== undefined) throw new ValidationError('give either last or from and to, not both', { details: { from, to, last } });
        await reader.authorize(req.params.feedId, req.principal!);
        const s = await reader.seriesToLatest(req.params.feedId, last, buckets);
        return { from: s.from, to: s.to, latest: s.latest ?? null, buckets: s.buckets, truncated: s.truncated, ...(s.sampled ? { sampled: s.sampled } : {}) };
      }
      if (from === undefined || to === undefined) throw new ValidationError('from and to (or last) are required', { details: { from, to } });
      await reader.authorize(req.params.feedId, req.principal!);
      return { from, to, ...(await reader.series(req.params.feedId, from, to, buckets)) };
    },
  );

  app.get(
    '/feeds/:feedId/stream',
    {
      // A HEAD of the stream opened it and polled the DHT for it with no answer at all (Node
      // sends a HEAD's headers only at its end). HEAD is an unknown route here (404).
      exposeHeadRoute: false,
      schema: {
        summary: 'Live stream (Server-Sent Events): `readings` events with the readings of each new segment as it becomes readable from the DHT, `anomaly` events',
        params: FeedParams,
        querystring: Type.Object({ fromIndex: Type.Optional(Type.Integer({ minimum: -1 })) }, { additionalProperties: false }),
        produces: ['text/event-stream'],
        response: { 200: Type.String(), ...errorResponses },
      },
    },
    async (req, reply) => {
      const feedId = req.params.feedId;
      await reader.authorize(feedId, req.principal!);
      let last = req.query.fromIndex ?? (await reader.since(feedId, Number.MAX_SAFE_INTEGER)).lastIndex;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': String(req.id) });
      res.write(`: stream of ${feedId} after index ${last}\n\n`);
      let closed = false;
      let wake: (() => void) | undefined;
      /** Segments pushed by this instance's builder, in index order, not yet written out. */
      const pushed: AppendedSegment[] = [];
      const onAnomaly = (e: AnomalyEvent): void => {
        if (e.feedId === feedId) res.write(`event: anomaly\ndata: ${JSON.stringify(e)}\n\n`);
      };
      const onAppended = (e: AppendedSegment): void => {
        if (e.feedId !== feedId) return;
        pushed.push(e);
        wake?.();
      };
      // A feed another instance (or organization) writes: its new heads reach this node's DHT
      // store when this node is one of the head replicas, which wakes the stream at once; the
      // poll stays as the fallback for nodes that are not.
      let headArrived = false;
      const unwatch = deps.watchFeed?.(feedId, () => {
        if (deps.writesFeed(feedId)) return; // this instance's own heads: its segments are pushed already
        headArrived = true;
        wake?.();
      });
      deps.events.on('anomaly', onAnomaly);
      deps.events.on('appended', onAppended);
      req.raw.on('close', () => {
        closed = true;
        deps.events.off('anomaly', onAnomaly);
        deps.events.off('appended', onAppended);
        unwatch?.();
        wake?.();
      });
      const send = (readings: readonly unknown[], index: number): void => {
        if (readings.length > 0) res.write(`event: readings\nid: ${index}\ndata: ${JSON.stringify(readings)}\n\n`);
        last = index;
      };
      // Push: this instance's builder announces each segment once the DHT acknowledged it (so
      // it is what another organization can read), in index order; the segment goes out as is.
      // The DHT is read only to fill a gap (segments before the stream's start, or written by
      // another instance), and polled on a timer only while another instance writes the feed.
      let needRead = true;
      let checkedAt = Date.now();
      while (!closed) {
        if (Date.now() - checkedAt >= deps.accessRecheckMs) {
          try {
            await reader.authorize(feedId, req.principal!);
            checkedAt = Date.now();
          } catch (err) {
            const code = (err as { code?: string }).code ?? 'INTERNAL';
            // A refusal ends the stream; a ledger outage ends it too (never keep serving unchecked).
            req.log.info({ feedId, code }, 'stream ended: feed:read no longer confirmed by the ledger');
            res.write(`event: error\ndata: ${JSON.stringify({ code })}\n\n`);
            break;
          }
        }
        while (pushed.length > 0 && !needRead) {
          const e = pushed.shift()!;
          if (e.index <= last) continue;
          if (e.index === last + 1) send(e.readings, e.index);
          else needRead = true;
        }
        if (needRead) {
          try {
            const next = await reader.since(feedId, last);
            send(next.readings, next.lastIndex);
            needRead = false;
          } catch (err) {
            req.log.warn({ err }, 'stream read failed');
            res.write(`event: error\ndata: ${JSON.stringify({ code: (err as { code?: string }).code ?? 'INTERNAL' })}\n\n`);
          }
        }
        if (closed || (pushed.length > 0 && !needRead)) continue;
        const local = deps.writesFeed(feedId);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(local && !needRead ? KEEPALIVE_MS : deps.streamPollMs, Math.max(0, deps.accessRecheckMs - (Date.now() - checkedAt))));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
        if (pushed.length === 0) {
          if (headArrived) needRead = true;
          else if (Date.now() - checkedAt >= deps.accessRecheckMs) {
            // Woken for the access re-check: the next turn does it (and reads if it must).
          } else if (local && !needRead) res.write(': keepalive\n\n');
          else needRead = true;
        }
        headArrived = false;
      }
      closed = true;
      deps.events.off('anomaly', onAnomaly);
      deps.events.off('appended', onAppended);
      unwatch?.();
      res.end();
    },
  );
}
