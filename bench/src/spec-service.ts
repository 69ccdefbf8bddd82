import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ledgerEnvOf, serviceEntry, startServiceProcess, type DevNetwork, type OrgHandle, type ServiceProcess } from '@twinledger/devnet';
import { createDevIssuer } from '@twinledger/service-kit';

export interface BenchSpecService {
  readonly proc: ServiceProcess;
  readonly url: string;
  /** A bearer token of `org`'s User1 (one client, e.g. a dashboard, for every request). */
  readonly token: string;
}

/**
 * spec-service of `org` as a real process, signing as its User1 and trusting a dev issuer of
 * its own; with `relay` its event relay (and so the read model) runs on the network's Kafka,
 * without it reads go to the peer. Documents are never exercised: the DHT gateway is a dead address.
 */
export async function startBenchSpecService(init: { net: DevNetwork; org: OrgHandle; root: string; relay: boolean; readyTimeoutMs?: number }): Promise<BenchSpecService> {
  const { net, org, root } = init;
  const ids = join(root, 'identities');
  mkdirSync(ids, { recursive: true });
  symlinkSync(dirname(org.users[0]!.mspDir), join(ids, 'User1'));
  const issuer = await createDevIssuer('https://idp.bench.local');
  writeFileSync(join(root, 'jwks.json'), JSON.stringify(issuer.jwks));
  if (init.relay && !net.kafka) throw new Error('startBenchSpecService: a relay needs a network with Kafka');
  const proc = await startServiceProcess({
    name: 'spec-service',
    entry: serviceEntry('spec-service'),
    env: {
      PATH: process.env['PATH'],
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      ...ledgerEnvOf(net, org),
      FABRIC_IDENTITIES_DIR: ids,
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: 'twinledger',
      AUTH_JWKS_FILE: join(root, 'jwks.json'),
      DHT_GATEWAY_URL: 'http://127.0.0.1:9',
      DHT_TOKEN_FILE: join(root, 'unused-dht.token'),
      KAFKA_BROKERS: init.relay ? net.kafka!.bootstrap : '127.0.0.1:9',
      RELAY_ENABLED: String(init.relay),
      DATA_DIR: join(root, 'spec-state'),
    },
    ...(init.readyTimeoutMs !== undefined ? { readyTimeoutMs: init.readyTimeoutMs } : {}),
  });
  const token = await issuer.issue({ sub: 'bench', org: org.mspId, fabricIdentity: 'User1', audience: 'twinledger' });
  return { proc, url: proc.url, token };
}
