import { ErrorCodes, Events, Limits } from '../src';
import { grantKey } from '../src/access/grants';
import { identity } from './support/fake-ledger';
import { FIXTURE, TWIN, expectRefusal, newWorld, who, worldWithTwin, type World } from './support/world';

// Issue #19 items 4 and 5: idempotent, expiring program calls; only the twin's device agent acknowledges.

const call = (w: World, caller: (typeof who)[keyof typeof who], requestId: string, params = '{"speed":1}', ttl = '') =>
  w.ledger.invoke(caller, w.spec, 'callProgram', TWIN, 'SetConveyorSpeed', params, requestId, ttl);
const pendingIds = async (w: World): Promise<number[]> =>
  ((await w.ledger.invoke(who.auditor, w.spec, 'listPendingProgramCalls', TWIN)).items).map((c: { callId: number }) => c.callId);

describe('program calls: request IDs', () => {
  it('answers a retry with the same request ID with the first call: one queued call, no write, no event', async () => {
    const w = await worldWithTwin();
    const first = await call(w, who.owner, 'b1c4-retry');
    expect(first).toMatchObject({ callId: 1, requestId: 'b1c4-retry', status: 'PENDING' });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.ProgramCalled, payload: { callId: 1, requestId: 'b1c4-retry', expiresAt: first.expiresAt } });
    // Another identity of the same organization, same request: the same call.
    const again = await call(w, identity('OwnerMSP', 'User7'), 'b1c4-retry', '{ "speed": 1 }');
    expect(again).toEqual(first);
    expect(w.ledger.lastTx).toMatchObject({ ok: true, writeCalls: 0 });
    expect(w.ledger.lastTx.event).toBeUndefined();
    expect(await pendingIds(w)).toEqual([1]);
    // After the agent acknowledged it, a retry still answers with that call, now finished.
    await w.ledger.invoke(who.deviceAgent, w.spec, 'acknowledgeProgramCall', TWIN, '1', 'EXECUTED', '{}');
    expect(await call(w, who.owner, 'b1c4-retry')).toMatchObject({ callId: 1, status: 'EXECUTED' });
    expect(await pendingIds(w)).toEqual([]);
  });

  it('refuses the same request ID with other arguments (REQUEST_ID_CONFLICT), and keeps request IDs per organization', async () => {
    const w = await worldWithTwin();
    await call(w, who.owner, 'r-1');
    await expectRefusal(w, call(w, who.owner, 'r-1', '{"speed":2}'), ErrorCodes.REQUEST_ID_CONFLICT);
    await expectRefusal(w, call(w, who.owner, 'r-1', '{"speed":1}', '60'), ErrorCodes.REQUEST_ID_CONFLICT);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'callProgram', TWIN, 'prog-set-conveyor-speed', '{"speed":1}', 'r-1', ''), ErrorCodes.REQUEST_ID_CONFLICT);
    // The maintainer's organization has its own request IDs: its 'r-1' is a new call.
    expect(await call(w, who.maintainer, 'r-1')).toMatchObject({ callId: 2, requestedBy: { mspId: 'MaintainerMSP' } });
    expect(await pendingIds(w)).toEqual([1, 2]);
  });

  it('checks the caller may call programs before answering a retry', async () => {
    const w = await worldWithTwin(undefined, 'elsewhere');
    await call(w, who.agentAdmin, 'r-1');
    // Same organization, same request ID, but an identity without program:call: refused, not answered.
    await expectRefusal(w, call(w, who.agentElsewhere, 'r-1'), ErrorCodes.ACCESS_DENIED);
  });

  it.each([
    ['missing', ''],
    ['with a space', 'a b'],
    ['with a slash', 'a/b'],
    ['too long', 'a'.repeat(Limits.MAX_REQUEST_ID_LENGTH + 1)],
    ['with a NUL', 'a\u0000b'],
  ])('refuses a request ID %s', async (_n, id) => {
    const w = await worldWithTwin();
    await expectRefusal(w, call(w, who.owner, id), ErrorCodes.VALIDATION_FAILED);
  });

  it('finds a call by its request ID for the organization that made it', async () => {
    const w = await worldWithTwin();
    const c = await call(w, who.owner, 'lookup-1');
    expect(await w.ledger.invoke(who.owner, w.spec, 'getProgramCallByRequest', TWIN, 'lookup-1')).toEqual(c);
    await expect(w.ledger.invoke(who.maintainer, w.spec, 'getProgramCallByRequest', TWIN, 'lookup-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(w.ledger.invoke(who.owner, w.spec, 'getProgramCallByRequest', TWIN, 'lookup-2')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(w.ledger.invoke(who.owner, w.spec, 'getProgramCallByRequest', TWIN, 'a b')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(w.ledger.invoke(identity('NobodyMSP', 'u'), w.spec, 'getProgramCallByRequest', 'ghost', 'lookup-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('program calls: expiry', () => {
  const ms = (iso: string) => Date.parse(iso);

  it('stores the expiry: transaction time + the default, or + the lifetime asked up to the maximum', async () => {
    const w = await worldWithTwin();
    const d = await call(w, who.owner, 'e-1');
    expect(ms(d.expiresAt) - ms(d.requestedAt)).toBe(Limits.DEFAULT_CALL_TTL_S * 1000);
    const short = await call(w, who.owner, 'e-2', '{"speed":1}', '30');
    expect(ms(short.expiresAt) - ms(short.requestedAt)).toBe(30_000);
    const max = await call(w, who.owner, 'e-3', '{"speed":1}', String(Limits.MAX_CALL_TTL_S));
    expect(ms(max.expiresAt) - ms(max.requestedAt)).toBe(Limits.MAX_CALL_TTL_S * 1000);
  });

  it.each([['0'], ['-5'], ['1.5'], ['1e3'], [String(Limits.MAX_CALL_TTL_S + 1)], ['soon']])('refuses a lifetime of %s', async (ttl) => {
    const w = await worldWithTwin();
    await expectRefusal(w, call(w, who.owner, 'e-x', '{"speed":1}', ttl), ErrorCodes.VALIDATION_FAILED);
  });

  it('lets the device agent acknowledge a call as EXPIRED, which ends it', async () => {
    const w = await worldWithTwin();
    await call(w, who.owner, 'e-1');
    const done = await w.ledger.invoke(who.deviceAgent, w.spec, 'acknowledgeProgramCall', TWIN, '1', 'EXPIRED', '{"reason":"EXPIRED"}');
    expect(done).toMatchObject({ status: 'EXPIRED', acknowledgement: { status: 'EXPIRED', by: { id: who.deviceAgent.id } } });
    expect(await pendingIds(w)).toEqual([]);
    await expectRefusal(w, w.ledger.invoke(who.deviceAgent, w.spec, 'acknowledgeProgramCall', TWIN, '1', 'EXECUTED', ''), ErrorCodes.INVALID_STATE);
  });
});

describe('only the twin’s device agent acknowledges', () => {
  const grant = (w: World, by: (typeof who)[keyof typeof who], g: Record<string, string>) => w.ledger.invoke(by, w.acl, 'grant', TWIN, JSON.stringify(g));

  it.each([
    ['program:ack to itself', { mspId: 'OwnerMSP', identity: who.owner.id, permission: 'program:ack' }],
    ['program:ack to its organization', { mspId: 'OwnerMSP', permission: 'program:ack' }],
    ['program:ack to the device agent', { mspId: 'OwnerMSP', identity: who.deviceAgent.id, permission: 'program:ack' }],
    ['program:ack to another organization', { mspId: 'MaintainerMSP', permission: 'program:ack' }],
    ['DEVICE_AGENT to itself', { mspId: 'OwnerMSP', identity: who.owner.id, role: 'DEVICE_AGENT' }],
    ['DEVICE_AGENT to its whole organization', { mspId: 'OwnerMSP', role: 'DEVICE_AGENT' }],
    ['DEVICE_AGENT to another organization', { mspId: 'MaintainerMSP', role: 'DEVICE_AGENT' }],
    ['DEVICE_AGENT to an identity of another organization', { mspId: 'MaintainerMSP', identity: who.maintainer.id, role: 'DEVICE_AGENT' }],
    ['a second DEVICE_AGENT while one holds it', { mspId: 'OwnerMSP', identity: identity('OwnerMSP', 'Agent2').id, role: 'DEVICE_AGENT' }],
  ])('refuses an OWNER granting %s (GRANT_FORBIDDEN)', async (_n, g) => {
    const w = await worldWithTwin();
    await expectRefusal(w, grant(w, who.owner, g), ErrorCodes.GRANT_FORBIDDEN);
    expect((await w.ledger.invoke(who.owner, w.acl, 'checkAccess', TWIN, 'program:ack')).allowed).toBe(false);
  });

  it('refuses the same grants at twin creation', async () => {
    for (const g of [
      { mspId: 'OwnerMSP', identity: who.owner.id, role: 'DEVICE_AGENT' },
      { mspId: 'OwnerMSP', permission: 'program:ack' },
      { mspId: 'AgentMSP', identity: who.agentElsewhere.id, role: 'DEVICE_AGENT' },
    ]) {
      const w = newWorld();
      await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'x', FIXTURE, JSON.stringify([g])), ErrorCodes.GRANT_FORBIDDEN);
    }
    const w = newWorld();
    const two = [
      { mspId: 'OwnerMSP', identity: who.deviceAgent.id, role: 'DEVICE_AGENT' },
      { mspId: 'OwnerMSP', identity: identity('OwnerMSP', 'Agent2').id, role: 'DEVICE_AGENT' },
    ];
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'x', FIXTURE, JSON.stringify(two)), ErrorCodes.GRANT_FORBIDDEN);
  });

  it('replaces the device agent only by revoking it first; re-granting the same agent (new expiry) is allowed', async () => {
    const w = await worldWithTwin();
    const current = { mspId: 'OwnerMSP', identity: who.deviceAgent.id, role: 'DEVICE_AGENT' };
    await grant(w, who.owner, { ...current, expiresAt: '2099-01-01T00:00:00Z' });
    const next = identity('OwnerMSP', 'Agent2');
    await w.ledger.invoke(who.owner, w.acl, 'revoke', TWIN, JSON.stringify(current));
    await grant(w, who.owner, { mspId: 'OwnerMSP', identity: next.id, role: 'DEVICE_AGENT' });
    await call(w, who.owner, 'after-swap');
    await expectRefusal(w, w.ledger.invoke(who.deviceAgent, w.spec, 'acknowledgeProgramCall', TWIN, '1', 'EXECUTED', ''), ErrorCodes.ACCESS_DENIED);
    expect(await w.ledger.invoke(next, w.spec, 'acknowledgeProgramCall', TWIN, '1', 'EXECUTED', '')).toMatchObject({ status: 'EXECUTED' });
  });

  it('an expired device-agent grant no longer blocks a new one', async () => {
    const w = newWorld();
    const soon = new Date((w.ledger.clock + 15) * 1000).toISOString();
    await w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'x', FIXTURE, JSON.stringify([{ mspId: 'OwnerMSP', identity: who.deviceAgent.id, role: 'DEVICE_AGENT', expiresAt: soon }]));
    await grant(w, who.owner, { mspId: 'OwnerMSP', identity: identity('OwnerMSP', 'Agent2').id, role: 'DEVICE_AGENT' });
  });

  it('refuses acknowledgements by everyone but the device agent, even with a program:ack grant written before these rules', async () => {
    const w = await worldWithTwin();
    await call(w, who.owner, 'r-1');
    // A ledger that already holds such grants (made before the rules existed).
    for (const g of [
      { twinId: TWIN, mspId: 'OwnerMSP', identity: who.owner.id, permission: 'program:ack' },
      { twinId: TWIN, mspId: 'MaintainerMSP', role: 'DEVICE_AGENT' },
    ]) {
      w.ledger.state.set(grantKey(TWIN, g as never), Buffer.from(JSON.stringify({ ...g, grantedBy: who.owner, grantedAt: '2020-01-01T00:00:00.000Z', txId: 'old' })));
    }
    for (const caller of [who.owner, who.maintainer, who.manufacturer, who.auditor, who.outsider]) {
      await expectRefusal(w, w.ledger.invoke(caller, w.spec, 'acknowledgeProgramCall', TWIN, '1', 'EXECUTED', ''), ErrorCodes.ACCESS_DENIED);
      expect((await w.ledger.invoke(caller, w.acl, 'checkAccess', TWIN, 'program:ack')).allowed).toBe(false);
    }
    expect(await w.ledger.invoke(who.deviceAgent, w.spec, 'acknowledgeProgramCall', TWIN, '1', 'REJECTED', '{}')).toMatchObject({ status: 'REJECTED' });
  });
});
