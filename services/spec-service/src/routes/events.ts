import { AccessDeniedError } from '@twinledger/errors';
import { Permissions } from '@twinledger/ledger';
import type { ServiceApp } from '@twinledger/service-kit';
import { Type, withErrors } from '@twinledger/service-kit';
import type { RouteDeps } from '../context.js';
import { createEventReadFilter } from '../domain/event-access.js';
import type { RelayedEvent } from '../domain/event-hub.js';
import { EventsNotRelayedError } from '../domain/errors.js';
import { TwinId } from '@twinledger/ledger-gateway';

const HEARTBEAT_MS = 15_000;

/** The chaincode's NOT_FOUND (unknown twin): nothing to read, so nothing is sent. */
const isNotFound = (err: unknown): boolean => (err as { code?: unknown }).code === 'NOT_FOUND';
/** Events waiting for a read decision or a slow socket; beyond this the client is cut off (it resumes with Last-Event-ID). */
const MAX_PENDING = 1000;

/**
 * Server-Sent Events of relayed ledger events; Last-Event-ID resumes from the replay buffer.
 * Each event of a twin reaches the caller only if the chaincode grants the caller `spec:read`
 * on that twin (decisions cached per connection, dropped on the twin's grant events).
 */
export function eventRoutes(deps: RouteDeps) {
  return async (app: ServiceApp): Promise<void> => {
    app.get(
      '/events',
      {
        // A HEAD of a stream opened it and held it (subscription, heartbeats) with no answer at
        // all: Node sends a HEAD's headers only at its end. HEAD is an unknown route here (404).
        exposeHeadRoute: false,
        schema: {
          tags: ['events'],
          summary: 'Ledger events the caller may read, as Server-Sent Events (id = <block>:<txId>, event = the chaincode event name)',
          description:
            'Events of a twin are sent only while the caller holds spec:read on it (the chaincode decides; a grant or revocation takes effect with its own event). ' +
            'Channel-wide events (PartyRegistered, DiagPut) go to every caller. `twinId` narrows the stream to one twin (403 if the caller cannot read it). ' +
            '503 EVENTS_NOT_RELAYED on a replica that does not relay.',
          querystring: Type.Object({ twinId: Type.Optional(TwinId) }),
          headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 200 })) }),
          produces: ['text/event-stream'],
          response: withErrors({ 200: Type.String({ description: 'text/event-stream' }) }),
        },
      },
      async (req, reply) => {
        if (!deps.relaying()) throw new EventsNotRelayedError('this replica does not relay ledger events; connect to the relaying replica', { retryAfterSeconds: 5 });
        const l = await req.ledger();
        const only = req.query.twinId;
        if (only !== undefined) {
          const answer = await l.checkAccess(only, Permissions.SPEC_READ).catch((err: unknown) => {
            if (isNotFound(err)) return { allowed: false };
            throw err;
          });
          if (!answer.allowed) throw new AccessDeniedError(`spec:read is not granted to the caller on twin ${only}`, { details: { twinId: only, permission: Permissions.SPEC_READ } });
        }
        const filter = createEventReadFilter({ ledger: l });
        let closed = false;
        let pending = 0;
        let chain: Promise<void> = Promise.resolve();
        const close = (): void => {
          if (closed) return;
          closed = true;
          clearInterval(beat);
          unsubscribe?.();
          reply.raw.end();
        };
        const judgeAndSend = async (e: RelayedEvent): Promise<void> => {
          if (closed) return;
          if (only !== undefined && e.twinId !== only) return;
          let allowed: boolean;
          try {
            allowed = await filter.mayRead(e);
          } catch (err) {
            if (isNotFound(err)) allowed = false;
            else {
              // Fail closed: without a decision nothing is sent; the client resumes with Last-Event-ID.
              req.log.warn({ err, eventId: e.id }, 'read decision failed; closing the event stream');
              close();
              return;
            }
          }
          if (allowed && !closed) reply.raw.write(`id: ${e.id}\nevent: ${e.eventName}\ndata: ${JSON.stringify(e)}\n\n`);
        };
        const send = (e: RelayedEvent): void => {
          if (closed) return;
          if (++pending > MAX_PENDING) {
            req.log.warn({ pending }, 'SSE client too slow; closing the event stream');
            close();
            return;
          }
          // One at a time, in order: decisions are asynchronous but the stream must keep the ledger's order.
          chain = chain.then(() => judgeAndSend(e)).finally(() => void pending--);
        };
        reply.hijack();
        reply.raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
          'x-request-id': req.id,
        });
        reply.raw.write(': connected\n\n');
        const beat = setInterval(() => reply.raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
        const sub = deps.hub.subscribe(send, req.headers['last-event-id']);
        const unsubscribe: (() => void) | undefined = sub.unsubscribe;
        for (const e of sub.replay) send(e);
        req.raw.on('close', close);
        reply.raw.on('close', close);
      },
    );
  };
}
