import { Type, errorResponses, type ServiceApp, type Static, type TSchema } from '@twinledger/service-kit';
import { NotOperatorError, SyncFailedError } from '../domain/errors.js';
import type { AgentApi } from '../app.js';
import { AgentStatus, DriftReport, JournalEntry, SyncReport } from './schemas.js';

// The domain returns readonly structures; the response schemas describe the same shapes as
// mutable JSON. This only widens readonly-ness, it converts nothing.
const asWire = <S extends TSchema>(_schema: S, value: unknown): Static<S> => value as Static<S>;

/** Status, drift report, manual re-sync and the program-call journal of this agent's device. */
export function agentRoutes(app: ServiceApp, agent: AgentApi): void {
  app.get(
    '/status',
    { schema: { summary: 'Device connection, last sync, program-call counts, stream figures', response: { 200: AgentStatus, ...errorResponses } } },
    async () => asWire(AgentStatus, agent.status()),
  );

  app.get(
    '/drift',
    { schema: { summary: 'Twin versus device now (reads both; changes nothing)', response: { 200: DriftReport, ...errorResponses } } },
    async () => asWire(DriftReport, await agent.sync.drift()),
  );

  app.post(
    '/sync',
    {
      schema: {
        summary: 'Run a discovery/spec sync now (users of the operating organization only)',
        body: Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }, { additionalProperties: false }),
        response: { 200: SyncReport, ...errorResponses },
      },
    },
    async (req) => {
      if (req.principal?.mspId !== agent.mspId) {
        throw new NotOperatorError('only the organization operating this device agent may trigger a sync', { details: { operator: agent.mspId } });
      }
      const report = await agent.sync.sync(req.body.reason ?? `manual:${req.principal.subject}`);
      if (!report.ok) throw new SyncFailedError(`sync failed: ${report.error?.message ?? 'unknown'}`, { details: { error: report.error, actions: report.actions } });
      return asWire(SyncReport, report);
    },
  );

  app.get(
    '/calls',
    {
      schema: {
        summary: 'The latest program calls this agent handled, newest first (its journal)',
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }) }, { additionalProperties: false }),
        response: { 200: Type.Array(JournalEntry), ...errorResponses },
      },
    },
    async (req) => asWire(Type.Array(JournalEntry), agent.journal.recent(req.query.limit)),
  );
}
