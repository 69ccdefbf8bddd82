import type { ServiceApp } from '@twinledger/service-kit';
import { Type } from '@twinledger/service-kit';
import type { RouteDeps } from '../context.js';
import type { RelayedEvent } from '../domain/event-hub.js';
import { TwinId, withErrors } from '../schemas.js';

const HEARTBEAT_MS = 15_000;

/** Server-Sent Events of relayed ledger events; Last-Event-ID resumes from the replay buffer. */
export function eventRoutes(deps: RouteDeps) {
  return async (app: ServiceApp): Promise<void> => {
    app.get(
      '/events',
      {
        schema: {
          tags: ['events'],
          summary: 'Ledger events as Server-Sent Events (id = <block>:<txId>, event = the chaincode event name)',
          querystring: Type.Object({ twinId: Type.Optional(TwinId) }),
          headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 200 })) }),
          produces: ['text/event-stream'],
          response: withErrors({ 200: Type.String({ description: 'text/event-stream' }) }),
        },
      },
      async (req, reply) => {
        const filter = req.query.twinId;
        const send = (e: RelayedEvent): void => {
          if (filter !== undefined && e.twinId !== filter) return;
          reply.raw.write(`id: ${e.id}\nevent: ${e.eventName}\ndata: ${JSON.stringify(e)}\n\n`);
        };
        reply.hijack();
        reply.raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
          'x-request-id': req.id,
        });
        reply.raw.write(': connected\n\n');
        const { replay, unsubscribe } = deps.hub.subscribe(send, req.headers['last-event-id']);
        for (const e of replay) send(e);
        const beat = setInterval(() => reply.raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
        const done = (): void => {
          clearInterval(beat);
          unsubscribe();
        };
        req.raw.on('close', done);
        reply.raw.on('close', done);
      },
    );
  };
}
