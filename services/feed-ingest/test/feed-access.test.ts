import { describe, expect, it } from '@jest/globals';
import { documentReaders, permissionHolders, type GrantSpec, type TwinLedger } from '@twinledger/ledger';
import { createStaticPartyRegistry } from '@twinledger/dht';
import type { FabricClient } from '@twinledger/fabric-client';
import { createFeedAccess } from '../src/domain/feed-access.js';

const caller = { subject: 'u', mspId: 'Org1MSP', fabricIdentity: 'User1' };

describe('the feed party set (permissionHolders with feed:read)', () => {
  const parties = [{ mspId: 'Org1MSP' }, { mspId: 'Org2MSP' }, { mspId: 'Org3MSP' }];
  const now = new Date('2026-12-04T18:00:00Z');

  it('is the holders of an unexpired feed:read (by role or permission), * expanded, the writer always in', () => {
    const grants: GrantSpec[] = [
      { mspId: 'Org2MSP', role: 'AUDITOR' },
      { mspId: 'Org3MSP', permission: 'feed:register' },
      { mspId: 'Org4MSP', permission: 'feed:read', expiresAt: '2026-12-04T17:59:59Z' },
      { mspId: 'Org5MSP', permission: 'feed:read', identity: 'x509::CN=one' },
    ];
    expect(permissionHolders(grants, 'feed:read', parties, 'Org1MSP', now)).toEqual(['Org1MSP', 'Org2MSP', 'Org5MSP']);
    expect(permissionHolders([{ mspId: '*', role: 'READER' }], 'feed:read', parties, 'Org1MSP', now)).toEqual(['Org1MSP', 'Org2MSP', 'Org3MSP']);
  });

  it('is the same policy as documentReaders (one helper)', () => {
    const grants: GrantSpec[] = [{ mspId: 'Org2MSP', role: 'MANUFACTURER' }, { mspId: 'Org3MSP', role: 'READER' }];
    expect(documentReaders(grants, 'confidential', parties, 'Org1MSP', now)).toEqual(permissionHolders(grants, 'doc:read:confidential', parties, 'Org1MSP', now));
  });
});

describe('ledger decisions of feed-ingest (createFeedAccess)', () => {
  /** A FabricClient whose acl:checkAccess answers `allowed()`; counts evaluations. */
  function client(allowed: () => boolean | Error): { client: FabricClient; calls: () => number } {
    let calls = 0;
    const c = {
      mspId: 'Org1MSP',
      evaluate: async (fn: string, args: readonly string[]) => {
        calls++;
        expect(fn).toBe('acl:checkAccess');
        const a = allowed();
        if (a instanceof Error) throw a;
        return new TextEncoder().encode(JSON.stringify({ twinId: args[0], mspId: 'Org1MSP', identity: 'x509::u', permission: args[1], allowed: a, roles: [], permissions: [] }));
      },
    } as unknown as FabricClient;
    return { client: c, calls: () => calls };
  }

  it('reuses a decision for the TTL, shares concurrent evaluations, then asks the ledger again', async () => {
    let t = 0;
    let allowed = true;
    const c = client(() => allowed);
    const access = createFeedAccess({
      identities: { clientFor: async () => c.client },
      // No grant expires: only the TTL bounds an allowing decision.
      serviceLedger: { listGrants: async () => [] } as unknown as TwinLedger,
      parties: createStaticPartyRegistry(),
      mspId: 'Org1MSP',
      ttlMs: 5000,
      now: () => t,
    });
    await Promise.all([access.require(caller, 'twin', 'feed:read'), access.require(caller, 'twin', 'feed:read')]);
    expect(c.calls()).toBe(1);
    allowed = false;
    t = 4999;
    await expect(access.require(caller, 'twin', 'feed:read')).resolves.toBeUndefined();
    t = 5000;
    await expect(access.require(caller, 'twin', 'feed:read')).rejects.toMatchObject({ name: 'FeedAccessDeniedError', code: 'FEED_ACCESS_DENIED', httpStatus: 403, details: { twinId: 'twin', permission: 'feed:read' } });
    expect(c.calls()).toBe(2);
    // Another permission is another decision.
    expect(await access.allows(caller, 'twin', 'feed:register')).toBe(false);
    expect(c.calls()).toBe(3);
  });

  it('never caches a failed evaluation (peer down) as a decision', async () => {
    let fail = true;
    const c = client(() => (fail ? Object.assign(new Error('unavailable'), { code: 'UNAVAILABLE' }) : true));
    const access = createFeedAccess({ identities: { clientFor: async () => c.client }, serviceLedger: {} as TwinLedger, parties: createStaticPartyRegistry(), mspId: 'Org1MSP', ttlMs: 60_000 });
    await expect(access.require(caller, 'twin', 'feed:read')).rejects.toThrow();
    fail = false;
    await expect(access.require(caller, 'twin', 'feed:read')).resolves.toBeUndefined();
    expect(c.calls()).toBe(2);
  });
});
