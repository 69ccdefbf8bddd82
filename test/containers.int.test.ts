// The container images of docker/ end to end: built with Podman from the locally made base
// (scripts/container-tools.mjs, all lazy so a clean CI machine does it inside `npm test`), then one
// organization's service images run through testcontainers (Podman's Docker-compatible socket)
// with host networking on 127.0.0.1, against the real engines devnet starts. Every container runs
// with a read-only root filesystem as uid 1000; only bind-mounted data directories and a /tmp
// tmpfs are writable.
//
// Kafka always runs, Fabric only where it is installable (fabricAvailability). Without a ledger,
// dht-gateway (static party registry) is checked fully (serving a real request, ready, metrics);
// spec-service, acl-service and device-agent are checked in what needs no ledger (they start,
// /healthz, /metrics, and /readyz reporting the unreachable peer with 503). With Fabric,
// spec-service and acl-service also report ready against the real peer, and feed-ingest, which
// decides feed access on the ledger and refuses to boot without one (issue #17), is checked fully
// with the console in front of it.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { generateEncryptionKeyPair, generateSwarmKey, peerIdOfDataDir } from '@twinledger/dht';
import { createDhtClient } from '@twinledger/dht-client';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { buildImages, ensureBaseImage, ensurePodman, imageTag, NODE_UID, podman } from '../scripts/container-tools.mjs';

const fabric = await fabricAvailability();
const MSP = 'Org1MSP';
const SERVICES = ['spec-service', 'acl-service', 'dht-gateway', 'feed-ingest', 'device-agent', 'console'] as const;
type Service = (typeof SERVICES)[number];

/** testcontainers has no option for it: the Docker API's HostConfig.ReadonlyRootfs. */
class ReadOnlyContainer extends GenericContainer {
  constructor(image: string) {
    super(image);
    this.hostConfig.ReadonlyRootfs = true;
  }
}

interface Running {
  readonly container: StartedTestContainer;
  readonly url: string;
  logs: string;
}

let stopPodman: (() => Promise<void>) | undefined;
let net: DevNetwork | undefined;
let work = '';
let issuer: DevIssuer;
const running = new Map<string, Running>();
const buildSeconds: Record<string, number> = {};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A directory the container's uid 1000 owns (bind-mounted data directories). */
function ownedDir(path: string): string {
  mkdirSync(path, { recursive: true });
  chownSync(path, NODE_UID, NODE_UID);
  return path;
}

/** Config files readable by uid 1000 only, as a Secret mounted with fsGroup would be. */
function secretFile(path: string, content: string | Uint8Array): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode: 0o600 });
  chownSync(path, NODE_UID, NODE_UID);
  return path;
}

/** A self-signed P-256 certificate and key (an identity the ledger does not know; only the format matters without Fabric). */
function selfSigned(dir: string, cn: string): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const res = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${cn}/O=${MSP}`], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`openssl: ${res.stderr}`);
  for (const f of [cert, key]) chownSync(f, NODE_UID, NODE_UID);
  return { cert, key };
}

/** Starts an image with host networking on 127.0.0.1, read-only root, /config mounted read-only, `data` mounted at /data. */
async function run(name: string, image: string, env: Record<string, string>, data?: string): Promise<Running> {
  const port = Number(env['PORT']);
  let logs = '';
  const c = new ReadOnlyContainer(image)
    .withNetworkMode('host')
    .withEnvironment({ HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env })
    .withBindMounts([{ source: join(work, 'config'), target: '/config', mode: 'ro' }, ...(data ? [{ source: data, target: '/data', mode: 'rw' as const }] : [])])
    .withTmpFs({ '/tmp': 'rw,noexec,nosuid,size=64m' })
    .withPullPolicy({ shouldPull: () => false })
    .withLogConsumer((stream) => stream.on('data', (d: Buffer | string) => (logs += d.toString())))
    .withWaitStrategy(Wait.forLogMessage(/Server listening at/))
    .withStartupTimeout(90_000);
  try {
    const container = await c.start();
    const r: Running = { container, url: `http://127.0.0.1:${port}`, logs };
    Object.defineProperty(r, 'logs', { get: () => logs });
    running.set(name, r);
    return r;
  } catch (e) {
    throw new Error(`${name} did not start: ${(e as Error).message}\n${logs.slice(-3000)}`);
  }
}

async function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.text() };
}

async function waitForStatus(url: string, status: number, ms = 30_000): Promise<{ status: number; body: string }> {
  const until = Date.now() + ms;
  let last = { status: 0, body: '' };
  while (Date.now() < until) {
    last = await get(url).catch((e: Error) => ({ status: -1, body: e.message }));
    if (last.status === status) return last;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url}: wanted ${status}, last ${last.status} ${last.body}`);
}

/** The checks every image gets: non-root, read-only root, /healthz, /metrics. */
async function checkCommon(r: Running, metricPrefix: string): Promise<void> {
  const id = await r.container.exec(['id', '-u']);
  expect(id.output.trim()).toBe(String(NODE_UID));
  const write = await r.container.exec(['sh', '-c', 'touch /app/probe']);
  expect(write.exitCode).not.toBe(0);
  expect(write.output).toContain('Read-only file system');
  const tmp = await r.container.exec(['sh', '-c', 'touch /tmp/probe && echo ok']);
  expect(tmp.output.trim()).toBe('ok');
  const health = await get(`${r.url}/healthz`);
  expect(health.status).toBe(200);
  const metrics = await get(`${r.url}/metrics`);
  expect(metrics.status).toBe(200);
  expect(metrics.body).toContain('# TYPE');
  expect(metrics.body).toContain(metricPrefix);
}

beforeAll(async () => {
  const svc = await ensurePodman();
  stopPodman = svc.stop;
  process.env['DOCKER_HOST'] = svc.dockerHost;
  process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
  ensureBaseImage();
  for (const b of buildImages([...SERVICES, 'chaincode'])) buildSeconds[b.name] = b.seconds;

  work = mkdtempSync(join(tmpdir(), 'twinledger-containers-'));
  chmodSync(work, 0o755);
  mkdirSync(join(work, 'config'), { mode: 0o755 });
  issuer = await createDevIssuer('https://issuer.test');
  writeFileSync(join(work, 'config', 'jwks.json'), JSON.stringify(issuer.jwks), { mode: 0o644 });
  net = await startNetwork({ orgs: ['org1'], fabric: fabric.ok, kafka: true, ...testNetworkInit() });
}, 3_600_000);

afterAll(async () => {
  for (const [name, r] of running) {
    await r.container.stop({ timeout: 10_000 }).catch((e: Error) => process.stderr.write(`stopping ${name}: ${e.message}\n`));
  }
  await net?.stop();
  await stopPodman?.();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('images', () => {
  it('are built for every service and the chaincode, run as uid 1000, expose their port and have no HEALTHCHECK', () => {
    const ports: Record<string, string> = { 'spec-service': '7300/tcp', 'acl-service': '7301/tcp', 'dht-gateway': '7400/tcp', 'feed-ingest': '8084/tcp', 'device-agent': '8085/tcp', console: '8080/tcp', chaincode: '9999/tcp' };
    for (const [name, port] of Object.entries(ports)) {
      const [inspect] = JSON.parse(podman(['image', 'inspect', imageTag(name)])) as [{ Config: { User: string; ExposedPorts: Record<string, unknown>; Healthcheck?: unknown; Labels: Record<string, string> } }];
      expect(inspect.Config.User).toBe(`${NODE_UID}:${NODE_UID}`);
      expect(Object.keys(inspect.Config.ExposedPorts)).toContain(port);
      expect(inspect.Config.Healthcheck).toBeUndefined();
      expect(inspect.Config.Labels['org.opencontainers.image.title']).toBe(`twinledger/${name}`);
    }
    process.stdout.write(`image build seconds: ${JSON.stringify(buildSeconds)}\n`);
  });

  it('ship no dev dependencies, no TypeScript sources and no tests', async () => {
    const out = podman(['run', '--rm', '--read-only', '--network', 'none', '--entrypoint', 'sh', imageTag('spec-service'), '-c', 'ls /app/node_modules; echo ---; find /app/services /app/packages -name "*.ts" ! -name "*.d.ts" | head -5; ls /app/services']);
    const [modules, rest] = out.split('---\n') as [string, string];
    for (const dev of ['jest', 'typescript', 'eslint', 'ts-jest', 'testcontainers']) expect(modules.split('\n')).not.toContain(dev);
    expect(modules.split('\n')).toContain('fastify');
    const [sources, services] = rest.split('\n').reduce<[string[], string[]]>((acc, l) => (l.endsWith('.ts') ? acc[0].push(l) : l !== '' && acc[1].push(l), acc), [[], []]);
    expect(sources).toEqual([]);
    expect(services).toEqual(['spec-service']);
  });
});

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
async function waitForListening(port: number, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port }, () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('chaincode service image', () => {
  it('starts fabric-chaincode-node server on CHAINCODE_SERVER_ADDRESS as uid 1000 with a read-only root', async () => {
    const port = await freePort();
    let logs = '';
    const container = await new ReadOnlyContainer(imageTag('chaincode'))
      .withNetworkMode('host')
      .withEnvironment({ CHAINCODE_SERVER_ADDRESS: `127.0.0.1:${port}`, CHAINCODE_ID: 'twinledger_0.1:0000000000000000000000000000000000000000000000000000000000000000' })
      .withTmpFs({ '/tmp': 'rw,noexec,nosuid,size=16m' })
      .withPullPolicy({ shouldPull: () => false })
      .withLogConsumer((stream) => stream.on('data', (d: Buffer | string) => (logs += d.toString())))
      .start();
    running.set('chaincode', { container, url: `tcp://127.0.0.1:${port}`, logs: '' });
    try {
      await waitForListening(port);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logs.slice(-3000)}`);
    }
    expect((await container.exec(['id', '-u'])).output.trim()).toBe(String(NODE_UID));
    expect((await container.exec(['sh', '-c', 'touch /chaincode/probe'])).exitCode).not.toBe(0);
    // The server process is node itself (exec), PID 1, so SIGTERM reaches it.
    expect((await container.exec(['cat', '/proc/1/cmdline'])).output).toContain('fabric-shim/cli.js');
  });
});

/** The dht-gateway container's peer ID (its data directory's key), listed in the static registry. */
let gatewayPeer = '';

describe('one organization on containers (ledger-free checks)', () => {
  beforeAll(async () => {
    const cfg = join(work, 'config');
    writeFileSync(join(cfg, 'swarm.key'), generateSwarmKey(), { mode: 0o644 });
    const kp = generateEncryptionKeyPair();
    secretFile(join(cfg, 'enc.key'), Buffer.from(kp.privateKey).toString('hex'));
    // Both DHT nodes of the organization are in the static registry under its MSP id.
    const gwData = ownedDir(join(work, 'dht-gateway'));
    // feed-ingest's embedded DHT node keeps its identity under DATA_DIR/dht (services/feed-ingest/src/server.ts).
    ownedDir(join(work, 'feed-ingest'));
    const ingestDht = ownedDir(join(work, 'feed-ingest', 'dht'));
    gatewayPeer = await peerIdOfDataDir(gwData);
    const ingestPeer = await peerIdOfDataDir(ingestDht);
    for (const d of [gwData, ingestDht]) for (const f of readdirSync(d)) chownSync(join(d, f), NODE_UID, NODE_UID);
    writeFileSync(join(cfg, 'parties.json'), JSON.stringify({ parties: [{ mspId: MSP, peerIds: [gatewayPeer, ingestPeer], encryptionPublicKey: Buffer.from(kp.publicKey).toString('hex') }] }), { mode: 0o644 });
  });

  it('dht-gateway serves objects, reports ready and exposes metrics', async () => {
    const port = await freePort();
    const dhtPort = await freePort();
    const r = await run('dht-gateway', imageTag('dht-gateway'), {
      PORT: String(port),
      MSP_ID: MSP,
      DATA_DIR: '/data',
      DHT_LISTEN: `/ip4/127.0.0.1/tcp/${dhtPort}`,
      DHT_SWARM_KEY_FILE: '/config/swarm.key',
      PARTY_REGISTRY_FILE: '/config/parties.json',
      DHT_ENCRYPTION_KEY_FILE: '/config/enc.key',
      DHT_REPLICATION: '1',
      DHT_FAULT_TOLERANCE: '0',
      DHT_REPAIR_INTERVAL_MS: '0',
      AUTH_ISSUER: issuer.issuer,
      // Service credentials only: the gateway's own audience, never the users' (twinledger).
      DHT_AUTH_AUDIENCE: 'dht-gateway',
      AUTH_JWKS_FILE: '/config/jwks.json',
    }, join(work, 'dht-gateway'));
    await checkCommon(r, 'dht_');
    const ready = await waitForStatus(`${r.url}/readyz`, 200);
    expect(ready.body).toContain('dht');
    const token = await issuer.issue({ sub: 'spec-service', svc: 'spec-service', org: MSP, audience: 'dht-gateway' });
    const client = createDhtClient({ baseUrl: r.url, token });
    const payload = new TextEncoder().encode(`container smoke ${Date.now()}`);
    const stored = await client.putObject(payload, { acl: [MSP] });
    const back = await client.getObject(stored.ref);
    expect(Buffer.from(back.bytes).toString()).toBe(Buffer.from(payload).toString());
    // The DHT node wrote only under /data (the bind mount).
    expect(readdirSync(join(work, 'dht-gateway')).length).toBeGreaterThan(0);
  });

  it('spec-service, acl-service and device-agent start, answer /healthz and /metrics, and report the unreachable peer in /readyz', async () => {
    const cfg = join(work, 'config');
    // A closed loopback port stands for the peer: nothing listens there.
    const deadPeer = `127.0.0.1:${await freePort()}`;
    const peerCa = selfSigned(join(cfg, 'peer-ca'), 'peer-ca');
    const user = selfSigned(join(cfg, 'identities', 'User1'), 'User1');
    const gw = running.get('dht-gateway')!;
    const ledger = { MSP_ID: MSP, FABRIC_IDENTITIES_DIR: '/config/identities', PEER_ENDPOINT: deadPeer, PEER_TLS_ROOT_CERT: '/config/peer-ca/cert.pem' };
    const auth = { AUTH_ISSUER: issuer.issuer, AUTH_JWKS_FILE: '/config/jwks.json' };
    const specState = ownedDir(join(work, 'spec-state'));
    // spec-service's own credential for the gateway (it never forwards users' tokens).
    writeFileSync(join(cfg, 'spec-service-dht.token'), await issuer.issue({ sub: 'spec-service', svc: 'spec-service', org: MSP, audience: 'dht-gateway' }));
    const agentData = ownedDir(join(work, 'agent-data'));
    // The operator's safety envelope is required at boot (issue #19): the plant's shipped one.
    writeFileSync(join(cfg, 'envelope.json'), readFileSync(new URL('../services/device-agent/config/bottling-plant.envelope.json', import.meta.url)), { mode: 0o644 });
    const started: [Service, Running][] = [];
    started.push(['spec-service', await run('spec-service', imageTag('spec-service'), {
      ...ledger, ...auth, PORT: String(await freePort()), DHT_GATEWAY_URL: gw.url, DHT_TOKEN_FILE: '/config/spec-service-dht.token', KAFKA_BROKERS: net!.kafka!.bootstrap, RELAY_ENABLED: 'false', DATA_DIR: '/data',
    }, specState)]);
    started.push(['acl-service', await run('acl-service', imageTag('acl-service'), { ...ledger, ...auth, PORT: String(await freePort()) })]);
    started.push(['device-agent', await run('device-agent', imageTag('device-agent'), {
      ...auth,
      PORT: String(await freePort()),
      MSP_ID: MSP,
      TWIN_ID: 'twin-container-smoke',
      DATA_DIR: '/data',
      SIMULATOR: 'true',
      PEER_ENDPOINT: deadPeer,
      PEER_TLS_ROOT_CERT: '/config/peer-ca/cert.pem',
      FABRIC_CERT_FILE: '/config/identities/User1/cert.pem',
      FABRIC_KEY_FILE: '/config/identities/User1/key.pem',
      KAFKA_BROKERS: net!.kafka!.bootstrap,
      SAFETY_ENVELOPE_FILE: '/config/envelope.json',
    }, agentData)]);
    expect(peerCa.cert).toContain('cert.pem');
    expect(user.key).toContain('key.pem');
    for (const [name, r] of started) {
      await checkCommon(r, `${name.replace('-', '_')}_`);
      const ready = await get(`${r.url}/readyz`);
      expect({ name, status: ready.status }).toEqual({ name, status: 503 });
    }
  });
});

(fabric.ok ? describe : describe.skip)('with the ledger (Fabric)', () => {
  /** The ledger environment of every service here, with container paths (/config is the bind mount). */
  let ledger: Record<string, string> = {};
  const twinId = `containers-${Date.now().toString(36)}`;
  /** A user of the organization as the services map it to its Fabric identity (User1 created the twin: OWNER). */
  const user = () => issuer.issue({ sub: 'alice', org: MSP, fabricIdentity: 'User1', audience: 'twinledger' });

  beforeAll(() => {
    const org = net!.orgs[0]!;
    expect(org.mspId).toBe(MSP);
    // The identities folder as deployed (FABRIC_IDENTITIES_DIR): one folder per Fabric identity
    // with cert.pem and key.pem, readable by the containers' uid only.
    const ids = join(work, 'config', 'ledger-identities');
    for (const u of org.users) {
      const name = u.mspDir.split('/').filter((p) => /^User\d+@/.test(p))[0]?.split('@')[0] ?? 'User1';
      cpSync(u.certPath, join(ids, name, 'cert.pem'));
      cpSync(u.keyPath, join(ids, name, 'key.pem'));
    }
    cpSync(org.peer.tlsRootCertPath, join(work, 'config', 'peer-tls-ca.pem'));
    spawnSync('chown', ['-R', `${NODE_UID}:${NODE_UID}`, ids, join(work, 'config', 'peer-tls-ca.pem')]);
    ledger = {
      MSP_ID: org.mspId,
      FABRIC_IDENTITIES_DIR: '/config/ledger-identities',
      PEER_ENDPOINT: org.peer.endpoint,
      PEER_TLS_ROOT_CERT: '/config/peer-tls-ca.pem',
      ...(org.peer.hostAlias ? { PEER_HOST_ALIAS: org.peer.hostAlias } : {}),
      CHANNEL: net!.channel,
      CHAINCODE: net!.chaincode,
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_FILE: '/config/jwks.json',
    };
  });

  it('spec-service and acl-service report ready against the real peer; spec-service creates a twin', async () => {
    const acl = await run('acl-service (ledger)', imageTag('acl-service'), { ...ledger, PORT: String(await freePort()) });
    await waitForStatus(`${acl.url}/readyz`, 200, 60_000);
    const spec = await run('spec-service (ledger)', imageTag('spec-service'), {
      ...ledger,
      PORT: String(await freePort()),
      DHT_GATEWAY_URL: running.get('dht-gateway')!.url,
      // The service credential the ledger-free check wrote for the same gateway.
      DHT_TOKEN_FILE: '/config/spec-service-dht.token',
      KAFKA_BROKERS: net!.kafka!.bootstrap,
      DATA_DIR: '/data',
    }, ownedDir(join(work, 'spec-state-ledger')));
    await waitForStatus(`${spec.url}/readyz`, 200, 60_000);
    // The twin the feed-ingest check registers a feed on: created by User1, so Org1 is its OWNER
    // (feed:register, feed:read).
    const aml = readFileSync(new URL('../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
    const res = await fetch(`${spec.url}/twins`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await user()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: twinId, deviceName: 'Bottling plant (containers)', aml }),
    });
    expect({ status: res.status, body: await res.text() }).toMatchObject({ status: 201 });
  });

  it('feed-ingest consumes from Kafka, joins the DHT, decides feed access on the ledger, reports ready and exposes metrics', async () => {
    const gw = running.get('dht-gateway');
    expect(gw).toBeDefined();
    const gwAddr = /"addrs":\["([^"]+)"/.exec(gw!.logs)?.[1];
    expect(gwAddr).toContain(gatewayPeer);
    const port = await freePort();
    const r = await run('feed-ingest', imageTag('feed-ingest'), {
      ...ledger,
      PORT: String(port),
      DATA_DIR: '/data',
      KAFKA_BROKERS: net!.kafka!.bootstrap,
      DHT_LISTEN: `/ip4/127.0.0.1/tcp/${await freePort()}`,
      DHT_BOOTSTRAP: gwAddr!,
      DHT_SWARM_KEY_FILE: '/config/swarm.key',
      DHT_ENCRYPTION_KEY_FILE: '/config/enc.key',
      // The static registry wins over the ledger's for DHT membership (both nodes are listed there).
      PARTY_REGISTRY_FILE: '/config/parties.json',
      DHT_REPLICATION: '1',
      // Its own identity for reading grants (party sets): a user folder, never the Admin's.
      SERVICE_IDENTITY: 'User1',
    }, join(work, 'feed-ingest'));
    await checkCommon(r, 'feed_ingest_');
    await waitForStatus(`${r.url}/readyz`, 200, 60_000);
    const token = await user();
    const docs = await get(`${r.url}/docs/json`, token);
    expect(docs.status).toBe(200);
    expect(JSON.parse(docs.body).openapi).toMatch(/^3\./);
    // The ledger decides: a feed on the twin Org1 owns is registered (its party set is the
    // ledger's feed:read holders), one on a twin the ledger does not know is not.
    const register = (twin: string) =>
      fetch(`${r.url}/feeds`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ twinId: twin, componentId: 'PT-301', unit: 'bar', expectedRange: { min: 0, max: 10 } }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));
    const created = await register(twinId);
    expect(created).toMatchObject({ status: 201, body: { twinId } });
    expect(created.body['acl']).toContain(MSP);
    const unknown = await register(`${twinId}-absent`);
    expect(unknown.status).toBeGreaterThanOrEqual(400);
    expect(unknown.status).toBeLessThan(500);
  });

  it('console serves the web app and its config, proxies to the feed-ingest container (not to the dht-gateway), reports ready and exposes metrics', async () => {
    const feeds = running.get('feed-ingest')!;
    const r = await run('console', imageTag('console'), {
      PORT: String(await freePort()),
      ORG_NAME: 'Org1 (containers)',
      MSP_ID: MSP,
      FEED_INGEST_URL: feeds.url,
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_FILE: '/config/jwks.json',
    });
    await checkCommon(r, 'twinledger_http_request_duration_seconds');
    await waitForStatus(`${r.url}/readyz`, 200);
    const index = await fetch(`${r.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('<script');
    const config = await get(`${r.url}/api/console/config`);
    expect(config.status).toBe(200);
    expect(JSON.parse(config.body)).toMatchObject({ orgName: 'Org1 (containers)', mspId: MSP });
    // Through the proxy (the console verifies the user's token first) to the feed-ingest container.
    const token = await user();
    const proxied = await get(`${r.url}/api/feeds/readyz`, token);
    expect(proxied.status).toBe(200);
    expect((await get(`${r.url}/api/feeds/readyz`)).status).toBe(401);
    // The user's token goes on to feed-ingest, which lists the twin's feed the ledger lets it read.
    const listed = await get(`${r.url}/api/feeds/feeds`, token);
    expect(listed.status).toBe(200);
    expect((JSON.parse(listed.body) as { feeds: Array<{ twinId: string }> }).feeds.map((f) => f.twinId)).toEqual([twinId]);
    // The dht-gateway is internal to the organization: no route to it.
    expect((await get(`${r.url}/api/dht/readyz`, token)).status).toBe(404);
  });
});

describe('teardown', () => {
  it('stops every container and leaves no container monitor (conmon) behind, exec sessions included', async () => {
    const ids = [...running.values()].map((r) => r.container.getId());
    expect(ids.length).toBeGreaterThan(0);
    for (const [name, r] of [...running]) {
      await r.container.stop({ timeout: 10_000 });
      running.delete(name);
    }
    // Monitors of these containers' processes and exec sessions name the container id.
    const monitors = (): string[] =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .map((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8');
          } catch {
            return '';
          }
        })
        .filter((cmd) => cmd.startsWith('/usr/bin/conmon') && ids.some((id) => cmd.includes(id)));
    // Exec sessions' monitors go 15 s after their session (exit_command_delay, scripts/container-tools.mjs).
    const until = Date.now() + 40_000;
    while (monitors().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
    expect(monitors()).toEqual([]);
  });
});
