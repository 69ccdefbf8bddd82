// Per organization of a real Fabric network: acl-service, dht-gateway, spec-service,
// (optionally) feed-ingest with its own DHT node, and (optionally) a console, all as child processes of their built dist/server.js, each org with
// its own dev token issuer. The minimum the console's scenario tests need; to be replaced by
// packages/consortium's launcher once that is available (engineer A's work).
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ledgerEnvOf, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { generateEncryptionKeyPair, generateSwarmKey, peerIdOfDataDir } from '@twinledger/dht';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { buildForTests, stepLogger } from './build.js';
import { startConsole, startService, type ServiceProcess } from './processes.js';

export interface LedgerOrg {
  readonly mspId: string;
  readonly issuer: DevIssuer;
  readonly spec: ServiceProcess;
  readonly acl: ServiceProcess;
  readonly dht: ServiceProcess;
  /** Started when the org is named in `startLedgerOrgs`'s `feedIngest`. */
  feeds: ServiceProcess | undefined;
  console?: ServiceProcess;
  token(fabricIdentity: string, sub?: string): Promise<string>;
}

export interface LedgerOrgsOptions {
  /** MSP IDs whose organization also runs feed-ingest (its DHT node joins the gateways' DHT). */
  readonly feedIngest?: readonly string[];
  /** The org's token issuer (e.g. one sharing its key with the org's OpenID provider); default a fresh dev issuer. */
  readonly issuerFor?: (mspId: string) => Promise<DevIssuer>;
}

export async function startLedgerOrgs(root: string, net: DevNetwork, opts: LedgerOrgsOptions = {}): Promise<LedgerOrg[]> {
  await writeFile(join(root, 'swarm.key'), generateSwarmKey());
  const preps = [];
  for (const org of net.orgs) {
    const dir = join(root, org.mspId);
    await mkdir(join(dir, 'identities'), { recursive: true });
    // The services sign as the caller's Fabric identity: cryptogen's user folders, by name.
    await symlink(dirname(org.users[0]!.mspDir), join(dir, 'identities', 'User1'));
    await symlink(dirname(org.users[1]!.mspDir), join(dir, 'identities', 'User2'));
    await symlink(dirname(org.admin.mspDir), join(dir, 'identities', 'Admin'));
    const issuer = opts.issuerFor ? await opts.issuerFor(org.mspId) : await createDevIssuer(`https://idp.${org.mspId.toLowerCase()}.console-test`);
    await writeFile(join(dir, 'jwks.json'), JSON.stringify(issuer.jwks));
    const kp = generateEncryptionKeyPair();
    await writeFile(join(dir, 'enc.key'), Buffer.from(kp.privateKey).toString('hex'), { mode: 0o600 });
    const dhtData = join(dir, 'dht-gateway');
    await mkdir(dhtData, { recursive: true });
    // feed-ingest's embedded DHT node is a peer of its organization like the gateway: its peer ID
    // is known before it first starts, so the party registry admits it from the start.
    const feedData = opts.feedIngest?.includes(org.mspId) ? join(dir, 'feed-ingest') : undefined;
    if (feedData) await mkdir(join(feedData, 'dht'), { recursive: true });
    const feedPeerId = feedData ? await peerIdOfDataDir(join(feedData, 'dht')) : undefined;
    preps.push({ org, dir, issuer, peerId: await peerIdOfDataDir(dhtData), feedPeerId, feedData, publicKey: Buffer.from(kp.publicKey).toString('hex'), dhtData });
  }
  await writeFile(
    join(root, 'parties.json'),
    JSON.stringify(preps.map((p) => ({ mspId: p.org.mspId, peerIds: p.feedPeerId ? [p.peerId, p.feedPeerId] : [p.peerId], encryptionPublicKey: p.publicKey }))),
  );

  // Every service of an org verifies the org's users' tokens and signs as their Fabric identities.
  const boot: string[] = [];
  const envOf = (p: (typeof preps)[number]) => ({
    auth: { AUTH_ISSUER: p.issuer.issuer, AUTH_AUDIENCE: 'twinledger', AUTH_JWKS_FILE: join(p.dir, 'jwks.json') },
    ledger: { ...ledgerEnvOf(net, p.org), FABRIC_IDENTITIES_DIR: join(p.dir, 'identities') },
    // A DHT node of the org (the gateway's, feed-ingest's), joining through the gateways started so far.
    dht: {
      MSP_ID: p.org.mspId,
      DHT_LISTEN: '/ip4/127.0.0.1/tcp/0',
      DHT_BOOTSTRAP: boot.join(','),
      DHT_SWARM_KEY_FILE: join(root, 'swarm.key'),
      PARTY_REGISTRY_FILE: join(root, 'parties.json'),
      DHT_ENCRYPTION_KEY_FILE: join(p.dir, 'enc.key'),
      DHT_REPLICATION: String(preps.length),
    },
  });
  const orgs: LedgerOrg[] = [];
  for (const p of preps) {
    const { auth, ledger, dht: dhtEnv } = envOf(p);
    const dht = await startService(
      `dht-gateway.${p.org.mspId}`,
      'dht-gateway',
      {
        ...auth,
        ...dhtEnv,
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        DATA_DIR: p.dhtData,
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
        DATA_DIR: join(p.dir, 'spec-state'),
      },
    );
    orgs.push({
      mspId: p.org.mspId,
      issuer: p.issuer,
      spec,
      acl,
      dht,
      feeds: undefined,
      token: (fabricIdentity, sub) => p.issuer.issue({ sub: sub ?? `${fabricIdentity.toLowerCase()}@${p.org.mspId}`, org: p.org.mspId, fabricIdentity, audience: 'twinledger' }),
    });
  }
  // After every gateway: each feed-ingest node bootstraps to all of them, as in packages/consortium.
  for (const [i, p] of preps.entries()) {
    if (!p.feedData) continue;
    const org = orgs[i]!;
    const { auth, ledger, dht } = envOf(p);
    org.feeds = await startService(`feed-ingest.${p.org.mspId}`, 'feed-ingest', {
      ...auth,
      ...ledger,
      ...dht,
      SERVICE_IDENTITY: 'User1',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATA_DIR: p.feedData,
      // One broker for the test network; per-org topics and groups keep each org's buffer its own.
      KAFKA_BROKERS: net.kafka!.bootstrap,
      KAFKA_GROUP_ID: `${p.org.mspId}-feed-ingest`,
      READINGS_TOPIC: `dt.readings.${p.org.mspId}`,
      DEAD_LETTER_TOPIC: `dt.dead-letter.${p.org.mspId}`,
      TOPIC_PARTITIONS: '1',
      STREAM_POLL_MS: '200',
    });
  }
  return orgs;
}

export async function stopLedgerOrgs(orgs: readonly LedgerOrg[]): Promise<void> {
  for (const o of [...orgs].reverse()) {
    await o.console?.stop();
    await o.feeds?.stop();
    await o.spec.stop();
    await o.acl.stop();
    await o.dht.stop();
  }
}

/** A real three-organization network (Fabric, Kafka) with each org's services, in a fresh folder. */
export interface LedgerWorld {
  readonly net: DevNetwork;
  readonly orgs: LedgerOrg[];
  /** The run's folder (consoles may put their own files below it). */
  readonly dir: string;
  /** Stops every process and removes the folder; safe after a failed start. */
  stop(): Promise<void>;
}

/** Builds `services` (and the console's web bundle), then starts org1..org3 and their services. */
export async function startLedgerWorld(name: string, services: readonly string[], opts: LedgerOrgsOptions = {}): Promise<LedgerWorld> {
  const step = stepLogger(name);
  buildForTests(services);
  const dir = await mkdtemp(join(tmpdir(), `${name}-`));
  let net: DevNetwork | undefined;
  let orgs: LedgerOrg[] | undefined;
  const stop = async (): Promise<void> => {
    if (orgs) await stopLedgerOrgs(orgs);
    await net?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    net = await startNetwork({ orgs: ['org1', 'org2', 'org3'], fabric: true, kafka: true, ...testNetworkInit() });
    step('fabric and kafka up');
    orgs = await startLedgerOrgs(dir, net, opts);
    step('services up');
    return { net, orgs, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The org's console, dev sign-in for `devUsers` (`name=Identity:ROLE,...`), proxying to the org's
 * spec-service, acl-service and, where the org runs one, its feed-ingest.
 */
export async function startOrgConsole(world: LedgerWorld, org: LedgerOrg, devUsers: string, role: string): Promise<void> {
  const dir = join(world.dir, `console-${org.mspId}`);
  await mkdir(dir);
  const upstreams = { SPEC_SERVICE_URL: org.spec.url, ACL_SERVICE_URL: org.acl.url, ...(org.feeds ? { FEED_INGEST_URL: org.feeds.url } : {}) };
  org.console = await startConsole(dir, org.issuer, upstreams, devUsers, { mspId: org.mspId, name: `${org.mspId} (${role})` });
}
