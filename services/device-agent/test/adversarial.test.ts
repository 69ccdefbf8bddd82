// Every route of the device agent's OpenAPI document, walked with malformed input (service-kit's
// adversarial walk): never a 5xx, a hang or a crash, 4xx always with a stable code.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createMetricsRegistry, silentLogger } from '@twinledger/observability';
import { createDevIssuer, createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { probeUnauthenticated, walkAdversarially } from '@twinledger/service-kit/testing';
import { buildApp, type AgentApi } from '../src/app.js';

const agent: AgentApi = {
  mspId: 'Org1MSP',
  ready: () => true,
  status: () => ({ twinId: 'plant-1', device: { endpoint: 'opc.tcp://127.0.0.1:4840', state: 'connected' }, events: { gateway: true, kafka: null }, lastSync: null, syncRunning: false, calls: { EXECUTED: 0, FAILED: 0, REJECTED: 0, EXPIRED: 0 }, stream: { buffered: 0, produced: 0, ratePerSecond: 0, kafkaUp: true } }),
  sync: {
    async sync(reason) {
      return { twinId: 'plant-1', reason, startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1, ok: true, actions: [], drift: undefined };
    },
    async drift() {
      return { twinId: 'plant-1', at: '2026-01-01T00:00:00.000Z', deviceSensors: [], twinSensors: [], items: [] };
    },
  },
  journal: { recent: () => [] },
};

describe('device-agent under adversarial input (every documented route)', () => {
  let app: ServiceApp;
  let token: string;

  beforeAll(async () => {
    const issuer = await createDevIssuer('https://idp.org1.local');
    app = await buildApp({ logger: silentLogger(), metrics: createMetricsRegistry({ prefix: 'da_fuzz_', defaultMetrics: false }), auth: createJwtVerifier({ issuer: issuer.issuer, audience: 'twinledger', jwks: issuer.jwks, expectedOrg: 'Org1MSP' }), agent });
    await app.ready();
    token = await issuer.issue({ sub: 'alice', org: 'Org1MSP', audience: 'twinledger', expiresIn: '1h' });
  });
  afterAll(async () => app.close());

  it('answers every malformed request below 500, in time, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 7, token })).toEqual({ findings: [], reachedHandlers: true, unreached: [], alive: true });
  }, 120_000);

  it('answers the same request lines and headers over HTTP below 500, 4xx with a code', async () => {
    expect(await walkAdversarially(app, { seed: 7, token, overHttp: true })).toEqual({ findings: [], reachedHandlers: true, unreached: [], alive: true });
  }, 120_000);

  it('refuses every route without a valid token with 401 UNAUTHENTICATED', async () => {
    expect(await probeUnauthenticated(app)).toEqual([]);
  }, 60_000);
});
