import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MvccConflictError } from '@twinledger/fabric-client';
import type { TwinLedger } from '@twinledger/ledger';
import { Counter, createMetricsRegistry, silentLogger } from '@twinledger/observability';
import { buildService, withErrors, type Principal, type ServiceApp } from '@twinledger/service-kit';
import { Committed, TwinParams, committed, ledgerGatewayPlugin } from '../src/index.js';

// A ledger of our own interface: only the caller it was made for matters here.
const ledgerOf = (p: Principal) => ({ caller: p.fabricIdentity }) as unknown as TwinLedger;

describe('ledgerGatewayPlugin', () => {
  let app: ServiceApp;
  let attempts = 0;
  let losses = 0;
  const metrics = createMetricsRegistry({ prefix: 'test_' });
  const retries = new Counter({ name: 'test_retries_total', help: 'retries', labelNames: ['operation'], registers: [metrics] });

  beforeAll(async () => {
    app = await buildService({
      name: 'plugin-test',
      logger: silentLogger(),
      metrics,
      auth: { verify: async (token) => ({ subject: token, mspId: 'Org1MSP', fabricIdentity: token, roles: [] }) },
    });
    await app.register(ledgerGatewayPlugin, { ledgerFor: async (p) => ledgerOf(p), mvccAttempts: 3, retries });
    app.get('/whoami', async (req) => ({ caller: ((await req.ledger()) as unknown as { caller: string }).caller }));
    app.get('/open', { config: { public: true } }, async (req) => ({ caller: ((await req.ledger()) as unknown as { caller: string }).caller }));
    app.post('/twins/:twinId/write', { schema: { params: TwinParams, response: withErrors({ 201: Committed }) } }, async (req, reply) => {
      const res = await req.write('touch', async () => {
        attempts++;
        if (attempts <= losses) throw new MvccConflictError('read conflict', { transactionId: `tx${attempts}` });
        return { result: { twinId: req.params.twinId }, transactionId: 'tx-ok', blockNumber: 7n };
      });
      return reply.code(201).send(committed(res));
    });
    await app.ready();
  });
  afterAll(() => app.close());

  it("gives each request the ledger of its caller's identity", async () => {
    const res = await app.inject({ method: 'GET', url: '/whoami', headers: { authorization: 'Bearer User2' } });
    expect(res.json()).toEqual({ caller: 'User2' });
  });

  it('refuses the ledger to a request without a principal (a public route) with 401', async () => {
    const res = await app.inject({ method: 'GET', url: '/open' });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('retries a write that lost an MVCC read conflict, counting the retry', async () => {
    attempts = 0;
    losses = 2;
    const res = await app.inject({ method: 'POST', url: '/twins/pump-1/write', headers: { authorization: 'Bearer User1' } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ transactionId: 'tx-ok', blockNumber: 7, result: { twinId: 'pump-1' } });
    expect(attempts).toBe(3);
    expect((await retries.get()).values).toEqual([{ labels: { operation: 'touch' }, value: 2 }]);
  });

  it('answers 409 MVCC_CONFLICT once every attempt lost', async () => {
    attempts = 0;
    losses = 10;
    const res = await app.inject({ method: 'POST', url: '/twins/pump-1/write', headers: { authorization: 'Bearer User1' } });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'MVCC_CONFLICT', details: { attempts: 3 } });
    expect(attempts).toBe(3);
  });

  it('refuses a malformed twin ID by the shared schema before any write', async () => {
    attempts = 0;
    const res = await app.inject({ method: 'POST', url: '/twins/..%2Fetc/write', headers: { authorization: 'Bearer User1' } });
    expect(res.statusCode).toBe(400);
    expect(attempts).toBe(0);
  });
});
