import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateEncryptionKeyPair, generateSwarmKey, peerIdOfDataDir } from '@twinledger/dht';
import { serviceEntry, startServiceProcess, type ServiceProcess } from '@twinledger/devnet';
import type { DevIssuer } from '@twinledger/service-kit';

const ROOT = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const SERVER = serviceEntry('dht-gateway');

export interface GatewayProcess {
  readonly mspId: string;
  readonly url: string;
  readonly proc: ServiceProcess;
  /** spec-service's credential for this gateway (audience twinledger-dht, svc claim), as a file. */
  readonly tokenFile: string;
}

/** Starts one REAL dht-gateway process; its ready report names its URL and DHT addresses. */
async function startOne(mspId: string, env: NodeJS.ProcessEnv, tokenFile: string): Promise<GatewayProcess & { addr: string }> {
  const proc = await startServiceProcess({ name: `dht-gateway.${mspId}`, entry: SERVER, env });
  const addr = (proc.details.dht as string[])[0] ?? '';
  return { mspId, url: proc.url, proc, addr, tokenFile };
}

/**
 * One dht-gateway per organization (real processes, TCP libp2p on 127.0.0.1), each trusting its
 * organization's token issuer for service credentials (audience `twinledger-dht`, the default);
 * each gets a spec-service credential file, which the service presents instead of users' tokens.
 */
export async function startDhtGateways(root: string, orgs: ReadonlyArray<{ mspId: string; issuer: DevIssuer }>): Promise<GatewayProcess[]> {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', join(ROOT, 'services/dht-gateway')], { stdio: 'inherit' });
  await writeFile(join(root, 'swarm.key'), generateSwarmKey());
  const parties = [];
  const envs: NodeJS.ProcessEnv[] = [];
  for (const o of orgs) {
    const dataDir = join(root, `dht-${o.mspId}`);
    const kp = generateEncryptionKeyPair();
    await writeFile(join(root, `${o.mspId}.enc`), Buffer.from(kp.privateKey).toString('hex'), { mode: 0o600 });
    await writeFile(join(root, `${o.mspId}.jwks.json`), JSON.stringify(o.issuer.jwks));
    parties.push({ mspId: o.mspId, peerIds: [await peerIdOfDataDir(dataDir)], encryptionPublicKey: Buffer.from(kp.publicKey).toString('hex') });
    envs.push({
      PATH: process.env['PATH'],
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      MSP_ID: o.mspId,
      DHT_LISTEN: '/ip4/127.0.0.1/tcp/0',
      DHT_SWARM_KEY_FILE: join(root, 'swarm.key'),
      PARTY_REGISTRY_FILE: join(root, 'parties.json'),
      DHT_ENCRYPTION_KEY_FILE: join(root, `${o.mspId}.enc`),
      DHT_REPLICATION: String(orgs.length),
      DHT_FAULT_TOLERANCE: '0',
      DHT_REPAIR_INTERVAL_MS: '0',
      MAX_OBJECT_BYTES: String(8 * 1024 * 1024),
      AUTH_ISSUER: o.issuer.issuer,
      AUTH_JWKS_FILE: join(root, `${o.mspId}.jwks.json`),
    });
  }
  await writeFile(join(root, 'parties.json'), JSON.stringify({ parties }));
  const out: GatewayProcess[] = [];
  const boot: string[] = [];
  for (const [i, o] of orgs.entries()) {
    const tokenFile = join(root, `${o.mspId}.spec-service.dht-token`);
    await writeFile(tokenFile, await o.issuer.issue({ sub: 'spec-service', svc: 'spec-service', org: o.mspId, audience: 'twinledger-dht' }), { mode: 0o600 });
    const g = await startOne(o.mspId, { ...envs[i], DHT_BOOTSTRAP: boot.join(',') }, tokenFile);
    boot.push(g.addr);
    out.push(g);
  }
  return out;
}

export async function stopDhtGateways(gateways: readonly GatewayProcess[]): Promise<void> {
  for (const g of gateways) await g.proc.stop(5000);
}
