// Per organization of a real Fabric network: acl-service, dht-gateway, spec-service and
// (optionally) a console, all as child processes of their built dist/server.js, each org with
// its own dev token issuer. The minimum the console's scenario tests need; to be replaced by
// packages/consortium's launcher once that is available (engineer A's work).
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ledgerEnvOf, type DevNetwork } from '@twinledger/devnet';
import { generateEncryptionKeyPair, generateSwarmKey, peerIdOfDataDir } from '@twinledger/dht';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { startService, type ServiceProcess } from './processes.js';

export interface LedgerOrg {
  readonly mspId: string;
  readonly issuer: DevIssuer;
  readonly spec: ServiceProcess;
  readonly acl: ServiceProcess;
  readonly dht: ServiceProcess;
  console?: ServiceProcess;
  token(fabricIdentity: string, sub?: string): Promise<string>;
}

export interface LedgerOrgsOptions {
  /** The org's token issuer (e.g. one sharing its key with the org's OpenID provider); default a fresh dev issuer. */
  readonly issuerFor?: (mspId: string) => Promise<DevIssuer>;
}

export async function startLedgerOrgs(root: string, net: DevNetwork, options: LedgerOrgsOptions = {}): Promise<LedgerOrg[]> {
  await writeFile(join(root, 'swarm.key'), generateSwarmKey());
  const preps = [];
  for (const org of net.orgs) {
    const dir = join(root, org.mspId);
    await mkdir(join(dir, 'identities'), { recursive: true });
    // The services sign as the caller's Fabric identity: cryptogen's user folders, by name.
    await symlink(dirname(org.users[0]!.mspDir), join(dir, 'identities', 'User1'));
    await symlink(dirname(org.users[1]!.mspDir), join(dir, 'identities', 'User2'));
    await symlink(dirname(org.admin.mspDir), join(dir, 'identities', 'Admin'));
    const issuer = options.issuerFor ? await options.issuerFor(org.mspId) : await createDevIssuer(`https://idp.${org.mspId.toLowerCase()}.console-test`);
    await writeFile(join(dir, 'jwks.json'), JSON.stringify(issuer.jwks));
    const kp = generateEncryptionKeyPair();
    await writeFile(join(dir, 'enc.key'), Buffer.from(kp.privateKey).toString('hex'), { mode: 0o600 });
    const dhtData = join(dir, 'dht-gateway');
    await mkdir(dhtData, { recursive: true });
    preps.push({ org, dir, issuer, peerId: await peerIdOfDataDir(dhtData), publicKey: Buffer.from(kp.publicKey).toString('hex'), dhtData });
  }
  await writeFile(join(root, 'parties.json'), JSON.stringify(preps.map((p) => ({ mspId: p.org.mspId, peerIds: [p.peerId], encryptionPublicKey: p.publicKey }))));

  const orgs: LedgerOrg[] = [];
  const boot: string[] = [];
  for (const p of preps) {
    const auth = { AUTH_ISSUER: p.issuer.issuer, AUTH_AUDIENCE: 'twinledger', AUTH_JWKS_FILE: join(p.dir, 'jwks.json') };
    const ledger = { ...ledgerEnvOf(net, p.org), FABRIC_IDENTITIES_DIR: join(p.dir, 'identities') };
    const dht = await startService(
      `dht-gateway.${p.org.mspId}`,
      'dht-gateway',
      {
        ...auth,
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        MSP_ID: p.org.mspId,
        DATA_DIR: p.dhtData,
        DHT_LISTEN: '/ip4/127.0.0.1/tcp/0',
        DHT_BOOTSTRAP: boot.join(','),
        DHT_SWARM_KEY_FILE: join(root, 'swarm.key'),
        PARTY_REGISTRY_FILE: join(root, 'parties.json'),
        DHT_ENCRYPTION_KEY_FILE: join(p.dir, 'enc.key'),
        DHT_REPLICATION: String(preps.length),
        DHT_FAULT_TOLERANCE: '0',
        DHT_REPAIR_INTERVAL_MS: '0',
        MAX_OBJECT_BYTES: String(8 * 1024 * 1024),
      },
    );
    // The gateway takes service credentials only (audience twinledger-dht, svc claim): acl-service
    // presents the key manager's, spec-service one that may store and read.
    const aclDhtToken = join(p.dir, 'acl-service-dht.token');
    const specDhtToken = join(p.dir, 'spec-service-dht.token');
    await writeFile(aclDhtToken, await p.issuer.issue({ sub: 'acl-service', svc: 'acl-service', roles: ['dht:key-manager'], org: p.org.mspId, audience: 'twinledger-dht' }), { mode: 0o600 });
    await writeFile(specDhtToken, await p.issuer.issue({ sub: 'spec-service', svc: 'spec-service', org: p.org.mspId, audience: 'twinledger-dht' }), { mode: 0o600 });
    const addrs = dht.record['dht'];
    if (Array.isArray(addrs) && typeof addrs[0] === 'string') boot.push(addrs[0]);
    const acl = await startService(`acl-service.${p.org.mspId}`, 'acl-service', { ...auth, ...ledger, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', DHT_GATEWAY_URL: dht.url, DHT_TOKEN_FILE: aclDhtToken });
    const spec = await startService(
      `spec-service.${p.org.mspId}`,
      'spec-service',
      {
        ...auth,
        ...ledger,
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        DHT_GATEWAY_URL: dht.url,
        DHT_TOKEN_FILE: specDhtToken,
        KAFKA_BROKERS: net.kafka!.bootstrap,
        RELAY_IDENTITY: 'User1',
        STATE_DIR: join(p.dir, 'spec-state'),
      },
    );
    orgs.push({
      mspId: p.org.mspId,
      issuer: p.issuer,
      spec,
      acl,
      dht,
      token: (fabricIdentity, sub) => p.issuer.issue({ sub: sub ?? `${fabricIdentity.toLowerCase()}@${p.org.mspId}`, org: p.org.mspId, fabricIdentity, audience: 'twinledger' }),
    });
  }
  return orgs;
}

export async function stopLedgerOrgs(orgs: readonly LedgerOrg[]): Promise<void> {
  for (const o of [...orgs].reverse()) {
    await o.console?.stop();
    await o.spec.stop();
    await o.acl.stop();
    await o.dht.stop();
  }
}
