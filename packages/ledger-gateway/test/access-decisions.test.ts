import { describe, expect, it } from '@jest/globals';
import { loadEnv } from '@twinledger/config';
import { accessDecisionsEnv, createAccessDecisions, type AccessDecisionsInit } from '../src/index.js';

const alice = { subject: 'alice', mspId: 'Org1MSP', fabricIdentity: 'User1' };
const bob = { subject: 'bob', mspId: 'Org1MSP', fabricIdentity: 'User2' };

/** A fake chaincode: who holds what, counted per evaluation; the clock is the test's. */
function setup(over: Partial<AccessDecisionsInit> = {}) {
  const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
  const granted = new Set<string>(['User1:t1:spec:read']);
  const expiries: (string | undefined)[] = [];
  const calls = { check: 0, expiries: 0 };
  const decisions = createAccessDecisions({
    check: async (c, twinId, p) => {
      calls.check++;
      return granted.has(`${c.fabricIdentity}:${twinId}:${p}`);
    },
    grantExpiries: async () => {
      calls.expiries++;
      return expiries;
    },
    ttlMs: 30_000,
    now: () => clock.t,
    ...over,
  });
  return { decisions, clock, granted, expiries, calls };
}

describe('createAccessDecisions', () => {
  it('asks the chaincode once per identity, twin and permission within the TTL, and again after it', async () => {
    const { decisions, clock, calls } = setup();
    expect(await decisions.allows(alice, 't1', 'spec:read')).toBe(true);
    expect(await decisions.allows(alice, 't1', 'spec:read')).toBe(true);
    expect(await decisions.allows(bob, 't1', 'spec:read')).toBe(false);
    expect(await decisions.allows(bob, 't1', 'spec:read')).toBe(false);
    expect(calls.check).toBe(2);
    clock.t += 30_001;
    await decisions.allows(alice, 't1', 'spec:read');
    expect(calls.check).toBe(3);
  });

  it('forgets the decisions of a twin on its grant events, and only those', async () => {
    const { decisions, granted, calls } = setup();
    granted.add('User1:t2:spec:read');
    await decisions.allows(alice, 't1', 'spec:read');
    await decisions.allows(alice, 't2', 'spec:read');
    granted.delete('User1:t1:spec:read');
    decisions.onLedgerEvent({ eventName: 'AmlInserted', twinId: 't1' });
    expect(await decisions.allows(alice, 't1', 'spec:read')).toBe(true);
    decisions.onLedgerEvent({ eventName: 'GrantRevoked', twinId: 't1' });
    expect(await decisions.allows(alice, 't1', 'spec:read')).toBe(false);
    expect(await decisions.allows(alice, 't2', 'spec:read')).toBe(true);
    expect(calls.check).toBe(3);
    granted.add('User1:t1:spec:read');
    decisions.onLedgerEvent({ eventName: 'GrantAdded', twinId: 't1' });
    expect(await decisions.allows(alice, 't1', 'spec:read')).toBe(true);
  });

  it('does not store a decision taken while its twin was invalidated', async () => {
    let release!: (v: boolean) => void;
    const { decisions, calls } = setup({
      check: () => {
        calls.check++;
        return new Promise<boolean>((r) => (release = r));
      },
    });
    const first = decisions.allows(alice, 't1', 'spec:read');
    decisions.invalidate('t1');
    release(true);
    expect(await first).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(decisions.size).toBe(0);
    void decisions.allows(alice, 't1', 'spec:read');
    expect(calls.check).toBe(2);
  });

  it('keeps an allowing decision no longer than the earliest grant expiry ahead', async () => {
    const { decisions, clock, expiries, calls } = setup();
    expiries.push(undefined, '2025-12-31T00:00:00Z', new Date(clock.t + 5_000).toISOString());
    await decisions.allows(alice, 't1', 'spec:read');
    await new Promise((r) => setImmediate(r));
    clock.t += 4_000;
    await decisions.allows(alice, 't1', 'spec:read');
    expect(calls.check).toBe(1);
    clock.t += 1_001;
    await decisions.allows(alice, 't1', 'spec:read');
    expect(calls.check).toBe(2);
  });

  it('does not keep an allowing decision whose grant expiries are unknown', async () => {
    const { decisions, calls } = setup({ grantExpiries: async () => Promise.reject(new Error('peer down')) });
    await decisions.allows(alice, 't1', 'spec:read');
    await new Promise((r) => setImmediate(r));
    await decisions.allows(alice, 't1', 'spec:read');
    expect(calls.check).toBe(2);
  });

  it('never caches a failure, clears all on an unreadable event, and stays within maxEntries', async () => {
    let fail = true;
    const { decisions, calls } = setup({
      maxEntries: 2,
      check: async () => {
        calls.check++;
        if (fail) throw Object.assign(new Error('down'), { code: 'PEER_UNAVAILABLE' });
        return false;
      },
    });
    await expect(decisions.allows(alice, 't1', 'spec:read')).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
    await new Promise((r) => setImmediate(r));
    expect(decisions.size).toBe(0);
    fail = false;
    for (const t of ['t1', 't2', 't3']) await decisions.allows(alice, t, 'spec:read');
    expect(decisions.size).toBe(2);
    decisions.onLedgerEvent({ eventName: 'PartyRegistered' });
    expect(decisions.size).toBe(2);
    decisions.onLedgerEvent({ eventName: 'SomethingNew' });
    expect(decisions.size).toBe(0);
  });

  it('with a TTL of 0 asks the chaincode every time', async () => {
    const { decisions, calls } = setup({ ttlMs: 0 });
    await decisions.allows(alice, 't1', 'spec:read');
    await decisions.allows(alice, 't1', 'spec:read');
    expect(calls.check).toBe(2);
  });

  it('AUTH_DECISION_TTL_MS defaults to 30000 and is validated at boot', () => {
    expect(loadEnv(accessDecisionsEnv, {}).AUTH_DECISION_TTL_MS).toBe(30_000);
    expect(() => loadEnv(accessDecisionsEnv, { AUTH_DECISION_TTL_MS: '-1' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('caches any decision shape: decide() gives the decision and whether it was cached, allows() what `allows` reads of it', async () => {
    let allowed = true;
    let checks = 0;
    const decisions = createAccessDecisions<{ allowed: boolean; roles: string[] }>({
      check: async () => {
        checks++;
        return { allowed, roles: allowed ? ['AUDITOR'] : [] };
      },
      allows: (d) => d.allowed,
      grantExpiries: async () => [],
      ttlMs: 30_000,
    });
    const first = decisions.decide(alice, 't1', 'spec:read');
    expect(first.cached).toBe(false);
    expect(await first.decision).toEqual({ allowed: true, roles: ['AUDITOR'] });
    // The allowing decision was kept (no grant expiry ahead): a hit, the chaincode not asked again.
    const second = decisions.decide(alice, 't1', 'spec:read');
    expect(second.cached).toBe(true);
    expect(await decisions.allows(alice, 't1', 'spec:read')).toBe(true);
    expect(checks).toBe(1);
    allowed = false;
    decisions.invalidate('t1');
    expect(await decisions.allows(alice, 't1', 'spec:read')).toBe(false);
    expect(checks).toBe(2);
  });
});
