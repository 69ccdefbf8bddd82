import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';
import { fabricAvailability, ledgerEnvOf, serviceEntry, startNetwork, startServiceProcess, testNetworkInit, type DevNetwork, type ServiceProcess } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity, type FabricClient, type PeerConnectionPool } from '@twinledger/fabric-client';
import { createKafka, ensureTopics, TOPICS } from '@twinledger/kafka';
import { createTwinLedger, Permissions, Roles, type TwinLedger } from '@twinledger/ledger';
import { decodeSegment } from '@twinledger/readings';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import type { BottlingPlantSimulator } from '@twinledger/plant-sim';
import { simulator, until } from './support/opcua.js';
import { AGENT_USER, securePair, type SecurePair } from './support/pki.js';

const fabric = await fabricAvailability();
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '../../..');
const FIXTURE = readFileSync(join(ROOT, 'chaincode/fixtures/bottling-plant.aml'), 'utf8');

type Child = ServiceProcess;

/** A service as its own process; resolved with its ready report. */
function startProcess(service: string, env: Record<string, string>): Promise<Child> {
  return startServiceProcess({ name: service, entry: serviceEntry(service), env, readyTimeoutMs: 90_000 });
}

/** SIGKILL: abrupt death; otherwise a graceful stop (SIGTERM, SIGKILL after 10 s). */
async function kill(child: Child | undefined, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  if (!child) return;
  if (signal === 'SIGKILL') await child.process.kill();
  else await child.stop(10_000);
}

// A sensor exchange end to end with the REAL feed-ingest: the agent (its own process) against
// the simulator over OPC UA, the real two-org Fabric network, the real KRaft broker, feed-ingest
// (its own process, embedded DHT node of Org1) and real DHT nodes of Org1..Org3; Org2 reads the
// readings from its own DHT node.
(fabric.ok ? describe : describe.skip)('device agent + feed-ingest: sensor exchange, device outage, agent crash', () => {
  let net: DevNetwork;
  let dht: TestNetwork;
  let pool: PeerConnectionPool;
  const clients: FabricClient[] = [];
  let owner: TwinLedger;
  let org2: TwinLedger;
  let issuer: DevIssuer;
  let dir: string;
  let sim: BottlingPlantSimulator | undefined;
  let simPort = 0;
  let pair: SecurePair | undefined;
  let ingest: Child | undefined;
  let agent: Child | undefined;
  let agentEnv: Record<string, string>;
  const twin = `exchange-${Date.now().toString(36)}`;
  const org2Node = () => dht.nodes[1]!;

  const client = async (org: number, user: number): Promise<FabricClient> => {
    const o = net.orgs[org]!;
    const c = createFabricClient({ pool, peer: o.peer, identity: await loadIdentity(o.users[user]!), channel: net.channel, chaincode: net.chaincode });
    clients.push(c);
    return c;
  };
  const opsToken = () => issuer.issue({ sub: 'operator', org: 'Org1MSP', fabricIdentity: 'User1', audience: 'twinledger' });
  const ingestApi = async (path: string): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`http://127.0.0.1:${ingest!.port}${path}`, { headers: { authorization: `Bearer ${await opsToken()}` } });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const agentStatus = async (): Promise<{ device: { state: string }; stream?: { produced: number } }> =>
    (await fetch(`http://127.0.0.1:${agent!.port}/status`, { headers: { authorization: `Bearer ${await opsToken()}` } })).json() as never;
  /** The readings of a feed as Org2 decrypts them from its own DHT node: component -> timestamps. */
  const org2Readings = async (feedId: string): Promise<Map<string, number[]>> => {
    const out = new Map<string, number[]>();
    const head = await org2Node().feedHead(feedId);
    if (!head) return out;
    for (const e of await org2Node().rangeByIndex(feedId, Math.max(0, head.latestIndex - 50), head.latestIndex)) {
      const seg = decodeSegment(e.payload);
      for (let i = 0; i < seg.count; i++) {
        const comp = seg.header.components[seg.component ? seg.component[i]! : 0] ?? '';
        out.set(comp, [...(out.get(comp) ?? []), seg.ts[i]!]);
      }
    }
    return out;
  };

  const startSim = async (): Promise<void> => {
    pair ??= await securePair(dir);
    sim = await simulator.startBottlingPlantSimulator({ port: simPort, pkiDir: join(dir, 'server-pki'), tickMs: 100, security: pair.server });
    simPort = sim.port;
  };
  const startAgent = async (): Promise<Child> => startProcess('device-agent', agentEnv);
  const startIngest = async (env: Record<string, string>): Promise<Child & { peerId: string; multiaddr: string }> => {
    const c = await startProcess('feed-ingest', env);
    return { ...c, peerId: String(c.details.peerId), multiaddr: String((c.details.multiaddrs as string[])[0]) };
  };

  beforeAll(async () => {
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'services/device-agent', 'services/feed-ingest'], { cwd: ROOT });
    dir = await mkdtemp(join(tmpdir(), 'da-exchange-'));
    net = await startNetwork({ orgs: ['org1', 'org2'], kafka: true, ...testNetworkInit() });
    pool = createPeerConnectionPool();
    owner = createTwinLedger(await client(0, 0));
    const agentLedger = createTwinLedger(await client(0, 1));
    org2 = createTwinLedger(await client(1, 0));
    await owner.createTwin(twin, 'Bottling plant', FIXTURE);
    const agentId = (await until(() => agentLedger.checkAccess(twin, Permissions.PROGRAM_ACK), () => true)).identity;
    await owner.grant(twin, { mspId: 'Org1MSP', identity: agentId, role: Roles.DEVICE_AGENT });
    await until(() => org2.listGrants(twin), (g) => g.some((x) => x.role === 'DEVICE_AGENT'), 15_000, 'grant on Org2 peer');
    const kafka = createKafka({ brokers: [net.kafka!.bootstrap], clientId: 'da-exchange' });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic: TOPICS.readings, partitions: 3 }]);
    await admin.disconnect();

    // The DHT: three real nodes (Org1..Org3) plus feed-ingest's embedded Org1 node.
    dht = await spawnTestNetwork({ orgs: ['Org1MSP', 'Org2MSP', 'Org3MSP'] });
    await dht.connectAll();
    issuer = await createDevIssuer('https://idp.org1.local');
    await writeFile(join(dir, 'jwks.json'), JSON.stringify(issuer.jwks));
    await writeFile(join(dir, 'swarm.key'), dht.swarmKey);
    await writeFile(join(dir, 'enc.key'), Buffer.from(dht.keys.get('Org1MSP')!.privateKey).toString('hex'));
    const writeRegistry = async (extraOrg1Peer?: string) =>
      writeFile(
        join(dir, 'parties.json'),
        JSON.stringify(
          dht.registry.list().map((p) => ({
            mspId: p.mspId,
            peerIds: p.mspId === 'Org1MSP' && extraOrg1Peer ? [...p.peerIds, extraOrg1Peer] : [...p.peerIds],
            encryptionPublicKey: Buffer.from(p.encryptionPublicKey).toString('hex'),
          })),
        ),
      );
    await writeRegistry();
    // feed-ingest asks the ledger for every feed permission as the caller's own identity
    // (FABRIC_IDENTITIES_DIR): the operator is User1, the agent User2 (its DEVICE_AGENT grant).
    const identitiesDir = join(dir, 'identities');
    mkdirSync(identitiesDir, { recursive: true });
    net.orgs[0]!.users.slice(0, 2).forEach((u, i) => symlinkSync(dirname(u.mspDir), join(identitiesDir, `User${i + 1}`), 'dir'));
    const ingestEnv = {
      MSP_ID: 'Org1MSP',
      ...ledgerEnvOf(net, net.orgs[0]!),
      FABRIC_IDENTITIES_DIR: identitiesDir,
      DATA_DIR: join(dir, 'ingest'),
      PORT: '0',
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: net.kafka!.bootstrap,
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_FILE: join(dir, 'jwks.json'),
      DHT_SWARM_KEY_FILE: join(dir, 'swarm.key'),
      DHT_ENCRYPTION_KEY_FILE: join(dir, 'enc.key'),
      PARTY_REGISTRY_FILE: join(dir, 'parties.json'),
      DHT_BOOTSTRAP: dht.nodes.map((n) => n.multiaddrs()[0]!).join(','),
      SEGMENT_MAX_AGE_MS: '300',
    };
    // The first start creates feed-ingest's node identity; the party registry then lists it.
    const first = await startIngest(ingestEnv);
    await kill(first, 'SIGKILL');
    await writeRegistry(first.peerId);
    const p = dht.registry.get('Org1MSP')!;
    dht.registry.upsert({ ...p, peerIds: [...p.peerIds, first.peerId] });
    const second = await startIngest(ingestEnv);
    await Promise.all(dht.nodes.map((n) => n.dial(second.multiaddr).catch(() => undefined)));
    ingest = second;

    await startSim();
    const o1 = net.orgs[0]!;
    // The agent process reaches the plant over the secured link the pair provisioned.
    await writeFile(join(dir, 'opcua-user.json'), JSON.stringify(AGENT_USER), { mode: 0o600 });
    await writeFile(join(dir, 'agent.token'), await issuer.issue({ sub: 'device-agent', org: 'Org1MSP', fabricIdentity: 'User2', audience: 'twinledger' }));
    agentEnv = {
      PORT: '0', LOG_LEVEL: 'info', MSP_ID: 'Org1MSP', TWIN_ID: twin, DATA_DIR: join(dir, 'agent'),
      DEVICE_ENDPOINT: sim!.endpointUrl, SYNC_INTERVAL_MS: '2000', DEVICE_RECONNECT_MAX_MS: '1000', DEVICE_SAMPLING_MS: '100',
      PEER_ENDPOINT: o1.peer.endpoint, PEER_TLS_ROOT_CERT: o1.peer.tlsRootCertPath, PEER_HOST_ALIAS: o1.peer.hostAlias ?? '',
      FABRIC_CERT_FILE: o1.users[1]!.certPath, FABRIC_KEY_FILE: o1.users[1]!.keyPath, CHANNEL: net.channel, CHAINCODE: net.chaincode,
      KAFKA_BROKERS: net.kafka!.bootstrap, MAX_READINGS_PER_SECOND: '200',
      FEED_INGEST_URL: `http://127.0.0.1:${ingest.port}`, FEED_INGEST_TOKEN_FILE: join(dir, 'agent.token'), FEED_ACL: 'Org2MSP',
      AUTH_ISSUER: issuer.issuer, AUTH_JWKS_FILE: join(dir, 'jwks.json'),
      OPCUA_PKI_DIR: join(dir, 'agent-pki'), OPCUA_APPLICATION_URI: pair!.client.certificate.applicationUri,
      OPCUA_TRUSTED_SERVER_CERTS: pair!.server.certificate.certificateFile, OPCUA_USER_FILE: join(dir, 'opcua-user.json'),
      SAFETY_ENVELOPE_FILE: join(HERE, '../config/bottling-plant.envelope.json'),
    };
    agent = await startAgent();
  }, 300_000);

  afterAll(async () => {
    await kill(agent, 'SIGTERM');
    await kill(ingest, 'SIGTERM');
    await sim?.stop();
    await dht?.teardown();
    for (const c of clients) c.close();
    pool?.close();
    await net?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 300_000);

  it('registers every sensor feed with feed-ingest and on chain under the same ID; Org2 reads the readings from its DHT node', async () => {
    const feeds = await until(() => org2.listSensorFeeds(twin), (f) => f.length === 4, 60_000, 'four feeds on chain');
    for (const f of feeds) {
      const rec = await ingestApi(`/feeds/${f.feedRef}`);
      expect(rec.status).toBe(200);
      expect(rec.json).toMatchObject({ feedId: f.feedRef, twinId: twin, componentId: f.componentId });
    }
    const fill = feeds.find((f) => f.componentId === 'sensor-fill-level-1')!;
    const got = await until(() => org2Readings(fill.feedRef), (m) => (m.get('sensor-fill-level-1')?.length ?? 0) >= 5, 60_000, 'fill level readings in the DHT');
    expect([...got.keys()]).toEqual(['sensor-fill-level-1']);
  }, 300_000);

  it('the device disconnects and comes back: the agent backs off, reconnects and streams again', async () => {
    const fill = (await org2.listSensorFeeds(twin)).find((f) => f.componentId === 'sensor-fill-level-1')!;
    await sim!.stop();
    sim = undefined;
    await until(agentStatus, (s) => s.device.state !== 'connected', 30_000, 'agent sees the device gone');
    // Down for a few reconnect periods (the backoff caps at DEVICE_RECONNECT_MAX_MS = 1 s).
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await agentStatus()).device.state).not.toBe('connected');
    const backAt = Date.now();
    await startSim();
    await until(agentStatus, (s) => s.device.state === 'connected', 30_000, 'agent reconnected');
    // The agent streams again (its own count), then the readings travel Kafka -> feed-ingest -> DHT.
    const produced = (await agentStatus()).stream?.produced ?? 0;
    await until(agentStatus, (s) => (s.stream?.produced ?? 0) > produced + 10, 30_000, 'agent producing again');
    const after = await until(() => org2Readings(fill.feedRef), (m) => (m.get('sensor-fill-level-1') ?? []).some((ts) => ts > backAt), 120_000, 'readings after the reconnect in the DHT');
    expect((after.get('sensor-fill-level-1') ?? []).filter((ts) => ts > backAt).length).toBeGreaterThan(0);
    const metrics = await (await fetch(`http://127.0.0.1:${agent!.port}/metrics`)).text();
    expect(metrics).toMatch(/twinledger_device_agent_device_connected 1/);
  }, 300_000);

  it('a sensor exchange: spec updated, the new feed registered in feed-ingest and on chain, its readings readable by Org2', async () => {
    sim!.replaceSensor('sensor-fill-level-1', { componentId: 'sensor-fill-level-2', serialNumber: 'SN-NEW-7' });
    const feeds = await until(() => org2.listSensorFeeds(twin), (f) => f.some((x) => x.componentId === 'sensor-fill-level-2'), 60_000, 'new feed on chain');
    expect(feeds.map((f) => f.componentId).sort()).toEqual(['sensor-fill-level-2', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1']);
    await expect(org2.getElement(twin, 'sensor-fill-level-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await org2.getElement(twin, 'sensor-fill-level-2')).aml).toContain('SN-NEW-7');
    const feed = feeds.find((f) => f.componentId === 'sensor-fill-level-2')!;
    const rec = await ingestApi(`/feeds/${feed.feedRef}`);
    expect(rec).toMatchObject({ status: 200, json: { feedId: feed.feedRef, twinId: twin, componentId: 'sensor-fill-level-2', unit: 'mm' } });
    const got = await until(() => org2Readings(feed.feedRef), (m) => (m.get('sensor-fill-level-2')?.length ?? 0) >= 3, 60_000, 'new stream readable by Org2');
    expect([...got.keys()]).toEqual(['sensor-fill-level-2']);
    // Org3 has no grant in the feed ACL: its node holds nothing it can decrypt.
    const head = await dht.nodes[2]!.feedHead(feed.feedRef);
    await expect(dht.nodes[2]!.rangeByIndex(feed.feedRef, 0, head!.latestIndex)).rejects.toMatchObject({ code: expect.stringMatching(/^DHT_/) });
  }, 300_000);

  it('the agent killed mid-sync and restarted completes the exchange exactly once', async () => {
    sim!.replaceSensor('sensor-pressure-1', { componentId: 'sensor-pressure-2' });
    // Kill -9 as soon as the removal is on chain (the insert and the feed are still to come, or in flight).
    await until(() => org2.getElement(twin, 'sensor-pressure-1').then(() => 'present', (e: { code?: string }) => e.code), (c) => c === 'NOT_FOUND', 60_000, 'old sensor removed');
    await kill(agent, 'SIGKILL');
    // A kill inside a certificate store update leaves node-opcua's store lock behind (it goes
    // stale only after two minutes); make that the case every time, not by chance.
    mkdirSync(join(dir, 'agent-pki', 'mutex.lock'), { recursive: true });
    const before = (await owner.history(twin)).changes.filter((c) => c.targets.some((t) => t.id === 'sensor-pressure-2')).map((c) => c.operation);
    agent = await startAgent();
    const feeds = await until(() => org2.listSensorFeeds(twin), (f) => f.some((x) => x.componentId === 'sensor-pressure-2'), 60_000, 'pressure-2 feed');
    const feed = feeds.find((f) => f.componentId === 'sensor-pressure-2')!;
    await until(() => ingestApi(`/feeds/${feed.feedRef}`), (r) => r.status === 200, 30_000, 'pressure-2 in feed-ingest');
    // Let a couple of periodic syncs run: none may repeat a step.
    await new Promise((r) => setTimeout(r, 5_000));
    const history = (await owner.history(twin)).changes;
    const count = (id: string, op: string) => history.filter((c) => c.operation === op && c.targets.some((t) => t.id === id)).length;
    expect(count('sensor-pressure-1', 'removeAML')).toBe(1);
    expect(count('sensor-pressure-2', 'insertAML')).toBe(1);
    expect(count('sensor-pressure-2', 'addSensorFeed')).toBe(1);
    expect(before.length).toBeLessThanOrEqual(2);
    const listed = (await ingestApi('/feeds')).json as unknown as Array<{ componentId: string; twinId: string }> | { feeds?: Array<{ componentId: string; twinId: string }> };
    const all = Array.isArray(listed) ? listed : (listed.feeds ?? []);
    expect(all.filter((f) => f.twinId === twin && f.componentId === 'sensor-pressure-2')).toHaveLength(1);
    await until(() => org2Readings(feed.feedRef), (m) => (m.get('sensor-pressure-2')?.length ?? 0) >= 3, 60_000, 'pressure-2 readings');
  }, 300_000);
});
