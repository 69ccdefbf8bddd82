import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createIdentityRegistry } from '@twinledger/auth-identity';
import { int, loadEnv, oneOf, optionalStr, str } from '@twinledger/config';
import { createDhtClient } from '@twinledger/dht-client';
import { createPeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { Histogram, createLogger, createMetricsRegistry } from '@twinledger/observability';
import { createJwtVerifier, runService } from '@twinledger/service-kit';
import type { JSONWebKeySet } from 'jose';
import { buildApp } from './app.js';
import { createAuthorizer } from './domain/authorizer.js';
import { createGrantWatcher } from './domain/grant-watcher.js';
import { createKeyManager } from './domain/key-manager.js';

const env = loadEnv({
  HOST: str({ default: '127.0.0.1' }),
  PORT: int({ default: 7301, min: 0, max: 65535 }),
  LOG_LEVEL: oneOf(['trace', 'debug', 'info', 'warn', 'error'], { default: 'info' }),
  MSP_ID: str(),
  FABRIC_IDENTITIES_DIR: str(),
  PEER_ENDPOINT: str(),
  PEER_TLS_ROOT_CERT: str(),
  PEER_HOST_ALIAS: optionalStr(),
  CHANNEL: str({ default: 'twins' }),
  CHAINCODE: str({ default: 'twinledger' }),
  AUTH_ISSUER: str(),
  AUTH_AUDIENCE: str({ default: 'twinledger' }),
  AUTH_JWKS_FILE: str(),
  SERVICE_IDENTITY: str({ default: 'User1' }),
  AUTHZ_CACHE_TTL_MS: int({ default: 30_000, min: 0, max: 3_600_000 }),
  DHT_GATEWAY_URL: optionalStr(),
  DHT_TOKEN_FILE: optionalStr(),
  MVCC_ATTEMPTS: int({ default: 3, min: 1, max: 10 }),
});

const logger = createLogger({ name: 'acl-service', level: env.LOG_LEVEL });
const metrics = createMetricsRegistry({ prefix: 'twinledger_' });
const gatewayLatency = new Histogram({
  name: 'acl_service_gateway_call_seconds',
  help: 'Fabric Gateway call latency by chaincode function, kind and outcome',
  labelNames: ['fn', 'kind', 'outcome'],
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metrics],
});
const pool = createPeerConnectionPool();
const identities = createIdentityRegistry({
  mspId: env.MSP_ID,
  identitiesDir: env.FABRIC_IDENTITIES_DIR,
  pool,
  peer: { endpoint: env.PEER_ENDPOINT, tlsRootCertPath: env.PEER_TLS_ROOT_CERT, ...(env.PEER_HOST_ALIAS ? { hostAlias: env.PEER_HOST_ALIAS } : {}) },
  channel: env.CHANNEL,
  chaincode: env.CHAINCODE,
  onCall: (fn, kind, seconds, outcome) => gatewayLatency.observe({ fn, kind, outcome }, seconds),
});
const serviceClient = await identities.clientByName(env.SERVICE_IDENTITY);
const serviceLedger = createTwinLedger(serviceClient);
const authorizer = createAuthorizer({ ledger: serviceLedger, ttlMs: env.AUTHZ_CACHE_TTL_MS, metrics });
const tokenFile = env.DHT_TOKEN_FILE;
const keys = env.DHT_GATEWAY_URL
  ? createKeyManager({
      ledger: serviceLedger,
      dht: createDhtClient({ baseUrl: env.DHT_GATEWAY_URL }),
      // Re-read per sync: the workload token is rotated by whoever mounts it.
      dhtToken: async () => (tokenFile ? (await readFile(tokenFile, 'utf8')).trim() : undefined),
      logger,
    })
  : undefined;
const watcher = createGrantWatcher({ client: serviceClient, authorizer, keys, logger });
await watcher.start();

const app = await buildApp({
  logger,
  metrics,
  auth: createJwtVerifier({ issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, jwks: JSON.parse(readFileSync(env.AUTH_JWKS_FILE, 'utf8')) as JSONWebKeySet }),
  ledgerFor: async (principal) => createTwinLedger(await identities.clientFor(principal)),
  authorizer,
  keys,
  mvccAttempts: env.MVCC_ATTEMPTS,
  readiness: [
    { name: 'peer', check: async () => serviceLedger.listParties().then(() => true) },
    { name: 'ledger-events', check: async () => watcher.connected },
  ],
});

await runService({
  app,
  host: env.HOST,
  port: env.PORT,
  onClose: async () => {
    await watcher.stop();
    identities.close();
    pool.close();
  },
});
