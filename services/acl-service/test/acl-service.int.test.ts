import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fabricAvailability, ledgerEnvOf, startNetwork, testNetworkInit, type DevNetwork, type OrgHandle } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type PeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { startAclService, type AclService } from '../src/main.js';

const fabric = await fabricAvailability();
const ROOT = new URL('../../../', import.meta.url).pathname;
const ADMIN_CLI = join(ROOT, 'services/acl-service/dist/admin-cli.js');
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

function identitiesDir(root: string, org: OrgHandle): string {
  const dir = join(root, org.name);
  mkdirSync(dir, { recursive: true });
  symlinkSync(dirname(org.users[0]!.mspDir), join(dir, 'User1'));
  symlinkSync(dirname(org.admin.mspDir), join(dir, 'Admin'));
  return dir;
}

async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`not reached within ${timeoutMs} ms: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

(fabric.ok ? describe : describe.skip)('acl-service on the real two-organization network', () => {
  let net: DevNetwork;
  let root: string;
  let pool: PeerConnectionPool;
  let owner: FabricClient;
  const issuers: DevIssuer[] = [];
  const services: AclService[] = [];
  const twinId = `acl-${Date.now().toString(36)}`;

  const token = (i: number, fabricIdentity = 'User1') => issuers[i]!.issue({ sub: `u${i}`, org: net.orgs[i]!.mspId, fabricIdentity, audience: 'twinledger' });
  const call = async (i: number, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, identity = 'User1') =>
    services[i]!.app.inject({ method, url, ...(payload !== undefined ? { payload: payload as string } : {}), headers: { authorization: `Bearer ${await token(i, identity)}` } });

  beforeAll(async () => {
    // The admin command runs compiled, as an operator runs it.
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', join(ROOT, 'services/acl-service')], { stdio: 'inherit' });
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: false, ...testNetworkInit() });
    root = mkdtempSync(join(tmpdir(), 'acl-service-int-'));
    pool = createPeerConnectionPool();
    owner = createFabricClient({ pool, peer: net.orgs[0]!.peer, identity: await loadIdentity(net.orgs[0]!.users[0]!), channel: net.channel, chaincode: net.chaincode });
    await createTwinLedger(owner).createTwin(twinId, 'Plant', AML);
    for (const [i, org] of net.orgs.entries()) {
      identitiesDir(root, org);
      issuers[i] = await createDevIssuer(`https://idp.${org.name}.local`);
      const s = await startAclService(
        {
          mspId: org.mspId,
          identitiesDir: join(root, org.name),
          peer: org.peer,
          channel: net.channel,
          chaincode: net.chaincode,
          auth: { issuer: issuers[i]!.issuer, audience: 'twinledger', jwks: issuers[i]!.jwks, expectedOrg: org.mspId },
          serviceIdentity: 'User1',
          // Long TTL: a changed decision can only come from event invalidation.
          cacheTtlMs: 600_000,
        },
        silentLogger(),
      );
      await s.app.ready();
      services.push(s);
    }
    await eventually(async () => services.every((s) => s.watcher.connected), Boolean);
  });

  afterAll(async () => {
    for (const s of services) {
      await s.app.close();
      await s.close();
    }
    owner?.close();
    pool?.close();
    await net?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const ask = async (permission: string) => (await call(1, 'POST', '/authorize', { twinId, permission, mspId: 'Org2MSP' })).json() as { allowed: boolean; cached: boolean; roles: string[] };

  it('decides from the ledger, caches, and is invalidated by GrantAdded/GrantRevoked events', async () => {
    expect(await ask('doc:read:confidential')).toMatchObject({ allowed: false, cached: false });
    expect(await ask('doc:read:confidential')).toMatchObject({ allowed: false, cached: true });
    const g = await call(0, 'POST', `/twins/${twinId}/grants`, { mspId: 'Org2MSP', role: 'AUDITOR' });
    expect(g.statusCode).toBe(201);
    // Org 2's acl-service learns of the grant from the ledger event, not from the call.
    const after = await eventually(() => ask('doc:read:confidential'), (d) => d.allowed);
    expect(after.roles).toContain('AUDITOR');
    const list = ((await call(1, 'GET', `/twins/${twinId}/grants`)).json() as { items: Array<{ mspId: string; role?: string }> }).items;
    expect(list).toEqual(expect.arrayContaining([expect.objectContaining({ mspId: 'Org2MSP', role: 'AUDITOR' }), expect.objectContaining({ mspId: 'Org1MSP', role: 'OWNER' })]));
    expect((await call(0, 'POST', `/twins/${twinId}/grants/revoke`, { mspId: 'Org2MSP', role: 'AUDITOR' })).statusCode).toBe(200);
    await eventually(() => ask('doc:read:confidential'), (d) => !d.allowed);
  });

  it('refuses grants by a party without grants:manage (403 from the chaincode) and revoking the last owner', async () => {
    const res = await call(1, 'POST', `/twins/${twinId}/grants`, { mspId: 'Org2MSP', role: 'OWNER' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'ACCESS_DENIED' });
    const last = await call(0, 'POST', `/twins/${twinId}/grants/revoke`, { mspId: 'Org1MSP', role: 'OWNER' });
    expect(last.json()).toMatchObject({ code: 'INVALID_STATE' });
  });

  it('lets a grant expire', async () => {
    const expiresAt = new Date(Date.now() + 4000).toISOString();
    expect((await call(0, 'POST', `/twins/${twinId}/grants`, { mspId: 'Org2MSP', role: 'MAINTAINER', expiresAt })).statusCode).toBe(201);
    await eventually(() => ask('spec:write'), (d) => d.allowed);
    await new Promise((r) => setTimeout(r, 4500));
    // Not cached for this permission yet: the chaincode compares the expiry with the proposal's time.
    expect(await ask('program:call')).toMatchObject({ allowed: false });
  });

  it('registers the party entry through the admin command (Admin key) only; the service refuses', async () => {
    const body = { peerIds: ['12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'], x25519PublicKey: Buffer.alloc(32, 3).toString('base64') };
    expect((await call(0, 'PUT', '/parties/self', body)).json()).toMatchObject({ code: 'ADMIN_COMMAND_REQUIRED' });
    const org = net.orgs[0]!;
    const cli = (identity: { certPath: string; keyPath: string }) =>
      spawnSync(process.execPath, [ADMIN_CLI, 'register-party', '--peer-ids', body.peerIds.join(','), '--x25519', body.x25519PublicKey, '--cert', identity.certPath, '--key', identity.keyPath], {
        env: { PATH: process.env['PATH'], ...ledgerEnvOf(net, org) },
        encoding: 'utf8',
        timeout: 60_000,
      });
    // A user identity is refused by the chaincode (not an admin).
    const refused = cli(org.users[0]!);
    expect(refused.status).toBe(1);
    expect(JSON.parse(refused.stderr)).toMatchObject({ code: 'ACCESS_DENIED' });
    const ok = cli(org.admin);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ result: { mspId: 'Org1MSP', peerIds: body.peerIds } });
    const party = (await call(1, 'GET', '/parties/Org1MSP')).json();
    expect(party).toMatchObject({ mspId: 'Org1MSP', peerIds: body.peerIds, x25519PublicKey: body.x25519PublicKey });
    expect((await call(1, 'GET', '/parties/Org9MSP')).statusCode).toBe(404);
  });

  it("claims a device-ID namespace by the admin command: no other organization creates a twin in it first (issue #20)", async () => {
    const org = net.orgs[0]!;
    const prefix = `org1-${Date.now().toString(36)}:`;
    const cli = (identity: { certPath: string; keyPath: string }) =>
      spawnSync(process.execPath, [ADMIN_CLI, 'claim-namespace', '--prefix', prefix, '--cert', identity.certPath, '--key', identity.keyPath], {
        env: { PATH: process.env['PATH'], ...ledgerEnvOf(net, org) },
        encoding: 'utf8',
        timeout: 60_000,
      });
    expect(JSON.parse(cli(org.users[0]!).stderr)).toMatchObject({ code: 'ACCESS_DENIED' });
    const ok = cli(org.admin);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ result: { prefix, mspId: 'Org1MSP' } });
    const listed = await eventually(async () => ((await call(1, 'GET', '/namespaces?limit=1000')).json() as { items: Array<{ prefix: string; mspId: string }> }).items, (l) => l.some((n) => n.prefix === prefix));
    expect(listed.find((n) => n.prefix === prefix)).toMatchObject({ mspId: 'Org1MSP' });
    // Org2 squatting a device ID in Org1's namespace, through its own peer: refused.
    const org2 = createTwinLedger(createFabricClient({ pool, peer: net.orgs[1]!.peer, identity: await loadIdentity(net.orgs[1]!.users[0]!), channel: net.channel, chaincode: net.chaincode }));
    await expect(org2.createTwin(`${prefix}filler-1`, 'Filler', AML)).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect((await createTwinLedger(owner).createTwin(`${prefix}filler-1`, 'Filler', AML)).result).toMatchObject({ twinId: `${prefix}filler-1` });
  });
});
