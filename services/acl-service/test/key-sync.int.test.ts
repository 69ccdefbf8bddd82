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
// Workload credentials for the gateways: their own audience (default twinledger-dht) and the shared one older gateways accept.
const DHT_AUDIENCES = ['twinledger-dht', 'twinledger'];
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 45_000): Promise<T> {
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
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * The read outcome through one gateway, as spec-service reads a document: the recorded
 * reference, or, when its manifest holds no key for this party (a reader granted later), the
 * object's current manifest (the ACL record's head). The plaintext's hash, or the refusal's code.
 */
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

(fabric.ok ? describe : describe.skip)('acl-service DHT key sync against real dht-gateways', () => {
  let net: DevNetwork;
  let root: string;
  let pool: PeerConnectionPool;
  let ownerClient: FabricClient;
  let owner: TwinLedger;
  let gateways: GatewayProcess[] = [];
  const issuers: DevIssuer[] = [];
  const services: AclService[] = [];
  const dht: DhtClient[] = [];
  const twinId = `keys-${Date.now().toString(36)}`;
  const report = Buffer.from(`maintenance report ${twinId}\n`.repeat(4000)); // > one chunk
  let ref = '';

  const token = (i: number) => issuers[i]!.issue({ sub: `u${i}`, org: net.orgs[i]!.mspId, fabricIdentity: 'User1', audience: 'twinledger' });
  const call = async (i: number, url: string, payload: unknown) =>
    services[i]!.app.inject({ method: 'POST', url, payload: payload as string, headers: { authorization: `Bearer ${await token(i)}` } });

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: false, ...testNetworkInit() });
    root = mkdtempSync(join(tmpdir(), 'acl-keys-int-'));
    for (const [i, org] of net.orgs.entries()) issuers[i] = await createDevIssuer(`https://idp.${org.name}.local`);
    gateways = await startDhtGateways(root, net.orgs.map((o, i) => ({ mspId: o.mspId, issuer: issuers[i]! })));
    pool = createPeerConnectionPool();
    ownerClient = createFabricClient({ pool, peer: net.orgs[0]!.peer, identity: await loadIdentity(net.orgs[0]!.users[0]!), channel: net.channel, chaincode: net.chaincode });
    owner = createTwinLedger(ownerClient);
    for (const [i, org] of net.orgs.entries()) {
      const dir = join(root, org.name);
      mkdirSync(dir, { recursive: true });
      symlinkSync(dirname(org.users[0]!.mspDir), join(dir, 'User1'));
      // The service's workload token for its own gateway, as a mounted file.
      const tokenFile = join(root, `${org.name}.token`);
      writeFileSync(tokenFile, await issuers[i]!.issue({ sub: `acl-service-${org.name}`, org: org.mspId, audience: DHT_AUDIENCES, svc: 'acl-service', roles: ['dht:key-manager'] }));
      dht.push(createDhtClient({ baseUrl: gateways[i]!.url, token: await issuers[i]!.issue({ sub: `spec-service-${org.name}`, org: org.mspId, audience: DHT_AUDIENCES, svc: 'spec-service' }) }));
      // The key manager records each ACL on the ledger, whose parties must be registered (admin command in production).
      const admin = createFabricClient({ pool, peer: org.peer, identity: await loadIdentity(org.admin), channel: net.channel, chaincode: net.chaincode });
      // A peer ID is one organization's: each registers its own (the last letter differs).
      await createTwinLedger(admin).registerParty([`12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5S${'ABCDEFGH'[i]}`], Buffer.alloc(32, i + 1).toString('base64'));
      admin.close();
      const s = await startAclService(
        {
          mspId: org.mspId,
          identitiesDir: dir,
          peer: org.peer,
          channel: net.channel,
          chaincode: net.chaincode,
          auth: { issuer: issuers[i]!.issuer, audience: 'twinledger', jwks: issuers[i]!.jwks, expectedOrg: org.mspId },
          serviceIdentity: 'User1',
          cacheTtlMs: 600_000,
          dht: gateways[i]!.url,
          dhtTokenFile: tokenFile,
        },
        silentLogger(),
      );
      await s.app.ready();
      services.push(s);
    }
    await eventually(async () => services.every((s) => s.watcher.connected), Boolean);
    // Org 1 owns the twin and stores a confidential report: only org 1 is in its DHT ACL.
    await owner.createTwin(twinId, 'Plant', AML);
    const stored = await dht[0]!.putObject(report, { acl: ['Org1MSP'] });
    ref = stored.ref;
    await owner.addDocument(twinId, { hash: stored.sha256, dhtRef: ref, title: 'Report', confidentiality: 'confidential' });
  });

  afterAll(async () => {
    for (const s of services) {
      await s.app.close();
      await s.close();
    }
    ownerClient?.close();
    pool?.close();
    await stopDhtGateways(gateways);
    await net?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a party without the grant gets nothing from its own gateway', async () => {
    expect(await readAs(dht[1]!, ref)).toBe('DHT_ACL_DENIED');
    expect(await readAs(dht[0]!, ref)).toBe(sha(report));
  });

  it('granting AUDITOR wraps the data key for org 2: it downloads and decrypts through its own gateway', async () => {
    expect((await call(0, `/twins/${twinId}/grants`, { mspId: 'Org2MSP', role: 'AUDITOR' })).statusCode).toBe(201);
    // Org 1's acl-service follows the GrantAdded event and widens the ACL of its document.
    expect(await eventually(() => readAs(dht[1]!, ref), (h) => h === sha(report))).toBe(sha(report));
    const acl = await dht[0]!.getAcl(ref);
    expect([...acl.parties].sort()).toEqual(['Org1MSP', 'Org2MSP']);
  });

  it('revoking re-keys: org 2 is refused the object and never gets a later version', async () => {
    const before = await dht[0]!.getAcl(ref);
    expect((await call(0, `/twins/${twinId}/grants/revoke`, { mspId: 'Org2MSP', role: 'AUDITOR' })).statusCode).toBe(200);
    const after = await eventually(() => dht[0]!.getAcl(ref), (a) => !a.parties.includes('Org2MSP'));
    expect(after.version).toBeGreaterThan(before.version);
    // Re-encrypted under a new key (a new manifest is the object's head).
    expect(after.head).toBeDefined();
    expect(after.head).not.toBe(ref);
    expect(after.head).not.toBe(before.head);
    expect(await eventually(() => readAs(dht[1]!, ref), (c) => c === 'DHT_ACL_DENIED')).toBe('DHT_ACL_DENIED');
    expect(await readAs(dht[1]!, after.head!)).toBe('DHT_ACL_DENIED');
    // The owner still reads the recorded reference and the re-keyed head.
    expect(await readAs(dht[0]!, ref)).toBe(sha(report));
    expect(await readAs(dht[0]!, after.head!)).toBe(sha(report));

    // A later version is stored for the current readers only; the key sync leaves it so.
    const v2 = Buffer.from(`corrected report ${twinId}`);
    const stored = await dht[0]!.putObject(v2, { acl: ['Org1MSP'] });
    await owner.addDocumentVersion(twinId, sha(report), stored.sha256, stored.ref);
    const sync = (await call(0, `/twins/${twinId}/keys/sync`, {})).json() as { checked: number; updated: number; failures: unknown[] };
    expect(sync).toMatchObject({ checked: 2, updated: 0, failures: [] });
    expect(await readAs(dht[1]!, stored.ref)).toBe('DHT_ACL_DENIED');
    expect(await readAs(dht[0]!, stored.ref)).toBe(sha(v2));
  });
});
