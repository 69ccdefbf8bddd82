import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createDhtClient, type DhtClient } from '@twinledger/dht-client';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type PeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger, type TwinLedger } from '@twinledger/ledger';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { startAclService, type AclService } from '../src/main.js';
// The one helper that runs real dht-gateway processes for the services' engine tests.
import { startDhtGateways, stopDhtGateways, type GatewayProcess } from '../../spec-service/test/support/dht-gateways.js';

const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const RECONCILE_MS = 10_000;
// The gateway's own audience (DHT_AUTH_AUDIENCE, default twinledger-dht) and the shared one older gateways accept.
const DHT_AUDIENCES = ['twinledger-dht', 'twinledger'];
/** The documented bound for an expired grant's reader to lose access (README). */
const EXPIRY_BOUND_MS = 60_000;

async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (ok(v)) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`not reached within ${timeoutMs} ms: ${String((last as Error)?.message ?? JSON.stringify(last))}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function readAs(dht: DhtClient, ref: string): Promise<string> {
  const code = (err: unknown) => (err as { code?: string }).code ?? 'ERROR';
  try {
    return sha((await dht.getObject(ref)).bytes);
  } catch (err) {
    if (code(err) !== 'DHT_NO_KEY_FOR_PARTY') return code(err);
  }
  try {
    const head = (await dht.getAcl(ref)).head;
    return head === undefined ? 'DHT_NO_KEY_FOR_PARTY' : sha((await dht.getObject(head)).bytes);
  } catch (err) {
    return code(err);
  }
}

/**
 * Three organizations: Org1 owns the twin and uploads the report, Org2 (MAINTAINER) uploads a
 * second version of it, Org3 (AUDITOR) reads. Each org runs its own dht-gateway and acl-service
 * (with a state dir), as in production.
 */
(fabric.ok ? describe : describe.skip)('acl-service re-keying is reliable (restart, other orgs\' versions, expiry, ledger record)', () => {
  let net: DevNetwork;
  let root: string;
  let pool: PeerConnectionPool;
  const clients: FabricClient[] = [];
  const ledgers: TwinLedger[] = [];
  let gateways: GatewayProcess[] = [];
  const issuers: DevIssuer[] = [];
  const services: Array<AclService | undefined> = [];
  const dht: DhtClient[] = [];
  const twinId = `rekey-${Date.now().toString(36)}`;
  const v1 = Buffer.from(`maintenance report ${twinId}\n`.repeat(4000));
  const v2 = Buffer.from(`corrected report ${twinId}\n`.repeat(100));
  let ref1 = '';
  let ref2 = '';
  let hash1 = '';
  let hash2 = '';

  async function startService(i: number): Promise<void> {
    const org = net.orgs[i]!;
    const s = await startAclService(
      {
        mspId: org.mspId,
        identitiesDir: join(root, org.name),
        peer: org.peer,
        channel: net.channel,
        chaincode: net.chaincode,
        auth: { issuer: issuers[i]!.issuer, audience: 'twinledger', jwks: issuers[i]!.jwks, expectedOrg: org.mspId },
        serviceIdentity: 'User1',
        cacheTtlMs: 600_000,
        dht: gateways[i]!.url,
        dhtTokenFile: join(root, `${org.name}.token`),
        dataDir: join(root, `${org.name}-state`),
        keyReconcileMs: RECONCILE_MS,
      },
      silentLogger(),
    );
    await s.app.ready();
    services[i] = s;
  }
  async function stopService(i: number): Promise<void> {
    const s = services[i];
    services[i] = undefined;
    await s?.app.close();
    await s?.close();
  }

  /** The ledger's access record of a version equals the DHT's ACL record (version and parties). */
  async function recordMatchesDht(hash: string, ref: string): Promise<boolean> {
    const [rec, acl] = await Promise.all([ledgers[0]!.getAccessRecord(twinId, hash), dht[0]!.getAcl(ref)]);
    return rec.record !== null && rec.record.aclVersion === acl.version && JSON.stringify(rec.record.parties) === JSON.stringify([...acl.parties].sort());
  }

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2', 'org3'], kafka: false, ...testNetworkInit() });
    root = mkdtempSync(join(tmpdir(), 'acl-rekey-int-'));
    for (const [i, org] of net.orgs.entries()) issuers[i] = await createDevIssuer(`https://idp.${org.name}.local`);
    gateways = await startDhtGateways(root, net.orgs.map((o, i) => ({ mspId: o.mspId, issuer: issuers[i]! })));
    pool = createPeerConnectionPool();
    for (const [i, org] of net.orgs.entries()) {
      clients.push(createFabricClient({ pool, peer: org.peer, identity: await loadIdentity(org.users[0]!), channel: net.channel, chaincode: net.chaincode }));
      ledgers.push(createTwinLedger(clients[i]!));
      // Every org's admin registers it in the ledger's party registry (the launcher's admin command does this).
      const admin = createFabricClient({ pool, peer: org.peer, identity: await loadIdentity(org.admin), channel: net.channel, chaincode: net.chaincode });
      // A peer ID is one organization's: each registers its own (the last letter differs).
      await createTwinLedger(admin).registerParty([`12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5S${'ABCDEFGH'[i]}`], Buffer.alloc(32, i + 1).toString('base64'));
      admin.close();
      const dir = join(root, org.name);
      mkdirSync(dir, { recursive: true });
      symlinkSync(dirname(org.users[0]!.mspDir), join(dir, 'User1'));
      // Workload credentials for the gateway: the key manager's carries the role that may change ACLs.
      writeFileSync(join(root, `${org.name}.token`), await issuers[i]!.issue({ sub: `acl-service-${org.name}`, org: org.mspId, audience: DHT_AUDIENCES, svc: 'acl-service', roles: ['dht:key-manager'] }));
      dht.push(createDhtClient({ baseUrl: gateways[i]!.url, token: await issuers[i]!.issue({ sub: `spec-service-${org.name}`, org: org.mspId, audience: DHT_AUDIENCES, svc: 'spec-service' }) }));
    }
    for (const i of [0, 1, 2]) await startService(i);
    await eventually(async () => services.every((s) => s?.watcher.connected), Boolean);

    await ledgers[0]!.createTwin(twinId, 'Plant', AML, [
      { mspId: 'Org2MSP', role: 'MAINTAINER' },
      { mspId: 'Org3MSP', role: 'AUDITOR' },
    ]);
    // Stored as spec-service stores uploads: for the readers the grants give.
    const readers = ['Org1MSP', 'Org2MSP', 'Org3MSP'];
    const s1 = await dht[0]!.putObject(v1, { acl: readers });
    ref1 = s1.ref;
    hash1 = s1.sha256;
    await ledgers[0]!.addDocument(twinId, { hash: hash1, dhtRef: ref1, title: 'Report', confidentiality: 'confidential' });
    // Org2 uploads version 2 of Org1's document: its gateway's key owns that DHT object.
    const s2 = await dht[1]!.putObject(v2, { acl: readers });
    ref2 = s2.ref;
    hash2 = s2.sha256;
    await ledgers[1]!.addDocumentVersion(twinId, hash1, hash2, ref2);
  }, 600_000);

  afterAll(async () => {
    for (const i of [0, 1, 2]) await stopService(i);
    for (const c of clients) c.close();
    pool?.close();
    await stopDhtGateways(gateways);
    await net?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('records each object\'s ACL on the ledger, by the organization that uploaded it', async () => {
    await eventually(() => recordMatchesDht(hash1, ref1), Boolean);
    await eventually(() => recordMatchesDht(hash2, ref2), Boolean);
    expect((await ledgers[0]!.getAccessRecord(twinId, hash1)).record).toMatchObject({ recordedBy: { mspId: 'Org1MSP' }, parties: ['Org1MSP', 'Org2MSP', 'Org3MSP'], dhtRef: ref1, version: 1 });
    expect((await ledgers[0]!.getAccessRecord(twinId, hash2)).record).toMatchObject({ recordedBy: { mspId: 'Org2MSP' }, parties: ['Org1MSP', 'Org2MSP', 'Org3MSP'], dhtRef: ref2, version: 2 });
    expect(await readAs(dht[2]!, ref1)).toBe(sha(v1));
    expect(await readAs(dht[2]!, ref2)).toBe(sha(v2));
  }, 120_000);

  it('a revoke committed while the uploaders\' acl-services are down re-keys every version after their restart', async () => {
    const before1 = await dht[0]!.getAcl(ref1);
    const before2 = await dht[1]!.getAcl(ref2);
    await stopService(0);
    await stopService(1);
    await ledgers[0]!.revoke(twinId, { mspId: 'Org3MSP', role: 'AUDITOR' });
    // Org3's own acl-service runs but owns neither object: nothing changes while the uploaders are down.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await dht[0]!.getAcl(ref1)).parties).toContain('Org3MSP');
    expect((await dht[1]!.getAcl(ref2)).parties).toContain('Org3MSP');

    await startService(0);
    await startService(1);
    const after1 = await eventually(() => dht[0]!.getAcl(ref1), (a) => !a.parties.includes('Org3MSP'));
    const after2 = await eventually(() => dht[1]!.getAcl(ref2), (a) => !a.parties.includes('Org3MSP'));
    for (const [before, after] of [[before1, after1], [before2, after2]] as const) {
      expect(after.version).toBeGreaterThan(before.version);
      expect(after.head).toBeDefined();
      expect(after.head).not.toBe(before.head);
      expect([...after.parties].sort()).toEqual(['Org1MSP', 'Org2MSP']);
    }
    // The revoked party gets neither the recorded references nor the re-keyed heads.
    for (const ref of [ref1, after1.head!, ref2, after2.head!]) expect(await eventually(() => readAs(dht[2]!, ref), (c) => c === 'DHT_ACL_DENIED')).toBe('DHT_ACL_DENIED');
    expect(await readAs(dht[0]!, after1.head!)).toBe(sha(v1));
    expect(await readAs(dht[1]!, after2.head!)).toBe(sha(v2));
    // The re-keys are on the ledger, with the DHT's version and parties.
    await eventually(() => recordMatchesDht(hash1, ref1), Boolean);
    await eventually(() => recordMatchesDht(hash2, ref2), Boolean);
    const hist = await ledgers[0]!.getAccessRecord(twinId, hash1);
    expect(hist.record).toMatchObject({ parties: ['Org1MSP', 'Org2MSP'], head: after1.head });
    expect(hist.history.length).toBeGreaterThanOrEqual(2);
    // The checkpoint was persisted in the state dir.
    expect(services[0]!.watcher.lastBlock).toBeDefined();
  }, 240_000);

  it('an expiring grant widens the ACL, and after the expiry the object is re-keyed within the bound and recorded', async () => {
    const expiresAt = new Date(Date.now() + 25_000);
    await ledgers[0]!.grant(twinId, { mspId: 'Org3MSP', role: 'AUDITOR', expiresAt: expiresAt.toISOString() });
    await eventually(() => dht[0]!.getAcl(ref1), (a) => a.parties.includes('Org3MSP'));
    await eventually(() => dht[1]!.getAcl(ref2), (a) => a.parties.includes('Org3MSP'));
    await eventually(() => recordMatchesDht(hash1, ref1), Boolean);
    const widened = await dht[0]!.getAcl(ref1);

    const a1 = await eventually(() => dht[0]!.getAcl(ref1), (a) => !a.parties.includes('Org3MSP'), expiresAt.getTime() - Date.now() + EXPIRY_BOUND_MS);
    const a2 = await eventually(() => dht[1]!.getAcl(ref2), (a) => !a.parties.includes('Org3MSP'), expiresAt.getTime() - Date.now() + EXPIRY_BOUND_MS);
    expect(Date.now() - expiresAt.getTime()).toBeLessThan(EXPIRY_BOUND_MS);
    expect(a1.version).toBeGreaterThan(widened.version);
    expect(a1.head).not.toBe(widened.head);
    expect(a2.parties).not.toContain('Org3MSP');
    expect(await eventually(() => readAs(dht[2]!, a1.head!), (c) => c === 'DHT_ACL_DENIED')).toBe('DHT_ACL_DENIED');
    await eventually(() => recordMatchesDht(hash1, ref1), Boolean);
    await eventually(() => recordMatchesDht(hash2, ref2), Boolean);
    expect((await ledgers[0]!.getAccessRecord(twinId, hash1)).record).toMatchObject({ parties: ['Org1MSP', 'Org2MSP'], head: a1.head });
  }, 240_000);
});
