import type { ServiceApp } from '@twinledger/service-kit';
import { Type } from '@twinledger/service-kit';
import { ledger, write, type RouteDeps } from '../context.js';
import { Committed, ElementId, LedgerRecord, TwinId, TwinParams, committed, withErrors } from '../schemas.js';

/** External sources, sensor-feed references and program calls: small ledger records of a twin. */
export function registryRoutes(deps: RouteDeps) {
  return async (app: ServiceApp): Promise<void> => {
    // ---- external sources
    app.get('/twins/:twinId/sources', { schema: { tags: ['sources'], params: TwinParams, response: withErrors({ 200: Type.Array(LedgerRecord) }) } }, async (req) =>
      (await ledger(deps, req)).listExternalSources(req.params.twinId),
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
        const l = await ledger(deps, req);
        return reply.code(201).send(committed(await write(deps, req, 'addExternalSource', () => l.addExternalSource(req.params.twinId, req.body.uri, req.body.description))));
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
        const l = await ledger(deps, req);
        return committed(await write(deps, req, 'removeExternalSource', () => l.removeExternalSource(req.params.twinId, req.query.uri)));
      },
    );

    // ---- sensor feeds (the references feed-ingest and device-agent use)
    const FeedParams = Type.Object({ twinId: TwinId, componentId: ElementId });
    app.get('/twins/:twinId/feeds', { schema: { tags: ['feeds'], params: TwinParams, response: withErrors({ 200: Type.Array(LedgerRecord) }) } }, async (req) =>
      (await ledger(deps, req)).listSensorFeeds(req.params.twinId),
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
        const l = await ledger(deps, req);
        return reply.code(201).send(committed(await write(deps, req, 'addSensorFeed', () => l.addSensorFeed(req.params.twinId, req.params.componentId, req.body.feedRef))));
      },
    );
    app.delete('/twins/:twinId/feeds/:componentId', { schema: { tags: ['feeds'], params: FeedParams, response: withErrors({ 200: Committed }) } }, async (req) => {
      const l = await ledger(deps, req);
      return committed(await write(deps, req, 'removeSensorFeed', () => l.removeSensorFeed(req.params.twinId, req.params.componentId)));
    });

    // ---- program calls
    const CallParams = Type.Object({ twinId: TwinId, callId: Type.Integer({ minimum: 1 }) });
    app.get('/twins/:twinId/programs', { schema: { tags: ['programs'], params: TwinParams, response: withErrors({ 200: Type.Array(LedgerRecord) }) } }, async (req) =>
      (await ledger(deps, req)).listPrograms(req.params.twinId),
    );
    app.post(
      '/twins/:twinId/program-calls',
      {
        schema: {
          tags: ['programs'],
          summary: 'Request a program call; the chaincode checks the safety rules of the specification',
          params: TwinParams,
          body: Type.Object(
            {
              program: Type.String({ minLength: 1, maxLength: 256, description: 'Program element ID or Name' }),
              parameters: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Type.Union([Type.Number(), Type.Boolean(), Type.String({ maxLength: 4096 })]))),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: Committed }),
        },
      },
      async (req, reply) => {
        const l = await ledger(deps, req);
        return reply.code(201).send(committed(await write(deps, req, 'callProgram', () => l.callProgram(req.params.twinId, req.body.program, req.body.parameters))));
      },
    );
    app.get(
      '/twins/:twinId/program-calls',
      { schema: { tags: ['programs'], summary: 'Pending program calls, in call order', params: TwinParams, response: withErrors({ 200: Type.Array(LedgerRecord) }) } },
      async (req) => (await ledger(deps, req)).listPendingProgramCalls(req.params.twinId),
    );
    app.get(
      '/twins/:twinId/program-calls/:callId',
      { schema: { tags: ['programs'], summary: 'One call with its status and acknowledgement', params: CallParams, response: withErrors({ 200: LedgerRecord }) } },
      async (req) => (await ledger(deps, req)).getProgramCall(req.params.twinId, req.params.callId),
    );
  };
}
