import type { Logger, Registry } from '@twinledger/observability';
import { buildService, type ServiceApp, type TokenVerifier } from '@twinledger/service-kit';
import type { JournalEntry } from './domain/call-journal.js';
import type { DriftReport, SyncReport } from './domain/sync.js';
import type { AgentStatus } from './runtime.js';
import { agentRoutes } from './routes/agent.js';

/** What the routes need from the agent (the runtime's DeviceAgent, or a test double). */
export interface AgentApi {
  readonly mspId: string;
  status(): AgentStatus;
  ready(): boolean;
  readonly sync: { sync(reason: string): Promise<SyncReport>; drift(): Promise<DriftReport> };
  readonly journal: { recent(limit: number): JournalEntry[] };
}

export interface AppDeps {
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly auth: TokenVerifier;
  readonly agent: AgentApi;
  /** The organization's peer as its health tracker sees it; readiness needs it to have answered. */
  readonly peer?: { readonly ready: boolean };
}

export async function buildApp(deps: AppDeps): Promise<ServiceApp> {
  const app = await buildService({
    name: 'device-agent',
    logger: deps.logger,
    metrics: deps.metrics,
    auth: deps.auth,
    readiness: [
      { name: 'device-and-ledger-events', check: async () => deps.agent.ready() },
      ...(deps.peer ? [{ name: 'peer', check: async () => deps.peer!.ready }] : []),
    ],
  });
  agentRoutes(app, deps.agent);
  return app;
}
