import { randomUUID } from 'node:crypto';
import { CommitOutcomeUnknownError } from '@twinledger/fabric-client';
import type { ServiceApp } from '@twinledger/service-kit';
import { PageOf, PageQuery, PageQueryProperties, Type, withErrors } from '@twinledger/service-kit';
import { cachedRead, fenceOf, type RouteDeps } from '../context.js';
import { Committed, LedgerRecord, TwinId, TwinParams, committed } from '@twinledger/ledger-gateway';
import { ElementId, FenceProperties, READ_HEADERS_NOTE, RequestId } from '../schemas.js';

/** External sources, sensor-feed references and program calls: small ledger records of a twin. */
export function registryRoutes(deps: RouteDeps) {
  return async (app: ServiceApp): Promise<void> => {
    // ---- external sources
    app.get(
      '/twins/:twinId/sources',
      { schema: { tags: ['sources'], summary: 'External sources, one page', params: TwinParams, querystring: PageQuery, response: withErrors({ 200: PageOf(LedgerRecord) }) } },
      async (req) => (await req.ledger()).listExternalSourcesPage(req.params.twinId, req.query),
    );
    app.post(
      '/twins/:twinId/sources',
      {
        schema: {
          tags: ['sources'],
          params: TwinParams,
          body: Type.Object({ uri: Type.String({ format: 'uri', maxLength: 2048 }), description: Type.Optional(Type.String({ maxLength: 4096 })) }, { additionalProperties: false }),
          response: withErrors({ 201: Committed }),
        },
      },
      async (req, reply) => {
        const l = await req.ledger();
        return reply.code(201).send(committed(await req.write('addExternalSource', () => l.addExternalSource(req.params.twinId, req.body.uri, req.body.description))));
      },
    );
    app.delete(
      '/twins/:twinId/sources',
      {
        schema: {
          tags: ['sources'],
          params: TwinParams,
          querystring: Type.Object({ uri: Type.String({ format: 'uri', maxLength: 2048 }) }),
          response: withErrors({ 200: Committed }),
        },
      },
      async (req) => {
        const l = await req.ledger();
        return committed(await req.write('removeExternalSource', () => l.removeExternalSource(req.params.twinId, req.query.uri)));
      },
    );

    // ---- sensor feeds (the references feed-ingest and device-agent use)
    const FeedParams = Type.Object({ twinId: TwinId, componentId: ElementId });
    app.get(
      '/twins/:twinId/feeds',
      {
        schema: {
          tags: ['feeds'],
          summary: 'Sensor-feed references, one page in component order',
          description: READ_HEADERS_NOTE,
          params: TwinParams,
          querystring: Type.Object({ ...PageQueryProperties, ...FenceProperties }, { additionalProperties: false }),
          response: withErrors({ 200: PageOf(LedgerRecord) }),
        },
      },
      async (req, reply) => {
        const page = { ...(req.query.limit !== undefined ? { limit: req.query.limit } : {}), ...(req.query.bookmark !== undefined ? { bookmark: req.query.bookmark } : {}) };
        return cachedRead(deps, req, reply, {
          twinId: req.params.twinId,
          permission: 'feed:read',
          key: `feeds:${page.limit ?? ''}:${page.bookmark ?? ''}`,
          fence: fenceOf(req.query),
          load: async (l) => {
            const value = await l.listSensorFeedsPage(req.params.twinId, page);
            return { value, chars: JSON.stringify(value).length };
          },
        });
      },
    );
    app.put(
      '/twins/:twinId/feeds/:componentId',
      {
        schema: {
          tags: ['feeds'],
          summary: 'Register the feed reference of a component',
          params: FeedParams,
          body: Type.Object({ feedRef: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }),
          response: withErrors({ 201: Committed }),
        },
      },
      async (req, reply) => {
        const l = await req.ledger();
        return reply.code(201).send(committed(await req.write('addSensorFeed', () => l.addSensorFeed(req.params.twinId, req.params.componentId, req.body.feedRef))));
      },
    );
    app.delete('/twins/:twinId/feeds/:componentId', { schema: { tags: ['feeds'], params: FeedParams, response: withErrors({ 200: Committed }) } }, async (req) => {
      const l = await req.ledger();
      return committed(await req.write('removeSensorFeed', () => l.removeSensorFeed(req.params.twinId, req.params.componentId)));
    });

    // ---- program calls
    const CallCommitted = Type.Object({
      ...Committed.properties,
      replayed: Type.Boolean({ description: 'true when the answer is an earlier call with the same requestId (nothing was queued)' }),
    });
    const CallParams = Type.Object({ twinId: TwinId, callId: Type.Integer({ minimum: 1 }) });
    app.get(
      '/twins/:twinId/programs',
      { schema: { tags: ['programs'], summary: 'Programs of the specification, one page', params: TwinParams, querystring: PageQuery, response: withErrors({ 200: PageOf(LedgerRecord) }) } },
      async (req) => (await req.ledger()).listProgramsPage(req.params.twinId, req.query),
    );
    app.post(
      '/twins/:twinId/program-calls',
      {
        schema: {
          tags: ['programs'],
          summary: 'Request a program call; the chaincode checks the safety rules of the specification',
          description:
            'Idempotent per `requestId`: a retry with the same ID and arguments by the same organization answers 200 with the first call ' +
            '(`replayed: true`) and queues nothing; other arguments answer 409 REQUEST_ID_CONFLICT. Without `requestId` the service picks one ' +
            '(returned in `result.requestId`). If the commit status never arrives the answer is 504 OUTCOME_UNKNOWN with ' +
            '`details.callRequestId` and `details.lookup`: the call may be queued; look it up there, or retry with the same `requestId`.',
          params: TwinParams,
          body: Type.Object(
            {
              program: Type.String({ minLength: 1, maxLength: 256, description: 'Program element ID or Name' }),
              parameters: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Type.Union([Type.Number(), Type.Boolean(), Type.String({ maxLength: 4096 })]))),
              requestId: Type.Optional(RequestId),
              ttlSeconds: Type.Optional(
                Type.Integer({ minimum: 1, maximum: 3600, description: 'How long the device agent may still execute the call; default 300 (the chaincode\'s)' }),
              ),
            },
            { additionalProperties: false },
          ),
          response: withErrors({
            201: { ...CallCommitted, description: 'A new call, queued (PENDING); `replayed` is false' },
            200: { ...CallCommitted, description: 'A retry: the call first queued with this requestId, as it stands now (nothing queued); `replayed` is true' },
          }),
        },
      },
      async (req, reply) => {
        const l = await req.ledger();
        const requestId = req.body.requestId ?? randomUUID();
        const options = { requestId, ...(req.body.ttlSeconds !== undefined ? { ttlSeconds: req.body.ttlSeconds } : {}) };
        let c;
        try {
          c = await req.write('callProgram', () => l.callProgram(req.params.twinId, req.body.program, req.body.parameters, options));
        } catch (err) {
          if (!(err instanceof CommitOutcomeUnknownError)) throw err;
          // Tell the caller how to learn the outcome without queueing a second call.
          throw new CommitOutcomeUnknownError(`program call ${requestId}: ${err.message}`, {
            cause: err,
            transactionId: err.transactionId,
            details: { callRequestId: requestId, transactionId: err.transactionId, lookup: `/twins/${req.params.twinId}/program-calls/by-request/${requestId}` },
          });
        }
        // The chaincode answers a retry with the first call, which another transaction queued.
        const replayed = c.result.txId !== c.transactionId;
        return reply.code(replayed ? 200 : 201).send({ ...committed(c), replayed });
      },
    );
    app.get(
      '/twins/:twinId/program-calls/by-request/:requestId',
      {
        schema: {
          tags: ['programs'],
          summary: "The call the caller's organization queued with this requestId (e.g. after 504 OUTCOME_UNKNOWN); 404 if none",
          params: Type.Object({ twinId: TwinId, requestId: RequestId }),
          response: withErrors({ 200: LedgerRecord }),
        },
      },
      async (req) => (await req.ledger()).getProgramCallByRequest(req.params.twinId, req.params.requestId),
    );
    app.get(
      '/twins/:twinId/program-calls',
      {
        schema: {
          tags: ['programs'],
          summary: 'Pending program calls, one page in call order',
          params: TwinParams,
          querystring: PageQuery,
          response: withErrors({ 200: PageOf(LedgerRecord) }),
        },
      },
      async (req) => (await req.ledger()).listPendingProgramCallsPage(req.params.twinId, req.query),
    );
    app.get(
      '/twins/:twinId/program-calls/:callId',
      { schema: { tags: ['programs'], summary: 'One call with its status and acknowledgement', params: CallParams, response: withErrors({ 200: LedgerRecord }) } },
      async (req) => (await req.ledger()).getProgramCall(req.params.twinId, req.params.callId),
    );
  };
}
