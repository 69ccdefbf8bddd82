import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { aclServiceEnv } from '@twinledger/acl-service/config';
import { envFor } from '@twinledger/config';
import { consoleEnv } from '@twinledger/console/config';
import { deviceAgentEnv } from '@twinledger/device-agent/config';
import { dhtGatewayEnv } from '@twinledger/dht-gateway/config';
import { feedIngestEnv } from '@twinledger/feed-ingest/config';
import { specServiceEnv } from '@twinledger/spec-service/config';
import { ledgerEnvOf, ManagedProcess, startNetwork, type DevNetwork, type OrgHandle } from '@twinledger/devnet';
import { generateEncryptionKeyPair, generateSwarmKey, peerIdOfDataDir } from '@twinledger/dht';
import { createKafka, ensureTopics, TOPICS } from '@twinledger/kafka';
import { silentLogger } from '@twinledger/observability';
import { createDevIssuer, DHT_NODE_V8_FLAGS, type DevIssuer } from '@twinledger/service-kit';
import { DEFAULT_RESOURCE, generatePassword, startIdentityProvider, type StartedIdentityProvider } from '@twinledger/oidc-dev-provider';
import { randomBytes } from 'node:crypto';
import { ServiceStartError } from './errors.js';
import { preparePlantLink } from './plant-link.js';
import { request, waitFor } from './http.js';
import { fabricIdentityId, orgPorts, PARTIES, plantEntry, plantPorts, repoRoot, serviceEntry, type OrgPorts, type Party, type ServiceName } from './layout.js';

export interface ConsortiumInit {
  /** Engine install cache (devnet's). */
  readonly cacheDir?: string;
  /** A Fabric release layout to use instead of `go install` (TWINLEDGER_FABRIC_HOME). */
  readonly fabricHome?: string;
  /** The twin the Owner's device agent serves; the scenario creates it. Default `bottling-plant-1`. */
  readonly twinId?: string;
  /** The services' pino level (their logs go to files in the network's log folder). Default info. */
  readonly logLevel?: string;
  /** Keep the run directory (crypto, service data, logs) after stop. */
  readonly keepWorkDir?: boolean;
  /** Progress lines for people. */
  readonly log?: (line: string) => void;
}

/**
 * The Fabric identities each organization's services may sign as (cryptogen's users). The
 * org's Admin is not among them: no service holds the Admin key (the admin command signs
 * party registrations with it directly).
 */
export type FabricUser = 'User1' | 'User2';

export interface OrgRuntime {
  readonly party: Party;
  readonly mspId: string;
  readonly fabric: OrgHandle;
  /**
   * The org's token signer for workload tokens (service credentials): the same key and issuer
   * as its OpenID provider, whose JWKS every service of the org trusts.
   */
  readonly issuer: DevIssuer;
  /** The org's OpenID provider (users sign in to the console there) and its generated users. */
  readonly idp: { readonly url: string; readonly users: readonly LocalUser[] };
  readonly ports: OrgPorts;
  readonly urls: {
    readonly spec: string;
    readonly acl: string;
    readonly dht: string;
    readonly feed: string;
    /** Only the org that operates the plant (the Owner) runs a device agent with a device. */
    readonly agent: string | undefined;
    readonly console: string | undefined;
  };
  readonly processes: readonly ManagedProcess[];
  /** A bearer token of a user of this org who acts as the given Fabric identity. */
  token(user: FabricUser, subject?: string): Promise<string>;
  /**
   * A read-and-store workload credential of this org for its own dht-gateway (audience
   * `twinledger-dht`, `svc` claim, no key-manager role), e.g. for an org's audit tooling.
   * Users never reach a DHT node; their tokens are refused there.
   */
  serviceToken(svc: string): Promise<string>;
}

/** A person of an organization who signs in at its OpenID provider (generated per run). */
export interface LocalUser {
  readonly username: string;
  readonly password: string;
  readonly fabricIdentity: FabricUser;
}

export interface Consortium {
  readonly network: DevNetwork;
  readonly orgs: readonly OrgRuntime[];
  org(party: Party): OrgRuntime;
  readonly twinId: string;
  /** The identity ID (x509::...) of the Owner's device agent, for its DEVICE_AGENT grant. */
  readonly deviceAgentIdentity: string;
  /** The device-ID namespace the Owner claimed for its plant (the twin ID up to its last separator), if any. */
  readonly ownerNamespace: string | undefined;
  readonly plant: { readonly controlUrl: string; readonly endpointUrl: string; readonly process: ManagedProcess };
  readonly workDir: string;
  readonly timings: { readonly networkMs: number; readonly servicesMs: number };
  /** Copies every engine and service log out of the run directory (which stop() removes); returns the copy's folder. */
  preserveLogs(): string;
  stop(): Promise<void>;
}

const AUDIENCE = 'twinledger';
/** The console's client ID at its org's OpenID provider. */
const CONSOLE_CLIENT_ID = 'twinledger-console';
/** The dht-gateways' own audience: service credentials only, never carried by user tokens. */
const DHT_AUDIENCE = 'twinledger-dht';
/** The key manager's role on the gateway: the one credential that may change ACLs (acl-service). */
const KEY_MANAGER_ROLE = 'dht:key-manager';
/**
 * Workload tokens live 1 h like every token (AUTH_MAX_TOKEN_LIFETIME_S default); the launcher
 * rewrites their files this often while the consortium runs, and the services re-read the file
 * on every use, as they would a rotated secret mounted in a pod.
 */
const SERVICE_TOKEN_REFRESH_MS = 15 * 60_000;

/** A token file the launcher keeps fresh: who it is for and the claims it carries. */
interface TokenFile {
  readonly file: string;
  readonly issuer: DevIssuer;
  readonly claims: Parameters<DevIssuer['issue']>[0];
}

async function writeTokenFile(t: TokenFile): Promise<void> {
  writeFileSync(t.file, await t.issuer.issue(t.claims), { mode: 0o600 });
}
/** The org that owns and operates the bottling plant (paper 5): its device agent talks to the plant. */
export const PLANT_OPERATOR: Party = 'owner';

interface OrgPrep {
  readonly party: Party;
  readonly fabric: OrgHandle;
  readonly issuer: DevIssuer;
  readonly users: readonly LocalUser[];
  /** The console's client secret at the org's provider, and the console's cookie key (files, 0600). */
  readonly consoleClientSecret: string;
  readonly consoleClientSecretFile: string;
  readonly consoleCookieSecretFile: string;
  readonly ports: OrgPorts;
  readonly dir: string;
  readonly jwksFile: string;
  readonly identitiesDir: string;
  readonly encryptionKeyFile: string;
  readonly x25519PublicKey: string;
  readonly gatewayPeerId: string;
  readonly ingestPeerId: string;
  readonly dhtTokenFile: string;
  /** spec-service's credential for the org's dht-gateway. */
  readonly specDhtTokenFile: string;
  /** The token files of this org the launcher keeps fresh. */
  readonly tokenFiles: readonly TokenFile[];
}

const url = (port: number): string => `http://127.0.0.1:${port}`;

/** A clean environment for a child service: only what Node needs plus the service's own settings. */
function childEnv(vars: Record<string, string | number>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) if (process.env[k] !== undefined) env[k] = process.env[k];
  for (const [k, v] of Object.entries(vars)) env[k] = String(v);
  return env;
}

async function prepareOrg(party: Party, fabric: OrgHandle, slot: number, basePort: number, workDir: string): Promise<OrgPrep> {
  const dir = join(workDir, party);
  mkdirSync(dir, { recursive: true });
  const ports = orgPorts(basePort, slot);
  // The issuer is the org's OpenID provider, at the URL the console discovers it under.
  const issuer = await createDevIssuer(url(ports.idp));
  // Passwords and secrets are generated per run and kept in the run directory only (0600).
  const users: LocalUser[] = [
    { username: 'user1', password: generatePassword(), fabricIdentity: 'User1' },
    { username: 'user2', password: generatePassword(), fabricIdentity: 'User2' },
  ];
  writeFileSync(join(dir, 'idp-users.json'), JSON.stringify(users, null, 2), { mode: 0o600 });
  const consoleClientSecret = randomBytes(32).toString('base64url');
  const consoleClientSecretFile = join(dir, 'console-client.secret');
  writeFileSync(consoleClientSecretFile, consoleClientSecret, { mode: 0o600 });
  const consoleCookieSecretFile = join(dir, 'console-cookie.secret');
  writeFileSync(consoleCookieSecretFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(issuer.jwks));
  // The services find identities as <dir>/<name>/msp/{signcerts,keystore}: link cryptogen's
  // user folders under the names tokens carry in `fabric_identity`.
  const identitiesDir = join(dir, 'identities');
  mkdirSync(identitiesDir, { recursive: true });
  const ids: Record<FabricUser, string> = { User1: fabric.users[0]!.mspDir, User2: fabric.users[1]!.mspDir };
  for (const [name, mspDir] of Object.entries(ids)) symlinkSync(dirname(mspDir), join(identitiesDir, name), 'dir');
  const pair = generateEncryptionKeyPair();
  const encryptionKeyFile = join(dir, 'x25519.key');
  writeFileSync(encryptionKeyFile, Buffer.from(pair.privateKey).toString('hex'), { mode: 0o600 });
  // Peer ids exist before the nodes first start, so the admin can register them on chain first.
  const gatewayPeerId = await peerIdOfDataDir(join(dir, 'dht-gateway'));
  const ingestPeerId = await peerIdOfDataDir(join(dir, 'feed-ingest', 'dht'));
  // The workload tokens the org's services present to its own dht-gateway: acl-service's is the
  // key manager's (it alone changes ACLs), spec-service's may store and read.
  const dhtTokenFile = join(dir, 'acl-service-dht.token');
  const specDhtTokenFile = join(dir, 'spec-service-dht.token');
  const tokenFiles: TokenFile[] = [
    { file: dhtTokenFile, issuer, claims: { sub: 'acl-service', svc: 'acl-service', roles: [KEY_MANAGER_ROLE], org: fabric.mspId, audience: DHT_AUDIENCE } },
    { file: specDhtTokenFile, issuer, claims: { sub: 'spec-service', svc: 'spec-service', org: fabric.mspId, audience: DHT_AUDIENCE } },
  ];
  await Promise.all(tokenFiles.map(writeTokenFile));
  return {
    party,
    fabric,
    issuer,
    users,
    consoleClientSecret,
    consoleClientSecretFile,
    consoleCookieSecretFile,
    ports,
    dir,
    jwksFile,
    identitiesDir,
    encryptionKeyFile,
    x25519PublicKey: Buffer.from(pair.publicKey).toString('base64'),
    gatewayPeerId,
    ingestPeerId,
    dhtTokenFile,
    specDhtTokenFile,
    tokenFiles,
  };
}

/** Per-org Kafka topics: one broker serves the whole local consortium, so each org gets its own. */
const readingsTopic = (p: Party): string => `${p}.${TOPICS.readings}`;
const deadLetterTopic = (p: Party): string => `${p}.${TOPICS.deadLetter}`;

/**
 * Creates the topics before the services start, as an operator provisions a broker whose
 * auto-create is off. Left to the services, four processes create topics on a fresh KRaft
 * broker at the same moment, and kafkajs' wait for the new leaders then fails on a race
 * (UNKNOWN_TOPIC_OR_PARTITION), killing a service at boot.
 */
async function provisionTopics(bootstrap: string, parties: readonly Party[]): Promise<void> {
  const admin = createKafka({ brokers: [bootstrap], clientId: 'consortium-launcher', logger: silentLogger() }).admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [
      { topic: TOPICS.ledgerEvents },
      ...parties.flatMap((p) => [
        { topic: readingsTopic(p), partitions: 1 },
        { topic: deadLetterTopic(p), partitions: 1 },
      ]),
    ]);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Brings up the local consortium: devnet's four organizations (peer + orderer each), Kafka,
 * the chaincode, then per organization its five services as separate processes from
 * services/<name>/dist/server.js, each with its own port and environment, and the simulated
 * bottling plant that the Owner's device agent drives. Returns once every service answers
 * /readyz; stop() takes everything down, leaving no process or port behind.
 */
export async function startConsortium(init: ConsortiumInit = {}): Promise<Consortium> {
  const log = init.log ?? (() => undefined);
  const twinId = init.twinId ?? 'bottling-plant-1';
  // chaincode/src/access/namespaces.ts: 4..64 characters ending in a separator.
  const ownerNamespace = /^(.*[._:@-])[^._:@-]*$/.exec(twinId)?.[1];
  const namespaceOk = ownerNamespace !== undefined && /^[A-Za-z0-9][A-Za-z0-9._:@-]{2,62}[._:@-]$/.test(ownerNamespace);
  const logLevel = init.logLevel ?? 'info';
  for (const s of ['acl-service', 'dht-gateway', 'feed-ingest', 'spec-service', 'device-agent'] as const) {
    if (!existsSync(serviceEntry(s))) throw new ServiceStartError(`${serviceEntry(s)} is missing: run \`npm run build\` first`);
  }
  if (!existsSync(plantEntry())) throw new ServiceStartError(`${plantEntry()} is missing: run \`npm run build\` first`);

  const t0 = Date.now();
  const network = await startNetwork({ orgs: [...PARTIES], cacheDir: init.cacheDir, fabricHome: init.fabricHome, keepWorkDir: init.keepWorkDir, log });
  const networkMs = Date.now() - t0;
  const t1 = Date.now();
  const processes: ManagedProcess[] = [];
  const providers: StartedIdentityProvider[] = [];
  const tokenFiles: TokenFile[] = [];
  const refresh = setInterval(() => void Promise.all(tokenFiles.map(writeTokenFile)).catch((err: unknown) => log(`token refresh failed: ${String(err)}`)), SERVICE_TOKEN_REFRESH_MS);
  refresh.unref();
  const stopAll = async (): Promise<void> => {
    clearInterval(refresh);
    // Reverse start order, a tier at a time: the agent and the services before the DHT and the
    // registry they use, the plant, then the engines.
    const tiers = [...new Set(processes.map((p) => p.name.split('.')[0]!))].reverse();
    for (const tier of tiers) await Promise.all(processes.filter((p) => p.name.split('.')[0] === tier).map((p) => p.stop()));
    await Promise.all(providers.map((p) => p.close()));
    await network.stop();
  };

  try {
    const workDir = join(network.workDir, 'consortium');
    mkdirSync(workDir, { recursive: true });
    const swarmKeyFile = join(workDir, 'swarm.key');
    writeFileSync(swarmKeyFile, generateSwarmKey(), { mode: 0o600 });
    const kafka = network.kafka!.bootstrap;
    const preps = await Promise.all(PARTIES.map((p, i) => prepareOrg(p, network.orgs[i]!, i, network.basePort, workDir)));
    const byParty = (p: Party): OrgPrep => preps.find((o) => o.party === p)!;
    for (const o of preps) tokenFiles.push(...o.tokenFiles);
    // Each org's OpenID provider (in this process): its users sign in to the org's console
    // there; it signs with the org's issuer key, so the services verify its tokens as before.
    for (const o of preps) {
      providers.push(
        await startIdentityProvider({
          port: o.ports.idp,
          mspId: o.fabric.mspId,
          audience: AUDIENCE,
          signingKey: await o.issuer.exportPrivate(),
          users: o.users.map((u) => ({ username: u.username, password: u.password, fabricIdentity: u.fabricIdentity, roles: [] })),
          clients: [{ clientId: CONSOLE_CLIENT_ID, clientSecret: o.consoleClientSecret, redirectUris: [`${url(o.ports.console)}/auth/callback`], postLogoutRedirectUris: [`${url(o.ports.console)}/`] }],
          cookieKeys: [randomBytes(32).toString('base64url')],
          logger: silentLogger(),
        }),
      );
    }
    log(`identity: an OpenID provider per org (${preps.map((o) => url(o.ports.idp)).join(', ')})`);

    const start = async (service: ServiceName | 'plant' | 'console', org: OrgPrep | undefined, env: Record<string, string | number>, readyAt?: string, timeoutMs = 90_000): Promise<ManagedProcess> => {
      const readyUrl = readyAt ?? `${url(Number(env['PORT']))}/readyz`;
      const name = org ? `${service}.${org.party}` : service;
      const proc = new ManagedProcess({
        name,
        command: process.execPath,
        // The DHT nodes start as their images start them (DHT_NODE_V8_FLAGS).
        args: [...(service === 'dht-gateway' || service === 'feed-ingest' ? DHT_NODE_V8_FLAGS : []), service === 'plant' ? plantEntry() : serviceEntry(service)],
        env: childEnv(env),
        cwd: repoRoot(),
        logFile: join(network.logDir, `${name}.log`),
      });
      processes.push(proc);
      proc.start();
      await waitFor(async () => ((await request(readyUrl, { timeoutMs: 5_000 })).status === 200 ? true : undefined), {
        step: `${name} ready (${readyUrl})`,
        timeoutMs,
        abort: () => (proc.isRunning() ? undefined : proc.startError('exited before it was ready')),
      }).catch((err: unknown) => {
        throw err instanceof ServiceStartError || (err as { code?: string }).code === 'PROCESS_START_FAILED'
          ? err
          : new ServiceStartError(`${name} not ready: ${(err as Error).message}; log: ${proc.spec.logFile}\n${proc.logTail(15)}`, { cause: err, details: { process: name, logFile: proc.spec.logFile } });
      });
      return proc;
    };

    const common = (o: OrgPrep): Record<string, string> => ({
      HOST: '127.0.0.1',
      LOG_LEVEL: logLevel,
      MSP_ID: o.fabric.mspId,
      AUTH_ISSUER: o.issuer.issuer,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_FILE: o.jwksFile,
    });
    const peer = (o: OrgPrep): Record<string, string> => ledgerEnvOf(network, o.fabric);
    const gatewayAddr = (o: OrgPrep): string => `/ip4/127.0.0.1/tcp/${o.ports.dhtP2p}/p2p/${o.gatewayPeerId}`;
    // Both DHT nodes of an org read the party registry from the ledger (only peers an org admin
    // registered on chain may connect) as the org's User1.
    const dhtCommon = (o: OrgPrep): Record<string, string> => ({
      ...peer(o),
      FABRIC_CERT_FILE: o.fabric.users[0]!.certPath,
      FABRIC_KEY_FILE: o.fabric.users[0]!.keyPath,
      DHT_SWARM_KEY_FILE: swarmKeyFile,
      DHT_ENCRYPTION_KEY_FILE: o.encryptionKeyFile,
    });

    // The plant first: it stands on the shop floor before any software talks to it. The OPC UA
    // link is secured: each side's certificate goes into the other's trust list (plant-link.ts).
    const pp = plantPorts(network.basePort);
    const plantLink = await preparePlantLink({ plantDir: join(workDir, 'plant'), agentDataDir: join(byParty(PLANT_OPERATOR).dir, 'device-agent'), mspId: byParty(PLANT_OPERATOR).fabric.mspId, twinId });
    const plantProc = await start('plant', undefined, { PLANT_OPCUA_PORT: pp.opcua, PLANT_CONTROL_PORT: pp.control, PLANT_DATA_DIR: join(workDir, 'plant'), ...plantLink.plantEnv }, `${url(pp.control)}/state`, 60_000);
    const plantState = (await request(`${url(pp.control)}/state`)).json as { endpointUrl: string; security: { certificatePem: string } };
    log(`plant: simulated bottling plant on ${plantState.endpointUrl} (control ${url(pp.control)})`);

    // acl-service first: each org's admin registers its DHT peers and encryption key on the
    // ledger through it, before any DHT node starts.
    await Promise.all(
      preps.map((o) =>
        start('acl-service', o, envFor(aclServiceEnv, {
          ...common(o),
          ...peer(o),
          PORT: o.ports.acl,
          FABRIC_IDENTITIES_DIR: o.identitiesDir,
          SERVICE_IDENTITY: 'User1',
          DHT_GATEWAY_URL: url(o.ports.dht),
          DHT_TOKEN_FILE: o.dhtTokenFile,
          // The grant follower's checkpoint: a restarted acl-service resumes the ledger's events
          // where it stopped instead of relying on its start-up reconcile alone.
          DATA_DIR: join(o.dir, 'acl-service'),
        })),
      ),
    );
    log('services: acl-service up in every org');
    await provisionTopics(kafka, preps.map((o) => o.party));
    // The org admin's own command, signed with the Admin key: acl-service never holds it.
    for (const o of preps) {
      const cli = resolve(repoRoot(), 'services', 'acl-service', 'dist', 'admin-cli.js');
      const args = ['register-party', '--peer-ids', `${o.gatewayPeerId},${o.ingestPeerId}`, '--x25519', o.x25519PublicKey, '--cert', o.fabric.admin.certPath, '--key', o.fabric.admin.keyPath];
      try {
        await promisify(execFile)(process.execPath, [cli, ...args], { env: childEnv(peer(o)), timeout: 120_000 });
      } catch (err) {
        throw new ServiceStartError(`registering ${o.fabric.mspId}'s DHT peers failed: ${String((err as { stderr?: string }).stderr ?? err)}`);
      }
    }
    // The Owner claims its plant's device-ID namespace (the twin ID up to its last separator,
    // e.g. `bottling-plant-`): no other member can then create a twin under those IDs first.
    if (namespaceOk) {
      const o = preps.find((p) => p.party === 'owner')!;
      const cli = resolve(repoRoot(), 'services', 'acl-service', 'dist', 'admin-cli.js');
      try {
        await promisify(execFile)(process.execPath, [cli, 'claim-namespace', '--prefix', ownerNamespace!, '--cert', o.fabric.admin.certPath, '--key', o.fabric.admin.keyPath], { env: childEnv(peer(o)), timeout: 120_000 });
      } catch (err) {
        throw new ServiceStartError(`claiming ${o.fabric.mspId}'s device-ID namespace failed: ${String((err as { stderr?: string }).stderr ?? err)}`);
      }
    }
    // Every org's own peer must have committed all four registrations before its DHT nodes
    // start (they read the registry from their own peer).
    await Promise.all(
      preps.map(async (o) => {
        const token = await o.issuer.issue({ sub: `ops@${o.party}`, org: o.fabric.mspId, fabricIdentity: 'User1', audience: AUDIENCE });
        await waitFor(
          async () => {
            // One page of up to 1000 parties: a consortium is far smaller.
            const res = await request(`${url(o.ports.acl)}/parties?limit=1000`, { token });
            const list = ((res.json as { items?: unknown[] } | undefined)?.items ?? []) as { mspId: string }[];
            return preps.every((p) => list.some((x) => x.mspId === p.fabric.mspId)) ? true : undefined;
          },
          { step: `party registry complete on ${o.fabric.mspId}'s peer`, timeoutMs: 60_000 },
        );
      }),
    );
    log('party registry: every org registered its DHT peers and X25519 key on the ledger');

    await Promise.all(
      preps.flatMap((o) => [
        start('dht-gateway', o, envFor(dhtGatewayEnv, {
          ...common(o),
          ...dhtCommon(o),
          PORT: o.ports.dht,
          DATA_DIR: join(o.dir, 'dht-gateway'),
          // Service credentials only: common()'s AUTH_AUDIENCE is the users' audience.
          DHT_AUTH_AUDIENCE: DHT_AUDIENCE,
          DHT_LISTEN: `/ip4/127.0.0.1/tcp/${o.ports.dhtP2p}`,
          // The data channel (ADR-21) on any free port: peers learn it over libp2p, and the port
          // block (layout.ts) has no room for a fixed one per node.
          DHT_DATA_CHANNEL: 'true',
          DHT_DATA_PORT: 0,
          DHT_BOOTSTRAP: preps.filter((p) => p !== o).map(gatewayAddr).join(','),
        })),
        start('feed-ingest', o, envFor(feedIngestEnv, {
          ...common(o),
          ...dhtCommon(o),
          PORT: o.ports.feed,
          DATA_DIR: join(o.dir, 'feed-ingest'),
          // The ledger decides feed access: callers sign as their fabric_identity, grants read as User1.
          FABRIC_IDENTITIES_DIR: o.identitiesDir,
          SERVICE_IDENTITY: 'User1',
          DHT_LISTEN: `/ip4/127.0.0.1/tcp/${o.ports.feedP2p}`,
          DHT_DATA_CHANNEL: 'true',
          DHT_DATA_PORT: '0',
          DHT_BOOTSTRAP: preps.map(gatewayAddr).join(','),
          // One broker serves the whole local consortium; per-org topics and groups keep each
          // org's buffer its own, as separate brokers would.
          KAFKA_BROKERS: kafka,
          KAFKA_GROUP_ID: `${o.party}-feed-ingest`,
          READINGS_TOPIC: readingsTopic(o.party),
          DEAD_LETTER_TOPIC: deadLetterTopic(o.party),
          TOPIC_PARTITIONS: 1,
        })),
      ]),
    );
    log('services: dht-gateway and feed-ingest up in every org (8 DHT nodes)');

    await Promise.all(
      preps.map((o) =>
        start('spec-service', o, envFor(specServiceEnv, {
          ...common(o),
          ...peer(o),
          PORT: o.ports.spec,
          FABRIC_IDENTITIES_DIR: o.identitiesDir,
          DHT_GATEWAY_URL: url(o.ports.dht),
          DHT_TOKEN_FILE: o.specDhtTokenFile,
          KAFKA_BROKERS: kafka,
          RELAY_IDENTITY: 'User1',
          DATA_DIR: join(o.dir, 'spec-service'),
        })),
      ),
    );
    log('services: spec-service up in every org');

    // The Owner operates the plant: its device agent signs as the org's User2, the identity the
    // twin grants DEVICE_AGENT. The twin does not exist yet: the agent syncs once it does.
    const operator = byParty(PLANT_OPERATOR);
    const agentIdentity = operator.fabric.users[1]!;
    // A 1 h token in a file the launcher keeps fresh; the agent re-reads it per registration.
    const feedToken: TokenFile = { file: join(operator.dir, 'device-agent-feed.token'), issuer: operator.issuer, claims: { sub: 'device-agent', org: operator.fabric.mspId, fabricIdentity: 'User2', audience: AUDIENCE } };
    await writeTokenFile(feedToken);
    tokenFiles.push(feedToken);
    await start(
      'device-agent',
      operator,
      envFor(deviceAgentEnv, {
        ...common(operator),
        PORT: operator.ports.agent,
        TWIN_ID: twinId,
        DATA_DIR: join(operator.dir, 'device-agent'),
        DEVICE_ENDPOINT: plantState.endpointUrl,
        ...plantLink.agentEnv(plantState.security.certificatePem),
        DEVICE_NAME: 'BottlingPlant',
        DEVICE_SAMPLING_MS: 250,
        SYNC_INTERVAL_MS: 2_000,
        PEER_ENDPOINT: operator.fabric.peer.endpoint,
        PEER_TLS_ROOT_CERT: operator.fabric.peer.tlsRootCertPath,
        PEER_HOST_ALIAS: operator.fabric.peer.hostAlias,
        FABRIC_CERT_FILE: agentIdentity.certPath,
        FABRIC_KEY_FILE: agentIdentity.keyPath,
        CHANNEL: network.channel,
        CHAINCODE: network.chaincode,
        KAFKA_BROKERS: kafka,
        READINGS_TOPIC: readingsTopic(operator.party),
        MAX_READINGS_PER_SECOND: 100,
        FEED_INGEST_URL: url(operator.ports.feed),
        FEED_INGEST_TOKEN_FILE: feedToken.file,
        FEED_ACL: preps.map((p) => p.fabric.mspId).join(','),
      }),
      `${url(operator.ports.agent)}/readyz`,
    );
    log(`services: device-agent up in ${operator.fabric.mspId}, connected to the plant`);

    // The web console (services/console), per org, when it is built: it proxies the org's
    // services for the browser; users sign in at the org's OpenID provider (ADR-19).
    const consoles = new Set<Party>();
    const withConsole = existsSync(serviceEntry('console'));
    if (withConsole) {
      await Promise.all(
        preps.map(async (o) => {
          const started = await start('console', o, envFor(consoleEnv, {
            ...common(o),
            PORT: o.ports.console,
            ORG_NAME: `${o.party.charAt(0).toUpperCase()}${o.party.slice(1)}`,
            SPEC_SERVICE_URL: url(o.ports.spec),
            ACL_SERVICE_URL: url(o.ports.acl),
            FEED_INGEST_URL: url(o.ports.feed),
            ...(o === operator ? { DEVICE_AGENT_URL: url(o.ports.agent) } : {}),
            OIDC_ISSUER: url(o.ports.idp),
            OIDC_CLIENT_ID: CONSOLE_CLIENT_ID,
            OIDC_CLIENT_SECRET_FILE: o.consoleClientSecretFile,
            OIDC_REDIRECT_URL: `${url(o.ports.console)}/auth/callback`,
            OIDC_RESOURCE: DEFAULT_RESOURCE,
            SESSION_COOKIE_SECRET_FILE: o.consoleCookieSecretFile,
          })).then(
            () => true,
            // The console is a convenience on top of the APIs the scenario uses: one that fails
            // to start is reported and left out rather than taking the consortium down.
            async (err: unknown) => {
              const proc = processes.find((p) => p.name === `console.${o.party}`);
              await proc?.stop();
              if (proc) processes.splice(processes.indexOf(proc), 1);
              log(`console of ${o.fabric.mspId} not started: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
              return false;
            },
          );
          if (started) consoles.add(o.party);
        }),
      );
      if (consoles.size > 0) log(`services: console up in ${consoles.size} org(s)`);
    }

    const orgs: OrgRuntime[] = preps.map((o) => ({
      party: o.party,
      mspId: o.fabric.mspId,
      fabric: o.fabric,
      issuer: o.issuer,
      idp: { url: url(o.ports.idp), users: o.users },
      ports: o.ports,
      urls: {
        spec: url(o.ports.spec),
        acl: url(o.ports.acl),
        dht: url(o.ports.dht),
        feed: url(o.ports.feed),
        agent: o === operator ? url(o.ports.agent) : undefined,
        console: consoles.has(o.party) ? url(o.ports.console) : undefined,
      },
      processes: processes.filter((p) => p.name.endsWith(`.${o.party}`)),
      token: (user, subject) => o.issuer.issue({ sub: subject ?? `${user.toLowerCase()}@${o.party}`, org: o.fabric.mspId, fabricIdentity: user, audience: AUDIENCE }),
      serviceToken: (svc) => o.issuer.issue({ sub: svc, svc, org: o.fabric.mspId, audience: DHT_AUDIENCE }),
    }));
    const servicesMs = Date.now() - t1;
    let stopped: Promise<void> | undefined;
    return {
      network,
      orgs,
      org: (p) => orgs.find((o) => o.party === p)!,
      twinId,
      deviceAgentIdentity: fabricIdentityId(agentIdentity.certPath),
      ownerNamespace: namespaceOk ? ownerNamespace : undefined,
      plant: { controlUrl: url(pp.control), endpointUrl: plantState.endpointUrl, process: plantProc },
      workDir,
      timings: { networkMs, servicesMs },
      preserveLogs: () => {
        const dest = mkdtempSync(join(tmpdir(), 'twinledger-consortium-logs-'));
        cpSync(network.logDir, dest, { recursive: true });
        return dest;
      },
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    log(`start failed; service logs in ${network.logDir}`);
    await stopAll();
    throw err;
  }
}

/** Lines telling people where each org's APIs and their OpenAPI docs are. */
export function describeEndpoints(c: Consortium): string[] {
  const lines: string[] = [];
  for (const o of c.orgs) {
    lines.push(`${o.mspId} (${o.party}):`);
    const entries: [string, string | undefined][] = [
      ['spec-service', o.urls.spec],
      ['acl-service', o.urls.acl],
      ['dht-gateway', o.urls.dht],
      ['feed-ingest', o.urls.feed],
      ['device-agent', o.urls.agent],
      ['console', o.urls.console],
    ];
    for (const [name, u] of entries) if (u) lines.push(`  ${name.padEnd(13)} ${u}   docs ${u}/docs`);
    if (o.urls.console) {
      // Generated for this run (also in the run directory's <party>/idp-users.json).
      lines.push(`  sign in at   ${o.urls.console}/ (OpenID provider ${o.idp.url}) as ${o.idp.users.map((u) => `${u.username} / ${u.password} (${u.fabricIdentity})`).join(', ')}`);
    }
  }
  lines.push(`plant (OPC UA): ${c.plant.endpointUrl}   control ${c.plant.controlUrl}/state`);
  lines.push(`kafka ${c.network.kafka?.bootstrap}; logs in ${c.network.logDir}`);
  return lines;
}
