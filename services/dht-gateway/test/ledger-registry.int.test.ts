import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateEncryptionKeyPair, generateSwarmKey, peerIdOfDataDir } from '@twinledger/dht';
import { createDhtClient, DhtAclDeniedError } from '@twinledger/dht-client';
import { fabricAvailability, ledgerEnvOf, startNetwork, testNetworkInit, type DevNetwork, type OrgHandle } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';

// Two real dht-gateway processes whose only membership source is the party registry on the
// real ledger: each org's admin registers its gateway's peer id and key on chain first.
const SERVER = join(resolve(fileURLToPath(new URL('../../..', import.meta.url))), 'services/dht-gateway/dist/server.js');
const fabric = await fabricAvailability();

const freePort = (): Promise<number> =>
  new Promise((ok) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });

(fabric.ok ? describe : describe.skip)('dht-gateway with the party registry on the ledger', () => {
  let net: DevNetwork;
  let root = '';
  let issuer: DevIssuer;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: false, ...testNetworkInit() });
    root = await mkdtemp(join(tmpdir(), 'twinledger-gw-ledger-'));
    issuer = await createDevIssuer('https://idp.test');
    await writeFile(join(root, 'jwks.json'), JSON.stringify(issuer.jwks));
    await writeFile(join(root, 'swarm.key'), generateSwarmKey());
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await net?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Registers the org's gateway on chain as its admin, then starts the gateway process. */
  async function gateway(org: OrgHandle, bootstrap: string[]): Promise<{ url: string; addrs: string[]; peerId: string }> {
    const dataDir = join(root, org.name);
    const peerId = await peerIdOfDataDir(dataDir);
    const keys = generateEncryptionKeyPair();
    await writeFile(join(root, `${org.name}.enc`), Buffer.from(keys.privateKey).toString('hex'));
    const pool = createPeerConnectionPool();
    const admin = createFabricClient({ pool, peer: org.peer, identity: await loadIdentity(org.admin), channel: net.channel, chaincode: net.chaincode });
    try {
      await createTwinLedger(admin).registerParty([peerId], Buffer.from(keys.publicKey).toString('base64'));
    } finally {
      admin.close();
      pool.close();
    }
    const port = await freePort();
    const proc = spawn(process.execPath, [SERVER], {
      stdio: 'ignore',
      env: {
        PATH: process.env['PATH'],
        PORT: String(port),
        DATA_DIR: dataDir,
        DHT_BOOTSTRAP: bootstrap.join(','),
        DHT_SWARM_KEY_FILE: join(root, 'swarm.key'),
        DHT_ENCRYPTION_KEY_FILE: join(root, `${org.name}.enc`),
        DHT_REPLICATION: '2',
        DHT_FAULT_TOLERANCE: '0',
        ...ledgerEnvOf(net, org),
        FABRIC_CERT_FILE: org.users[0]!.certPath,
        FABRIC_KEY_FILE: org.users[0]!.keyPath,
        AUTH_ISSUER: issuer.issuer,
        AUTH_JWKS_FILE: join(root, 'jwks.json'),
      },
    });
    procs.push(proc);
    const url = `http://127.0.0.1:${port}`;
    for (const until = Date.now() + 60_000; ; ) {
      if (proc.exitCode !== null) throw new Error(`${org.name} gateway exited ${proc.exitCode}`);
      const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > until) throw new Error(`${org.name} gateway not ready`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const token = await issuer.issue({ sub: 'ops', org: org.mspId, audience: 'twinledger-dht', svc: 'spec-service' });
    const status = await createDhtClient({ baseUrl: url, token }).status();
    return { url, addrs: [...status.multiaddrs], peerId: status.peerId };
  }

  it('connects the gateways the ledger lists and shares data between them under the ACL', async () => {
    const [org1, org2] = net.orgs as [OrgHandle, OrgHandle];
    const a = await gateway(org1, []);
    const b = await gateway(org2, a.addrs.map((m) => (m.includes('/p2p/') ? m : `${m}/p2p/${a.peerId}`)));
    const asOrg = async (url: string, org: string) => createDhtClient({ baseUrl: url, token: await issuer.issue({ sub: 'u', org, audience: 'twinledger-dht', svc: 'spec-service' }) });

    const shared = await (await asOrg(a.url, 'Org1MSP')).putObject(Buffer.from('report for both'), { acl: ['Org1MSP', 'Org2MSP'] });
    expect(Buffer.from((await (await asOrg(b.url, 'Org2MSP')).getObject(shared.ref)).bytes).toString()).toBe('report for both');

    const mine = await (await asOrg(a.url, 'Org1MSP')).putObject(Buffer.from('org1 only'), { acl: ['Org1MSP'] });
    await expect((await asOrg(b.url, 'Org2MSP')).getObject(mine.ref)).rejects.toBeInstanceOf(DhtAclDeniedError);
  });
});
