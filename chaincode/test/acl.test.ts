import fc from 'fast-check';
import { ErrorCodes, Events, ROLE_PERMISSIONS } from '../src';
import { certificateFor, identity } from './support/fake-ledger';
import { FIXTURE, TWIN, expectRefusal, newWorld, who, worldWithTwin, type World } from './support/world';

const PEER_A = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';
const PEER_B = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N';
const KEY = Buffer.alloc(32, 7).toString('base64');

describe('roles', () => {
  it('grants each role exactly its permissions', async () => {
    const w = await worldWithTwin(undefined, 'elsewhere');
    const perms = async (caller: (typeof who)[keyof typeof who]) => (await w.ledger.invoke(caller, w.acl, 'checkAccess', TWIN, 'spec:read')).permissions;
    const withReader = (r: keyof typeof ROLE_PERMISSIONS) => [...new Set([...ROLE_PERMISSIONS[r], ...ROLE_PERMISSIONS.READER])].sort();
    expect(await perms(who.owner)).toEqual(withReader('OWNER'));
    expect(await perms(who.maintainer)).toEqual(withReader('MAINTAINER'));
    expect(await perms(who.manufacturer)).toEqual(withReader('MANUFACTURER'));
    expect(await perms(who.auditor)).toEqual(withReader('AUDITOR'));
    expect(await perms(who.agentElsewhere)).toEqual(withReader('DEVICE_AGENT'));
    expect(await perms(who.outsider)).toEqual(withReader('READER'));
    // Only the owner manages grants; only the device agent acknowledges program calls.
    expect(ROLE_PERMISSIONS.OWNER).toContain('grants:manage');
    for (const r of ['MAINTAINER', 'MANUFACTURER', 'AUDITOR', 'DEVICE_AGENT', 'READER'] as const) {
      expect(ROLE_PERMISSIONS[r]).not.toContain('grants:manage');
    }
    for (const r of ['OWNER', 'MAINTAINER', 'MANUFACTURER', 'AUDITOR', 'READER'] as const) {
      expect(ROLE_PERMISSIONS[r]).not.toContain('program:ack');
    }
    // Safety rules: the owner proposes, the manufacturer approves (or the other way round); the
    // maintainer's spec:write does not reach them.
    const safety = (Object.keys(ROLE_PERMISSIONS) as (keyof typeof ROLE_PERMISSIONS)[]).filter((r) => ROLE_PERMISSIONS[r].includes('safety:write'));
    expect(safety).toEqual(['OWNER', 'MANUFACTURER']);
  });

  it('checkAccess answers without refusing, and checks the permission name', async () => {
    const w = await worldWithTwin();
    const a = await w.ledger.invoke(who.auditor, w.acl, 'checkAccess', TWIN, 'doc:read:secret');
    expect(a).toMatchObject({ allowed: false, mspId: 'AuditorMSP', roles: ['AUDITOR', 'READER'] });
    expect((await w.ledger.invoke(who.auditor, w.acl, 'checkAccess', TWIN, 'doc:read:confidential')).allowed).toBe(true);
    await expect(w.ledger.invoke(who.auditor, w.acl, 'checkAccess', TWIN, 'doc:read:ultra')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(w.ledger.invoke(who.auditor, w.acl, 'checkAccess', 'ghost', 'spec:read')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const f = await w.ledger.invoke(who.owner, w.acl, 'checkAccessFor', TWIN, 'MaintainerMSP', identity('MaintainerMSP', 'x').id, 'spec:write');
    expect(f).toMatchObject({ allowed: true, mspId: 'MaintainerMSP', roles: ['MAINTAINER', 'READER'] });
  });
});

describe('grant / revoke', () => {
  it('lets the owner grant a role to a party, with an event, and revoke it', async () => {
    const w = await worldWithTwin();
    const g = await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'MAINTAINER' }));
    expect(g).toMatchObject({ twinId: TWIN, mspId: 'OutsiderMSP', role: 'MAINTAINER', grantedBy: { mspId: 'OwnerMSP' } });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.GrantAdded, payload: { twinId: TWIN, grant: { mspId: 'OutsiderMSP', role: 'MAINTAINER' } } });
    await w.ledger.invoke(who.outsider, w.spec, 'insertAML', TWIN, '<InternalElement Name="n" ID="n"/>', 'filler-1', '');
    await w.ledger.invoke(who.owner, w.acl, 'revoke', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'MAINTAINER' }));
    expect(w.ledger.lastTx.event?.name).toBe(Events.GrantRevoked);
    await expectRefusal(w, w.ledger.invoke(who.outsider, w.spec, 'removeAML', TWIN, 'n'), ErrorCodes.ACCESS_DENIED);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.acl, 'revoke', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'MAINTAINER' })), ErrorCodes.NOT_FOUND);
  });

  it('grants a single permission to a single identity only', async () => {
    const w = await worldWithTwin();
    const alice = identity('AuditorMSP', 'Alice');
    const bob = identity('AuditorMSP', 'Bob');
    await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'AuditorMSP', identity: alice.id, permission: 'doc:read:secret' }));
    expect((await w.ledger.invoke(alice, w.acl, 'checkAccess', TWIN, 'doc:read:secret')).allowed).toBe(true);
    expect((await w.ledger.invoke(bob, w.acl, 'checkAccess', TWIN, 'doc:read:secret')).allowed).toBe(false);
  });

  it('expires grants at the transaction time', async () => {
    const w = await worldWithTwin();
    const expires = new Date((w.ledger.clock + 25) * 1000).toISOString();
    await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'MAINTAINER', expiresAt: expires }));
    expect((await w.ledger.invoke(who.outsider, w.acl, 'checkAccess', TWIN, 'spec:write')).allowed).toBe(true); // clock +20
    expect((await w.ledger.invoke(who.outsider, w.acl, 'checkAccess', TWIN, 'spec:write')).allowed).toBe(false); // clock +30
    await expectRefusal(
      w,
      w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'AUDITOR', expiresAt: '2001-01-01T00:00:00Z' })),
      ErrorCodes.VALIDATION_FAILED,
    );
  });

  it('keeps at least one owner', async () => {
    const w = await worldWithTwin();
    const ownerGrant = JSON.stringify({ mspId: 'OwnerMSP', role: 'OWNER' });
    await expectRefusal(w, w.ledger.invoke(who.owner, w.acl, 'revoke', TWIN, ownerGrant), ErrorCodes.INVALID_STATE);
    await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'MaintainerMSP', role: 'OWNER' }));
    await w.ledger.invoke(who.maintainer, w.acl, 'revoke', TWIN, ownerGrant);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, ownerGrant), ErrorCodes.ACCESS_DENIED);
  });

  it.each([
    ['maintainer', who.maintainer],
    ['manufacturer', who.manufacturer],
    ['auditor', who.auditor],
    ['device agent', who.agentElsewhere],
    ['outsider', who.outsider],
  ])('refuses grant management by the %s', async (_n, caller) => {
    const w = await worldWithTwin(undefined, 'elsewhere');
    await expectRefusal(w, w.ledger.invoke(caller, w.acl, 'grant', TWIN, JSON.stringify({ mspId: caller.mspId, role: 'OWNER' })), ErrorCodes.ACCESS_DENIED);
    await expectRefusal(w, w.ledger.invoke(caller, w.acl, 'revoke', TWIN, JSON.stringify({ mspId: '*', role: 'READER' })), ErrorCodes.ACCESS_DENIED);
  });

  it.each([
    ['not JSON', 'x'],
    ['role and permission', JSON.stringify({ mspId: 'A', role: 'OWNER', permission: 'spec:read' })],
    ['neither', JSON.stringify({ mspId: 'A' })],
    ['bad msp', JSON.stringify({ mspId: 'a b', role: 'OWNER' })],
    ['bad identity', JSON.stringify({ mspId: 'A', identity: 'bob', role: 'OWNER' })],
    ['unknown permission', JSON.stringify({ mspId: 'A', permission: 'spec:delete' })],
    ['write to everyone', JSON.stringify({ mspId: '*', permission: 'spec:write' })],
    ['unknown member', JSON.stringify({ mspId: 'A', role: 'OWNER', why: 1 })],
  ])('refuses a grant: %s', async (_n, arg) => {
    const w = await worldWithTwin();
    await expectRefusal(w, w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, arg), ErrorCodes.VALIDATION_FAILED);
  });
});

describe('grant sets (the access check reads one key per MSP)', () => {
  const GRANT = '\u0000tl.grant\u0000';
  const SET = '\u0000tl.grantset\u0000';
  const MSPS = ['OwnerMSP', 'MaintainerMSP', 'OutsiderMSP', '*'] as const;
  const text = (v: Uint8Array) => JSON.parse(Buffer.from(v).toString('utf8'));

  /** Every MSP's grant set next to the grant records it must equal, from committed state. */
  function setsAndRecords(w: World): { sets: Record<string, unknown[]>; records: Record<string, unknown[]> } {
    const sets: Record<string, unknown[]> = {};
    const records: Record<string, unknown[]> = {};
    for (const [k, v] of w.ledger.snapshot()) {
      const [, , twin, msp] = k.split('\u0000');
      if (twin !== TWIN || msp === undefined) continue;
      if (k.startsWith(SET)) sets[msp] = (JSON.parse(v) as { grants: unknown[] }).grants;
      if (k.startsWith(GRANT)) (records[msp] ??= []).push(JSON.parse(v));
    }
    return { sets, records };
  }

  const principals = [who.owner, who.maintainer, who.outsider, identity('OutsiderMSP', 'Alice'), who.auditor];
  const accessOfAll = async (w: World) => {
    const out = [];
    for (const p of principals) out.push(await w.ledger.invoke(p, w.acl, 'checkAccess', TWIN, 'spec:read'));
    return out.map(({ roles, permissions }) => ({ roles, permissions }));
  };

  it('decides access with point reads only: no range query, which every peer would re-run at validation', async () => {
    const w = await worldWithTwin(undefined, 'elsewhere');
    for (const p of [who.owner, who.maintainer, who.outsider, who.agentElsewhere]) {
      await w.ledger.invoke(p, w.acl, 'checkAccess', TWIN, 'spec:write');
      expect(w.ledger.lastTx.rangeQueries).toBe(0);
    }
    await w.ledger.invoke(who.owner, w.acl, 'checkAccessFor', TWIN, 'OutsiderMSP', identity('OutsiderMSP', 'x').id, 'spec:write');
    expect(w.ledger.lastTx.rangeQueries).toBe(0);
    // A grant change reads the MSP's set, not its records.
    await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'MAINTAINER' }));
    await w.ledger.invoke(who.owner, w.acl, 'revoke', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'MAINTAINER' }));
    expect(w.ledger.txs.slice(-2).map((t) => t.ok)).toEqual([true, true]);
  });

  it('keeps every set equal to its records, and access equal to what the records confer, over any grant sequence', async () => {
    const spec = fc.record({
      mspId: fc.constantFrom(...MSPS),
      alice: fc.boolean(),
      what: fc.constantFrom<[string, string]>(['role', 'MAINTAINER'], ['role', 'AUDITOR'], ['role', 'OWNER'], ['role', 'READER'], ['permission', 'spec:read'], ['permission', 'doc:read:secret'], ['permission', 'spec:write']),
      expires: fc.constantFrom(undefined, 15, 45),
    });
    const op = fc.record({ revoke: fc.boolean(), spec });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        const w = await worldWithTwin();
        for (const o of ops) {
          const g: Record<string, string> = { mspId: o.spec.mspId, [o.spec.what[0]]: o.spec.what[1] };
          if (o.spec.alice && o.spec.mspId !== '*') g.identity = identity(o.spec.mspId, 'Alice').id;
          if (o.spec.expires && !o.revoke) g.expiresAt = new Date((w.ledger.clock + o.spec.expires) * 1000).toISOString();
          // Refusals (grants to '*' that write, the last owner, a revoke of nothing) are part of the sequence.
          await w.ledger.invoke(who.owner, w.acl, o.revoke ? 'revoke' : 'grant', TWIN, JSON.stringify(g)).catch(() => undefined);
          const { sets, records } = setsAndRecords(w);
          for (const msp of new Set([...Object.keys(sets), ...Object.keys(records)])) expect(sets[msp] ?? []).toEqual(records[msp] ?? []);
        }
        // The same state without any set (a ledger from before grant sets) answers the same.
        const live = await accessOfAll(w);
        for (const k of [...w.ledger.state.keys()]) if (k.startsWith(SET)) w.ledger.state.delete(k);
        w.ledger.clock -= principals.length * w.ledger.step;
        expect(await accessOfAll(w)).toEqual(live);
      }),
      { numRuns: 40 },
    );
  });

  it('reads the records of a twin granted before grant sets, and makes the set from them at the next change', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'MAINTAINER' }));
    for (const k of [...w.ledger.state.keys()]) if (k.startsWith(SET)) w.ledger.state.delete(k);
    expect((await w.ledger.invoke(who.outsider, w.acl, 'checkAccess', TWIN, 'spec:write')).allowed).toBe(true);
    expect((await w.ledger.invoke(who.maintainer, w.acl, 'checkAccess', TWIN, 'spec:write')).allowed).toBe(true);
    await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', permission: 'doc:read:secret' }));
    const { sets, records } = setsAndRecords(w);
    expect(sets).toEqual(records);
    expect(Object.keys(sets).sort()).toEqual(['*', 'AuditorMSP', 'MaintainerMSP', 'ManufacturerMSP', 'OutsiderMSP', 'OwnerMSP']);
    expect((await w.ledger.invoke(who.maintainer, w.acl, 'checkAccess', TWIN, 'spec:write')).allowed).toBe(true);
    expect(w.ledger.lastTx.rangeQueries).toBe(0);
    const outsider = sets.OutsiderMSP as Array<{ role?: string; permission?: string }>;
    expect(outsider.map((g) => g.role ?? g.permission).sort()).toEqual(['MAINTAINER', 'doc:read:secret']);
    await w.ledger.invoke(who.owner, w.acl, 'revoke', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'MAINTAINER' }));
    expect((await w.ledger.invoke(who.outsider, w.acl, 'checkAccess', TWIN, 'spec:write')).allowed).toBe(false);
    expect((await w.ledger.invoke(who.outsider, w.acl, 'checkAccess', TWIN, 'doc:read:secret')).allowed).toBe(true);
    expect(text(w.ledger.state.get(`${SET}${TWIN}\u0000OutsiderMSP\u0000`) as Uint8Array).grants).toHaveLength(1);
  });

  it('keeps the sets out of the change log: history and as-of show the grant records alone', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'OutsiderMSP', role: 'MAINTAINER' }));
    const header = text(w.ledger.state.get(`\u0000tl.order\u0000${TWIN}\u0000`) as Uint8Array) as { writes: number; log: Array<{ key: string }> };
    expect(header.writes).toBe(1);
    expect(header.log.map((x) => x.key.split('\u0000')[1])).toEqual(['tl.grant']);
  });
});

describe('party registry', () => {
  it("lets an org's admin register and update its own entry", async () => {
    const w = await worldWithTwin();
    const p = await w.ledger.invoke(who.ownerAdmin, w.acl, 'registerParty', JSON.stringify([PEER_B, PEER_A]), KEY);
    expect(p).toMatchObject({ mspId: 'OwnerMSP', peerIds: [PEER_A, PEER_B], x25519PublicKey: KEY, version: 1, updatedBy: who.ownerAdmin.id });
    expect(w.ledger.lastTx.event).toEqual({ name: Events.PartyRegistered, payload: { mspId: 'OwnerMSP', version: 1, txId: w.ledger.lastTx.txId } });
    const p2 = await w.ledger.invoke(who.ownerAdmin, w.acl, 'registerParty', JSON.stringify([PEER_A]), KEY);
    expect(p2.version).toBe(2);
    await w.ledger.invoke(who.manufacturerAdmin, w.acl, 'registerParty', JSON.stringify([PEER_B]), KEY);
    expect(await w.ledger.invoke(who.outsider, w.acl, 'getParty', 'OwnerMSP')).toMatchObject({ peerIds: [PEER_A], version: 2 });
    expect(((await w.ledger.invoke(who.outsider, w.acl, 'listParties')).items).map((x: { mspId: string }) => x.mspId)).toEqual(['ManufacturerMSP', 'OwnerMSP']);
    await expect(w.ledger.invoke(who.outsider, w.acl, 'getParty', 'AuditorMSP')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps a peer ID to one organization: a second claim is refused until the first drops it', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.ownerAdmin, w.acl, 'registerParty', JSON.stringify([PEER_A]), KEY);
    await expectRefusal(w, w.ledger.invoke(who.manufacturerAdmin, w.acl, 'registerParty', JSON.stringify([PEER_B, PEER_A]), KEY), ErrorCodes.ALREADY_EXISTS);
    expect(await w.ledger.invoke(who.outsider, w.acl, 'getParty', 'OwnerMSP')).toMatchObject({ peerIds: [PEER_A] });
    // The owner re-registers with B only: A is free, B is taken.
    await w.ledger.invoke(who.ownerAdmin, w.acl, 'registerParty', JSON.stringify([PEER_B]), KEY);
    await expectRefusal(w, w.ledger.invoke(who.manufacturerAdmin, w.acl, 'registerParty', JSON.stringify([PEER_B]), KEY), ErrorCodes.ALREADY_EXISTS);
    expect(await w.ledger.invoke(who.manufacturerAdmin, w.acl, 'registerParty', JSON.stringify([PEER_A]), KEY)).toMatchObject({ mspId: 'ManufacturerMSP', peerIds: [PEER_A] });
    // Re-registering one's own peer is no conflict.
    expect(await w.ledger.invoke(who.ownerAdmin, w.acl, 'registerParty', JSON.stringify([PEER_B]), KEY)).toMatchObject({ version: 3 });
  });

  it('takes admin from the certificate, not from the getID() string: a client certificate with CN eve/x/OU=admin is refused', async () => {
    const w = await worldWithTwin();
    // The getID() the shim builds for it escapes only the first '/', so the string carries /OU=admin.
    const eve = {
      mspId: 'OwnerMSP',
      id: 'x509::/C=US/ST=California/L=San Francisco/OU=client/CN=eve\\/x/OU=admin::/C=US/ST=California/L=San Francisco/O=owner.example.com/CN=ca.owner.example.com',
      idBytes: certificateFor('/C=US/ST=California/L=San Francisco/OU=client/CN=eve\\/x\\/OU=admin'),
    };
    await expectRefusal(w, w.ledger.invoke(eve, w.acl, 'registerParty', JSON.stringify([PEER_A]), KEY), ErrorCodes.ACCESS_DENIED);
  });

  it("matches the admin OU exactly, as Fabric's NodeOUs do: a client certificate with an affiliation OU 'Admin' is no admin", async () => {
    const w = await worldWithTwin();
    for (const ou of ['Admin', 'ADMIN']) {
      const subject = `/C=US/ST=California/L=San Francisco/OU=client/OU=${ou}/CN=mallory@owner.example.com`;
      const mallory = {
        mspId: 'OwnerMSP',
        id: `x509::${subject}::/C=US/ST=California/L=San Francisco/O=owner.example.com/CN=ca.owner.example.com`,
        idBytes: certificateFor(subject),
      };
      await expectRefusal(w, w.ledger.invoke(mallory, w.acl, 'registerParty', JSON.stringify([PEER_A]), KEY), ErrorCodes.ACCESS_DENIED);
      await expectRefusal(w, w.ledger.invoke(mallory, w.acl, 'claimDeviceNamespace', 'owner-plants-'), ErrorCodes.ACCESS_DENIED);
    }
  });

  it.each([
    ['a client identity', who.owner, JSON.stringify([PEER_A]), KEY, ErrorCodes.ACCESS_DENIED],
    ['a peer identity', identity('OwnerMSP', 'peer0', 'peer'), JSON.stringify([PEER_A]), KEY, ErrorCodes.ACCESS_DENIED],
    ['no peer IDs', who.ownerAdmin, '[]', KEY, ErrorCodes.VALIDATION_FAILED],
    ['a bad peer ID', who.ownerAdmin, '["hello"]', KEY, ErrorCodes.VALIDATION_FAILED],
    ['a repeated peer ID', who.ownerAdmin, JSON.stringify([PEER_A, PEER_A]), KEY, ErrorCodes.VALIDATION_FAILED],
    ['a short key', who.ownerAdmin, JSON.stringify([PEER_A]), Buffer.alloc(16).toString('base64'), ErrorCodes.VALIDATION_FAILED],
  ])('refuses registration by/with %s', async (_n, caller, ids, key, code) => {
    const w = await worldWithTwin();
    await expectRefusal(w, w.ledger.invoke(caller, w.acl, 'registerParty', ids, key), code);
  });
});

describe('diag', () => {
  it('puts and gets with one DiagPut event', async () => {
    const w = await worldWithTwin();
    const r = await w.ledger.invoke(who.outsider, w.diag, 'put', 'k1', 'v1');
    expect(r).toEqual({ key: 'k1', txId: w.ledger.lastTx.txId });
    expect(w.ledger.lastTx.event).toEqual({ name: Events.DiagPut, payload: { key: 'k1' } });
    expect(w.ledger.lastTx.writeCalls).toBe(1);
    expect(w.ledger.state.get('\u0000diag\u0000k1\u0000')).toEqual(Buffer.from('v1'));
    expect(await w.ledger.invoke(who.owner, w.diag, 'get', 'k1')).toEqual({ key: 'k1', value: 'v1' });
    await expect(w.ledger.invoke(who.owner, w.diag, 'get', 'k2')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expectRefusal(w, w.ledger.invoke(who.owner, w.diag, 'put', '', 'v'), ErrorCodes.VALIDATION_FAILED);
  });
});

describe('device-ID namespaces', () => {
  const aml = FIXTURE;
  it("lets only the claiming organization create twins in its namespace; others' IDs stay first come", async () => {
    const w = newWorld();
    const ns = await w.ledger.invoke(who.manufacturerAdmin, w.acl, 'claimDeviceNamespace', 'acme:');
    expect(ns).toMatchObject({ prefix: 'acme:', mspId: 'ManufacturerMSP', claimedBy: who.manufacturerAdmin.id });
    expect(w.ledger.lastTx.event).toMatchObject({ name: Events.DeviceNamespaceChanged, payload: { prefix: 'acme:', mspId: 'ManufacturerMSP', claimed: true } });
    // The squatter: another member creating a twin under the manufacturer's device ID first.
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'createTwin', 'acme:filler-7', 'Filler', aml, ''), ErrorCodes.ACCESS_DENIED);
    expect(await w.ledger.invoke(who.manufacturer, w.spec, 'createTwin', 'acme:filler-7', 'Filler', aml, '')).toMatchObject({ twinId: 'acme:filler-7' });
    // Outside every namespace: first come (the owner's own plant ID).
    expect(await w.ledger.invoke(who.owner, w.spec, 'createTwin', 'plant-7', 'Plant', aml, '')).toMatchObject({ twinId: 'plant-7' });
    expect((await w.ledger.invoke(who.auditor, w.acl, 'listDeviceNamespaces')).items).toEqual([ns]);
    // Released: first come again.
    await w.ledger.invoke(who.manufacturerAdmin, w.acl, 'releaseDeviceNamespace', 'acme:');
    expect(await w.ledger.invoke(who.owner, w.spec, 'createTwin', 'acme:filler-8', 'Filler', aml, '')).toMatchObject({ twinId: 'acme:filler-8' });
  });

  it.each([
    ['a client identity', () => who.manufacturer, 'acme:', ErrorCodes.ACCESS_DENIED],
    ['a prefix without a closing separator', () => who.manufacturerAdmin, 'acme', ErrorCodes.VALIDATION_FAILED],
    ['a too short prefix', () => who.manufacturerAdmin, 'a:', ErrorCodes.VALIDATION_FAILED],
  ])('refuses a claim by/with %s', async (_n, caller, prefix, code) => {
    const w = newWorld();
    await expectRefusal(w, w.ledger.invoke(caller(), w.acl, 'claimDeviceNamespace', prefix), code);
  });

  it("refuses a claim overlapping another organization's namespace in either direction, and a release by another organization", async () => {
    const w = newWorld();
    await w.ledger.invoke(who.manufacturerAdmin, w.acl, 'claimDeviceNamespace', 'acme:line-');
    await expectRefusal(w, w.ledger.invoke(who.ownerAdmin, w.acl, 'claimDeviceNamespace', 'acme:'), ErrorCodes.ALREADY_EXISTS);
    await expectRefusal(w, w.ledger.invoke(who.ownerAdmin, w.acl, 'claimDeviceNamespace', 'acme:line-7:'), ErrorCodes.ALREADY_EXISTS);
    await expectRefusal(w, w.ledger.invoke(who.ownerAdmin, w.acl, 'releaseDeviceNamespace', 'acme:line-'), ErrorCodes.ACCESS_DENIED);
    // The same organization may nest and re-claim its own.
    expect(await w.ledger.invoke(who.manufacturerAdmin, w.acl, 'claimDeviceNamespace', 'acme:')).toMatchObject({ mspId: 'ManufacturerMSP' });
    expect(await w.ledger.invoke(who.manufacturerAdmin, w.acl, 'claimDeviceNamespace', 'acme:')).toMatchObject({ prefix: 'acme:' });
  });
});
