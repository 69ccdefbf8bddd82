import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateEncryptionKeyPair, generateSwarmKey, peerIdOfDataDir } from '@twinledger/dht';
import { fabricAvailability, ledgerEnvOf, serviceEntry, startNetwork, startServiceProcess, testNetworkInit, type DevNetwork, type OrgHandle, type ServiceProcess } from '@twinledger/devnet';
import { createFabricClient, createPeerConnectionPool, loadIdentity } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { blockNumberOfTx, createQsccBlockReader, verifyReadingsProof } from '@twinledger/audit';
import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { identitiesDirOf } from './support/ledger.js';

// Two real feed-ingest processes (as deployed: dist/server.js) whose only membership source is
// the party registry on the real ledger: each org's admin registers its instance's DHT peer id
// and encryption key on chain, then the instance starts with PEER_ENDPOINT and a client identity.
const SERVER = serviceEntry('feed-ingest');
const fabric = await fabricAvailability();
const AML = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

interface Instance {
  readonly url: string;
  readonly peerId: string;
  readonly multiaddrs: string[];
}

(fabric.ok ? describe : describe.skip)('feed-ingest with the party registry on the ledger (processes, real Fabric, Kafka, DHT)', () => {
  let net: DevNetwork;
  let root = '';
  let issuer: DevIssuer;
  const procs: ServiceProcess[] = [];

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1', 'org2'], fabric: true, kafka: true, ...testNetworkInit() });
    root = await mkdtemp(join(tmpdir(), 'twinledger-feed-ledger-'));
    issuer = await createDevIssuer('https://idp.test');
    await writeFile(join(root, 'jwks.json'), JSON.stringify(issuer.jwks));
    await writeFile(join(root, 'swarm.key'), generateSwarmKey());
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop(10_000)));
    await net?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Registers the org's instance on chain as its admin, then starts the feed-ingest process. */
  async function instance(org: OrgHandle, bootstrap: string[]): Promise<Instance> {
    const dataDir = join(root, org.name);
    const peerId = await peerIdOfDataDir(join(dataDir, 'dht'));
    const keys = generateEncryptionKeyPair();
    await writeFile(join(root, `${org.name}.enc`), Buffer.from(keys.privateKey).toString('hex'));
    const pool = createPeerConnectionPool();
    const admin = createFabricClient({ pool, peer: org.peer, identity: await loadIdentity(org.admin), channel: net.channel, chaincode: net.chaincode });
    try {
      await createTwinLedger(admin).registerParty([peerId], Buffer.from(keys.publicKey).toString('base64'));
      // The twin of the feed below: Org1's, readable by every MSP (the default '*' READER grant).
      if (org === net.orgs[0]) await createTwinLedger(admin).createTwin('bottling-plant-1', 'Bottling plant', AML);
    } finally {
      admin.close();
      pool.close();
    }
    const proc = await startServiceProcess({
      name: `feed-ingest.${org.name}`,
      entry: SERVER,
      readyTimeoutMs: 90_000,
      env: {
        PATH: process.env['PATH'],
        PORT: '0',
        LOG_LEVEL: 'info',
        DATA_DIR: dataDir,
        KAFKA_BROKERS: net.kafka!.bootstrap,
        // One broker for both organizations here; each has its own topics and group.
        KAFKA_GROUP_ID: `feed-ingest-${org.name}`,
        READINGS_TOPIC: `${org.name}.dt.readings`,
        DEAD_LETTER_TOPIC: `${org.name}.dt.dead-letter`,
        SEGMENT_MAX_AGE_MS: '100',
        DHT_BOOTSTRAP: bootstrap.join(','),
        DHT_SWARM_KEY_FILE: join(root, 'swarm.key'),
        DHT_ENCRYPTION_KEY_FILE: join(root, `${org.name}.enc`),
        DHT_REPLICATION: '2',
        ...ledgerEnvOf(net, org),
        FABRIC_CERT_FILE: org.users[0]!.certPath,
        FABRIC_KEY_FILE: org.users[0]!.keyPath,
        // Callers' feed permissions are the ledger's decisions, signed as their fabric_identity.
        FABRIC_IDENTITIES_DIR: identitiesDirOf(root, org),
        AUTH_ISSUER: issuer.issuer,
        AUTH_JWKS_FILE: join(root, 'jwks.json'),
        // Anchors within seconds, so the proof test below finds one (the default is one a minute).
        FEED_ANCHOR_PERIOD_MS: '1000',
        FEED_ANCHOR_MIN_INTERVAL_MS: '1000',
      },
    });
    procs.push(proc);
    const started = { port: proc.port, peerId: String(proc.details.peerId), multiaddrs: proc.details.multiaddrs as string[] };
    expect(started.peerId).toBe(peerId);
    const url = `http://127.0.0.1:${started.port}`;
    for (const until = Date.now() + 60_000; ; ) {
      if ((await fetch(`${url}/readyz`).then((r) => r.status, () => 0)) === 200) break;
      if (Date.now() > until) throw new Error(`${org.name} feed-ingest not ready`);
      await new Promise((r) => setTimeout(r, 250));
    }
    return { url, peerId, multiaddrs: started.multiaddrs };
  }

  const auth = async (org: string) => ({ authorization: `Bearer ${await issuer.issue({ sub: `u@${org}`, org, fabricIdentity: 'User1', audience: 'twinledger' })}`, 'content-type': 'application/json' });

  let org1Instance: Instance | undefined;
  let org2Instance: Instance | undefined;

  it('takes its DHT membership from the ledger: a feed ingested at Org1 is read by Org2 under the feed ACL', async () => {
    const [org1, org2] = net.orgs as [OrgHandle, OrgHandle];
    const a = await instance(org1, []);
    const b = await instance(org2, a.multiaddrs.map((m) => (m.includes('/p2p/') ? m : `${m}/p2p/${a.peerId}`)));
    org1Instance = a;
    org2Instance = b;

    const created = await fetch(`${a.url}/feeds`, {
      method: 'POST',
      headers: await auth('Org1MSP'),
      body: JSON.stringify({ twinId: 'bottling-plant-1', componentId: 'PT-301', unit: 'bar', expectedRange: { min: 0, max: 10 }, acl: ['Org2MSP'] }),
    });
    expect(created.status).toBe(201);
    const { feedId } = (await created.json()) as { feedId: string };
    const t0 = Date.now() - 10_000;
    const readings = Array.from({ length: 50 }, (_, i) => ({ feed: feedId, component: 'PT-301', ts: t0 + i, v: 1 + (i % 5), u: 'bar' }));
    const posted = await fetch(`${a.url}/readings`, { method: 'POST', headers: await auth('Org1MSP'), body: JSON.stringify(readings) });
    expect(posted.status).toBe(202);
    expect(await posted.json()).toEqual({ accepted: 50 });

    // Org2's instance reads the feed out of the DHT (its node decrypts with the key the ledger lists).
    let got: Array<{ ts: number; v: number }> = [];
    for (const until = Date.now() + 90_000; got.length < 50; ) {
      const r = await fetch(`${b.url}/feeds/${feedId}/readings?from=${t0}&to=${t0 + 1000}`, { headers: await auth('Org2MSP') });
      if (r.status === 200) got = ((await r.json()) as { readings: typeof got }).readings;
      if (got.length >= 50) break;
      if (Date.now() > until) throw new Error(`Org2 read ${got.length}/50 readings (last status ${r.status})`);
      await new Promise((res) => setTimeout(res, 500));
    }
    expect(got.map((r) => r.ts)).toEqual(readings.map((r) => r.ts));
    expect(got.map((r) => r.v)).toEqual(readings.map((r) => r.v));
  });

  it("serves Org2 readings with proof from the process's own wiring: anchors with their blocks (qscc), verified against the ledger's anchors", async () => {
    const [org1, org2] = net.orgs as [OrgHandle, OrgHandle];
    const a = org1Instance!;
    const b = org2Instance!;
    const created = await fetch(`${a.url}/feeds`, {
      method: 'POST',
      headers: await auth('Org1MSP'),
      body: JSON.stringify({ twinId: 'bottling-plant-1', componentId: 'sensor-flow-1', unit: 'l/min', expectedRange: { min: 0, max: 100 }, acl: ['Org2MSP'] }),
    });
    expect(created.status).toBe(201);
    const { feedId } = (await created.json()) as { feedId: string };
    const pool = createPeerConnectionPool();
    const owner = createFabricClient({ pool, peer: org1.peer, identity: await loadIdentity(org1.users[0]!), channel: net.channel, chaincode: net.chaincode });
    const org2Qscc = createFabricClient({ pool, peer: org2.peer, identity: await loadIdentity(org2.users[0]!), channel: net.channel, chaincode: 'qscc' });
    try {
      await createTwinLedger(owner).addSensorFeed('bottling-plant-1', 'sensor-flow-1', feedId);
      const t0 = Date.now() - 5_000;
      const readings = Array.from({ length: 30 }, (_, i) => ({ feed: feedId, component: 'sensor-flow-1', ts: t0 + i, v: 10 + i, u: 'l/min' }));
      expect((await fetch(`${a.url}/readings`, { method: 'POST', headers: await auth('Org1MSP'), body: JSON.stringify(readings) })).status).toBe(202);

      // Org1's anchorer commits a root within seconds; Org2's process proves the readings against it.
      type Answer = { readings: unknown[]; proof: { anchors: { txId: string; blockNumber: number }[] } };
      let answer: Answer | undefined;
      for (const until = Date.now() + 90_000; ; ) {
        const r = await fetch(`${b.url}/feeds/${feedId}/readings?from=${t0}&to=${t0 + 1000}&proof=true`, { headers: await auth('Org2MSP') });
        if (r.status === 200) {
          const body = (await r.json()) as Answer;
          if (body.readings.length === 30 && body.proof.anchors.length > 0) {
            answer = body;
            break;
          }
        }
        if (Date.now() > until) throw new Error(`no anchored proof from Org2's feed-ingest (last status ${r.status})`);
        await new Promise((res) => setTimeout(res, 1000));
      }
      // The trusted side, read independently: the ledger's anchors, and their blocks from Org2's peer.
      const blocks = createQsccBlockReader((fn, args) => org2Qscc.evaluate(fn, args), net.channel);
      const onLedger = (await createTwinLedger(owner).listFeedAnchorsPage('bottling-plant-1', feedId)).items;
      const trusted = await Promise.all(onLedger.map(async (x) => ({ feedId, txId: x.txId, blockNumber: await blockNumberOfTx(blocks, x.txId), fromIndex: x.fromIndex, toIndex: x.toIndex, root: x.root })));
      expect(answer.proof.anchors.map((x) => x.blockNumber)).toEqual(answer.proof.anchors.map((x) => trusted.find((t) => t.txId === x.txId)?.blockNumber));
      const verified = verifyReadingsProof(answer, trusted, { feedId, from: t0, to: t0 + 1000 });
      expect(verified.failures).toEqual([]);
      expect(verified.provenReadings + verified.unanchoredReadings).toBe(30);
      expect(verified.provenReadings).toBeGreaterThan(0);
    } finally {
      owner.close();
      org2Qscc.close();
      pool.close();
    }
  });
});
