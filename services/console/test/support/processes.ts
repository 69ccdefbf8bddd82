// Real service processes for the console's browser tests and benchmark: each service's built
// dist/server.js as a child process, resolved once it logs that it listens. (The consortium
// launcher of packages/consortium is meant to replace this once it exists; see the README.)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIdentityRegistry, type IdentityRegistry } from '@twinledger/auth-identity';
import { ledgerEnvOf, type DevNetwork } from '@twinledger/devnet';
import { peerIdOfDataDir, spawnTestNetwork, type TestNetwork } from '@twinledger/dht';
import { createPeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger, type TwinLedger } from '@twinledger/ledger';
import type { DevIssuer } from '@twinledger/service-kit';

export const ROOT = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));

export interface ServiceProcess {
  readonly name: string;
  readonly url: string;
  readonly proc: ChildProcess;
  /** The listening log record (peer IDs, multiaddrs where the service logs them). */
  readonly record: Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * Starts `services/<dir>/dist/server.js` and resolves on the log record `msg === readyMsg` (its
 * `address`, or Fastify's earlier "Server listening at" line, gives the URL); readyMsg
 * `'Server listening'` resolves on Fastify's line itself.
 */
export function startService(name: string, dir: string, env: Record<string, string>, readyMsg: string): Promise<ServiceProcess> {
  const proc = spawn(process.execPath, [join(ROOT, 'services', dir, 'dist/server.js')], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buffer = '';
  let listeningUrl: string | undefined;
  let stderr = '';
  const tail: string[] = [];
  proc.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  };
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      void stop();
      fail(new Error(`${name} did not start in 90 s: ${stderr.slice(-2000)}${tail.join('\n').slice(-2000)}`));
    }, 90_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited with ${code}: ${stderr.slice(-2000)}${tail.join('\n').slice(-2000)}`));
    });
    proc.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      let cut: number;
      while ((cut = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 1);
        tail.push(line);
        if (tail.length > 40) tail.shift();
        try {
          const rec = JSON.parse(line) as Record<string, unknown> & { msg?: string; address?: { port?: number } };
          const listening = /^Server listening at (http:\/\/127\.0\.0\.1:\d+)$/.exec(rec.msg ?? '')?.[1];
          if (listening) listeningUrl = listening;
          const ready = readyMsg === 'Server listening' ? listening !== undefined : rec.msg === readyMsg;
          const url = rec.address?.port ? `http://127.0.0.1:${rec.address.port}` : listeningUrl;
          if (ready && url) {
            clearTimeout(timer);
            proc.removeAllListeners('exit');
            ok({ name, url, proc, record: rec, stop });
          }
        } catch {
          // not a JSON log line
        }
      }
    });
  });
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
    'feed-ingest listening',
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
      // info: the readiness line 'console listening' is an info record.
      LOG_LEVEL: 'info',
      ORG_NAME: org.name,
      MSP_ID: org.mspId,
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_FILE: join(root, 'jwks.json'),
      DEV_SIGNIN_KEY_FILE: join(root, 'issuer.private.jwk'),
      DEV_SIGNIN_USERS: devUsers,
      ...upstreams,
    },
    'console listening',
  );
}
