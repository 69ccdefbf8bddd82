// acl-service's POST /authorize decisions on the shared decision cache (ledger-gateway's
// createAccessDecisions): what it adds (roles, reason, cached) and what it now inherits (an
// allowing decision never outlives the grant behind it).
import { describe, expect, it } from '@jest/globals';
import type { AccessAnswer, Grant, TwinLedger } from '@twinledger/ledger';
import { createMetricsRegistry } from '@twinledger/observability';
import { createAuthorizer } from '../src/domain/authorizer.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function setup() {
  const clock = { t: T0 };
  const state = { allowed: true, grants: [] as Grant[], checks: [] as string[][] };
  const ledger = {
    checkAccessFor: async (twinId: string, mspId: string, identity: string, permission: string): Promise<AccessAnswer> => {
      state.checks.push([twinId, mspId, identity, permission]);
      return { twinId, mspId, identity, permission, allowed: state.allowed, roles: state.allowed ? ['AUDITOR'] : [], permissions: [] } as AccessAnswer;
    },
    listGrants: async () => state.grants,
  } as Partial<TwinLedger> as TwinLedger;
  const authorizer = createAuthorizer({ ledger, ttlMs: 60_000, metrics: createMetricsRegistry({ prefix: 't_' }), now: () => clock.t });
  return { authorizer, clock, state };
}

describe('createAuthorizer', () => {
  it('answers with roles and reason, from the cache the second time, keyed by party and identity', async () => {
    const { authorizer, state } = setup();
    const q = { twinId: 'tw', permission: 'doc:read:confidential' as const, mspId: 'Org2MSP' };
    expect(await authorizer.decide(q)).toEqual({ allowed: true, cached: false, roles: ['AUDITOR'], permissions: [], reason: 'doc:read:confidential conferred by role AUDITOR' });
    expect(await authorizer.decide(q)).toMatchObject({ allowed: true, cached: true });
    expect(await authorizer.decide({ ...q, identity: 'x509::CN=bob' })).toMatchObject({ cached: false });
    expect(state.checks).toEqual([
      ['tw', 'Org2MSP', '', 'doc:read:confidential'],
      ['tw', 'Org2MSP', 'x509::CN=bob', 'doc:read:confidential'],
    ]);
  });

  it('keeps an allowing decision no longer than the earliest grant expiry on the twin', async () => {
    const { authorizer, clock, state } = setup();
    state.grants = [{ mspId: 'Org2MSP', role: 'AUDITOR', expiresAt: new Date(T0 + 5_000).toISOString() } as Grant];
    const q = { twinId: 'tw', permission: 'spec:read' as const, mspId: 'Org2MSP' };
    expect(await authorizer.decide(q)).toMatchObject({ allowed: true, cached: false });
    expect(await authorizer.decide(q)).toMatchObject({ cached: true });
    // The grant expired (no event says so): the next decision asks the chaincode again, well within the TTL.
    clock.t = T0 + 5_001;
    state.allowed = false;
    expect(await authorizer.decide(q)).toMatchObject({ allowed: false, cached: false });
  });

  it('drops a twin\'s decisions on its grant events, not on other events', async () => {
    const { authorizer, state } = setup();
    const q = { twinId: 'tw', permission: 'spec:read' as const, mspId: 'Org2MSP' };
    await authorizer.decide(q);
    authorizer.onLedgerEvent({ eventName: 'DocumentAdded', twinId: 'tw' });
    expect(await authorizer.decide(q)).toMatchObject({ cached: true });
    authorizer.onLedgerEvent({ eventName: 'GrantRevoked', twinId: 'tw' });
    state.allowed = false;
    expect(await authorizer.decide(q)).toMatchObject({ allowed: false, cached: false });
  });
});
