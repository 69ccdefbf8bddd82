import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createMetricsRegistry, silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type DevIssuer, type ServiceApp } from '@twinledger/service-kit';
import { buildApp, type AgentApi } from '../src/app.js';
import type { SyncReport } from '../src/domain/sync.js';

// Routes over a hand-written double of the agent (the real one is exercised end to end in
// device-agent.int.test.ts).
describe('device-agent REST', () => {
  let app: ServiceApp;
  let issuer: DevIssuer;
  let nextReport: SyncReport;
  const reasons: string[] = [];
  const agent: AgentApi = {
    mspId: 'Org1MSP',
    ready: () => true,
    status: () => ({
      twinId: 'plant-1',
      device: { endpoint: 'opc.tcp://127.0.0.1:4840', state: 'connected' },
      events: { gateway: true, kafka: null },
      lastSync: null,
      syncRunning: false,
      calls: { EXECUTED: 2, FAILED: 0, REJECTED: 1, EXPIRED: 1 },
      stream: { buffered: 0, produced: 40, ratePerSecond: 4, kafkaUp: true },
    }),
    sync: {
      async sync(reason) {
        reasons.push(reason);
        return nextReport;
      },
      async drift() {
        return { twinId: 'plant-1', at: '2026-01-01T00:00:00.000Z', deviceSensors: ['s-2'], twinSensors: ['s-1'], items: [{ type: 'MISSING_ON_DEVICE', componentId: 's-1' }, { type: 'MISSING_IN_TWIN', componentId: 's-2' }] };
      },
    },
    journal: { recent: (limit) => [{ twinId: 'plant-1', callId: 3, state: 'acked', status: 'REJECTED', result: { reason: 'OUT_OF_BOUNDS' }, at: '2026-01-01T00:00:00.000Z' }].slice(0, limit) },
  };
  const token = (org: string) => issuer.issue({ sub: 'alice', org, audience: 'twinledger' });

  beforeAll(async () => {
    issuer = await createDevIssuer('https://idp.org1.local');
    app = await buildApp({ logger: silentLogger(), metrics: createMetricsRegistry({ prefix: 'da_test_', defaultMetrics: false }), auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }), agent });
    await app.ready();
  });
  afterAll(async () => app.close());

  it('serves status and drift to authenticated callers only', async () => {
    expect((await app.inject({ method: 'GET', url: '/status' })).statusCode).toBe(401);
    // The agent serves its own organization only: another org's token is refused.
    expect((await app.inject({ method: 'GET', url: '/status', headers: { authorization: `Bearer ${await token('Org2MSP')}` } })).json()).toMatchObject({ code: 'FOREIGN_ORGANIZATION' });
    const res = await app.inject({ method: 'GET', url: '/status', headers: { authorization: `Bearer ${await token('Org1MSP')}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ twinId: 'plant-1', device: { state: 'connected' }, calls: { EXECUTED: 2, REJECTED: 1, EXPIRED: 1 }, lastSync: null });
    const drift = await app.inject({ method: 'GET', url: '/drift', headers: { authorization: `Bearer ${await token('Org1MSP')}` } });
    expect(drift.json().items).toEqual([{ type: 'MISSING_ON_DEVICE', componentId: 's-1' }, { type: 'MISSING_IN_TWIN', componentId: 's-2' }]);
  });

  it('runs a manual sync for the operating organization and refuses others', async () => {
    nextReport = { twinId: 'plant-1', reason: 'x', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 12, ok: true, actions: [{ action: 'removeAML', componentId: 's-1', txId: 'ab' }], drift: undefined };
    const ok = await app.inject({ method: 'POST', url: '/sync', headers: { authorization: `Bearer ${await token('Org1MSP')}` }, payload: { reason: 'maintenance done' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ ok: true, actions: [{ action: 'removeAML', componentId: 's-1', txId: 'ab' }] });
    expect(reasons).toEqual(['maintenance done']);
    const other = await app.inject({ method: 'POST', url: '/sync', headers: { authorization: `Bearer ${await token('Org2MSP')}` }, payload: {} });
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ code: 'FOREIGN_ORGANIZATION' });
    const bad = await app.inject({ method: 'POST', url: '/sync', headers: { authorization: `Bearer ${await token('Org1MSP')}` }, payload: { reason: '', extra: 1 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(reasons).toHaveLength(1);
  });

  it('answers 502 SYNC_FAILED with what was done when a sync fails', async () => {
    nextReport = { twinId: 'plant-1', reason: 'x', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 5, ok: false, actions: [{ action: 'removeAML', componentId: 's-1', txId: 'cd' }], drift: undefined, error: { code: 'GATEWAY_UNAVAILABLE', message: 'peer down' } };
    const res = await app.inject({ method: 'POST', url: '/sync', headers: { authorization: `Bearer ${await token('Org1MSP')}` }, payload: {} });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ code: 'SYNC_FAILED', details: { error: { code: 'GATEWAY_UNAVAILABLE' }, actions: [{ componentId: 's-1' }] } });
  });

  it('lists the call journal with a bounded limit, and publishes OpenAPI and health', async () => {
    const auth = { authorization: `Bearer ${await token('Org1MSP')}` };
    expect((await app.inject({ method: 'GET', url: '/calls?limit=5', headers: auth })).json()).toEqual([expect.objectContaining({ callId: 3, status: 'REJECTED' })]);
    expect((await app.inject({ method: 'GET', url: '/calls?limit=0', headers: auth })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/status', '/drift', '/sync', '/calls']));
  });
});
