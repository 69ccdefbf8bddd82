// feed-ingest's environment as checked at boot (config.ts): the rules the parsers cannot see,
// and how the environment becomes the process's configuration.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadEnv } from '@twinledger/config';
import { createDevIssuer } from '@twinledger/service-kit';
import { checkFeedIngestEnv, feedIngestConfig, feedIngestEnv } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'feed-ingest-config-'));
const jwks = join(dir, 'jwks.json');
writeFileSync(jwks, JSON.stringify((await createDevIssuer('https://idp.test')).jwks));

/** What every deployment sets (the chart, the consortium launcher). */
const base = {
  MSP_ID: 'Org1MSP',
  DATA_DIR: '/var/lib/feed-ingest',
  KAFKA_BROKERS: 'k1:9092,k2:9092',
  AUTH_ISSUER: 'https://idp.test',
  AUTH_JWKS_FILE: jwks,
  DHT_SWARM_KEY_FILE: '/etc/swarm.key',
  DHT_ENCRYPTION_KEY_FILE: '/etc/enc.key',
  FABRIC_IDENTITIES_DIR: '/etc/identities',
  FABRIC_CERT_FILE: '/etc/cert.pem',
  FABRIC_KEY_FILE: '/etc/key.pem',
};

describe('feed-ingest config', () => {
  it('refuses to start without the peer (the ledger decides feed access), naming each variable', () => {
    expect(() => checkFeedIngestEnv(loadEnv(feedIngestEnv, base))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { problems: ['PEER_ENDPOINT', 'PEER_TLS_ROOT_CERT'] } }));
    expect(() => feedIngestConfig(loadEnv(feedIngestEnv, { ...base, PEER_ENDPOINT: 'peer0:7051' }))).toThrow(expect.objectContaining({ details: { problems: ['PEER_TLS_ROOT_CERT'] } }));
  });

  it('reads the env once into the process configuration: defaults, ledger, DHT, party source', () => {
    const env = loadEnv(feedIngestEnv, { ...base, PEER_ENDPOINT: 'peer0:7051', PEER_TLS_ROOT_CERT: '/etc/tls.crt', PORT: '0' });
    expect(env).toMatchObject({ HOST: '127.0.0.1', PORT: 0, LOG_LEVEL: 'info' });
    const cfg = feedIngestConfig(env);
    expect(cfg).toMatchObject({
      mspId: 'Org1MSP',
      dataDir: '/var/lib/feed-ingest',
      brokers: ['k1:9092', 'k2:9092'],
      topicPartitions: 3,
      ledger: { identitiesDir: '/etc/identities', peer: { endpoint: 'peer0:7051', tlsRootCertPath: '/etc/tls.crt' }, channel: 'twins', chaincode: 'twinledger', serviceIdentity: 'User1' },
      dht: { swarmKeyFile: '/etc/swarm.key', encryptionKeyFile: '/etc/enc.key', replicationFactor: 3 },
      auth: { issuer: 'https://idp.test', expectedOrg: 'Org1MSP' },
    });
    // The party registry on the ledger, as the service's registry identity.
    expect(cfg.partySource).toMatchObject({ ledger: { mspId: 'Org1MSP', peerEndpoint: 'peer0:7051', certFile: '/etc/cert.pem' } });
    // A static registry file still wins for DHT membership.
    expect(feedIngestConfig({ ...env, PARTY_REGISTRY_FILE: '/etc/parties.json' }).partySource).toEqual({ file: '/etc/parties.json' });
  });
});
