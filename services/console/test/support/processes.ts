// Real service processes for the console's browser tests and benchmark: each service's built
// dist/server.js as a child process, resolved with its ready report.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIdentityRegistry, type IdentityRegistry } from '@twinledger/ledger-gateway';
import { ledgerEnvOf, serviceEntry, startServiceProcess, type DevNetwork, type ServiceProcess as DevnetServiceProcess } from '@twinledger/devnet';
import { peerIdOfDataDir } from '@twinledger/dht';
import { spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';
import { createPeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger, type TwinLedger } from '@twinledger/ledger';
import type { DevIssuer } from '@twinledger/service-kit';

export const ROOT = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));

export interface ServiceProcess {
  readonly name: string;
  readonly url: string;
  readonly proc: DevnetServiceProcess;
  /** The service's facts from its ready report (peer IDs, multiaddrs where the service has them). */
  readonly record: Readonly<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Starts `services/<dir>/dist/server.js` and resolves with its ready report (devnet's startServiceProcess). */
export async function startService(name: string, dir: string, env: Record<string, string>): Promise<ServiceProcess> {
  const proc = await startServiceProcess({ name, entry: serviceEntry(dir), env, readyTimeoutMs: 90_000 });
  return { name, url: proc.url, proc, record: proc.details, stop: () => proc.stop() };
}

export interface FeedStack {
  readonly dht: TestNetwork;
  readonly feedIngest: ServiceProcess;
  /** The ledger as `identity` (a folder of the organization's identities, e.g. 'User1') of `mspId`: the test's own setup (twins, grants). */
  ledgerAs(mspId: string, identity: string): Promise<TwinLedger>;
  stop(): Promise<void>;
}

/**
 * Each organization's identities folder as deployed (FABRIC_IDENTITIES_DIR): the devnet's users
 * by name (User1, User2), never its Admin.
 */
async function identitiesDirs(root: string, net: DevNetwork): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const org of net.orgs) {
    const dir = join(root, 'identities', org.mspId);
    await mkdir(dir, { recursive: true });
    for (const [i, u] of org.users.entries()) await symlink(dirname(u.mspDir), join(dir, `User${i + 1}`));
    dirs.set(org.mspId, dir);
  }
  return dirs;
}

/**
 * Org1's feed-ingest (its own embedded DHT node) with real DHT peers of Org1 and Org2, a real
 * Kafka broker and the real ledger of `net` (Fabric with the twinledger chaincode; its first
 * organization is Org1): feed-ingest decides feed access there (issue #17), signing as each
 * caller's Fabric identity (token claim fabricIdentity), and reads grants as its own User1. Its
 * peer ID is derived from its data dir first, so the static party registry lists it from the start.
 */
export async function startFeedStack(root: string, issuer: DevIssuer, net: DevNetwork): Promise<FeedStack> {
  const org1 = net.orgs.find((o) => o.mspId === 'Org1MSP');
  if (!org1 || !net.kafka) throw new Error('startFeedStack needs a network with Fabric (Org1MSP) and Kafka');
  const identities = await identitiesDirs(root, net);
  const pool = createPeerConnectionPool();
  const registries: IdentityRegistry[] = [];
  const dht = await spawnTestNetwork({ orgs: ['Org1MSP', 'Org2MSP'] });
  await dht.connectAll();
  const dataDir = join(root, 'feed-ingest');
  await mkdir(join(dataDir, 'dht'), { recursive: true });
  const childPeer = await peerIdOfDataDir(join(dataDir, 'dht'));
  const parties = dht.registry.list().map((p) => ({
    mspId: p.mspId,
    peerIds: p.mspId === 'Org1MSP' ? [...p.peerIds, childPeer] : [...p.peerIds],
    encryptionPublicKey: Buffer.from(p.encryptionPublicKey).toString('hex'),
  }));
  const dhtOrg1 = dht.registry.get('Org1MSP')!;
  dht.registry.upsert({ ...dhtOrg1, peerIds: [...dhtOrg1.peerIds, childPeer] });
  await writeFile(join(root, 'parties.json'), JSON.stringify(parties));
  await writeFile(join(root, 'swarm.key'), dht.swarmKey);
  await writeFile(join(root, 'org1.enc'), Buffer.from(dht.keys.get('Org1MSP')!.privateKey).toString('hex'), { mode: 0o600 });
  await writeFile(join(root, 'jwks.json'), JSON.stringify(issuer.jwks));
  const feedIngest = await startService(
    'feed-ingest',
    'feed-ingest',
    {
      ...ledgerEnvOf(net, org1),
      FABRIC_IDENTITIES_DIR: identities.get(org1.mspId)!,
      SERVICE_IDENTITY: 'User1',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      KAFKA_BROKERS: net.kafka.bootstrap,
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_FILE: join(root, 'jwks.json'),
      DHT_SWARM_KEY_FILE: join(root, 'swarm.key'),
      DHT_ENCRYPTION_KEY_FILE: join(root, 'org1.enc'),
      // The static registry wins over the ledger's for DHT membership (the test's own nodes).
      PARTY_REGISTRY_FILE: join(root, 'parties.json'),
      DHT_BOOTSTRAP: dht.nodes.map((n) => n.multiaddrs()[0]!).join(','),
      DHT_REPLICATION: '2',
      STREAM_POLL_MS: '200',
    },
  );
  const addr = (feedIngest.record['multiaddrs'] as string[])[0]!;
  await Promise.all(dht.nodes.map((n) => n.dial(addr).catch(() => undefined)));
  return {
    dht,
    feedIngest,
    async ledgerAs(mspId, identity) {
      const org = net.orgs.find((o) => o.mspId === mspId);
      if (!org) throw new Error(`no organization ${mspId} in this network`);
      const registry = createIdentityRegistry({ mspId, identitiesDir: identities.get(mspId)!, pool, peer: org.peer, channel: net.channel, chaincode: net.chaincode });
      registries.push(registry);
      return createTwinLedger(await registry.clientByName(identity));
    },
    async stop() {
      await feedIngest.stop();
      await dht.teardown();
      for (const r of registries) r.close();
      pool.close();
    },
  };
}

/** The console server, with dev sign-in for the given users (the local network's configuration). */
export async function startConsole(root: string, issuer: DevIssuer, upstreams: Record<string, string>, devUsers: string, org: { mspId: string; name: string } = { mspId: 'Org1MSP', name: 'Org1 (bottling plant operator)' }): Promise<ServiceProcess> {
  await writeFile(join(root, 'issuer.private.jwk'), JSON.stringify(await issuer.exportPrivate()), { mode: 0o600 });
  await writeFile(join(root, 'jwks.json'), JSON.stringify(issuer.jwks));
  return startService(
    'console',
    'console',
    {
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      ORG_NAME: org.name,
      MSP_ID: org.mspId,
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_FILE: join(root, 'jwks.json'),
      DEV_SIGNIN_KEY_FILE: join(root, 'issuer.private.jwk'),
      DEV_SIGNIN_USERS: devUsers,
      ...upstreams,
    },
  );
}
