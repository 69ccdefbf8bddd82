import { int, list, loadEnv, oneOf, optionalStr, str } from '@twinledger/config';
import { createDhtNode, parseSwarmKey, readHexKeyFile, readSwarmKeyFile } from '@twinledger/dht';
import { ValidationError } from '@twinledger/errors';
import { createLogger, createMetricsRegistry } from '@twinledger/observability';
import { openPartyRegistry, partyRegistryEnv, partySourceFromEnv } from '@twinledger/party-registry';
import { runService } from '@twinledger/service-kit';
import { buildApp } from './app.js';
import { gatewayAuthEnv, gatewayVerifier } from './auth.js';

const env = loadEnv({
  PORT: int({ default: 7400, min: 0, max: 65535 }),
  HOST: str({ default: '127.0.0.1' }),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], { default: 'info' }),
  DATA_DIR: str(),
  MSP_ID: str({ pattern: /^[\w.-]{1,64}$/ }),
  DHT_LISTEN: list({ default: ['/ip4/127.0.0.1/tcp/0'] }),
  DHT_BOOTSTRAP: list({ default: [] }),
  DHT_SWARM_KEY: optionalStr(),
  DHT_SWARM_KEY_FILE: optionalStr(),
  // The party registry: the ledger (PEER_ENDPOINT and a client identity) or a static file.
  ...partyRegistryEnv,
  DHT_ENCRYPTION_KEY_FILE: str(),
  DHT_REPLICATION: int({ default: 3, min: 1, max: 16 }),
  DHT_FAULT_TOLERANCE: int({ default: 1, min: 0, max: 7 }),
  DHT_CHUNK_SIZE: int({ default: 1024 * 1024, min: 1024, max: 1024 * 1024 }),
  DHT_REQUEST_TIMEOUT_MS: int({ default: 10_000, min: 100 }),
  DHT_REPAIR_INTERVAL_MS: int({ default: 60_000, min: 0 }),
  DHT_ORPHAN_GRACE_MS: int({ default: 24 * 3600_000, min: 0 }),
  DHT_GC_INTERVAL_MS: int({ default: 3600_000, min: 0 }),
  MAX_OBJECT_BYTES: int({ default: 1024 ** 3, min: 1, max: 1024 ** 3 }),
  // Service credentials only: the org's issuer, the gateway's own audience (DHT_AUTH_AUDIENCE).
  ...gatewayAuthEnv,
});

const logger = createLogger({ name: 'dht-gateway', level: env.LOG_LEVEL });
const metrics = createMetricsRegistry({ prefix: 'twinledger_' });

if ((env.DHT_SWARM_KEY === undefined) === (env.DHT_SWARM_KEY_FILE === undefined)) {
  throw new ValidationError('set exactly one of DHT_SWARM_KEY and DHT_SWARM_KEY_FILE');
}
const swarmKey = env.DHT_SWARM_KEY !== undefined ? parseSwarmKey(env.DHT_SWARM_KEY, 'DHT_SWARM_KEY') : await readSwarmKeyFile(env.DHT_SWARM_KEY_FILE as string);
const { registry, close: closeRegistry } = await openPartyRegistry(partySourceFromEnv(env, env.MSP_ID), logger);
const encryptionKey = await readHexKeyFile(env.DHT_ENCRYPTION_KEY_FILE);

const node = createDhtNode(
  {
    dataDir: env.DATA_DIR,
    mspId: env.MSP_ID,
    encryptionKey,
    swarmKey,
    listen: env.DHT_LISTEN,
    bootstrap: env.DHT_BOOTSTRAP,
    replicationFactor: env.DHT_REPLICATION,
    faultTolerance: env.DHT_FAULT_TOLERANCE,
    chunkSize: env.DHT_CHUNK_SIZE,
    requestTimeoutMs: env.DHT_REQUEST_TIMEOUT_MS,
    repairIntervalMs: env.DHT_REPAIR_INTERVAL_MS,
    orphanGraceMs: env.DHT_ORPHAN_GRACE_MS,
    gcIntervalMs: env.DHT_GC_INTERVAL_MS,
    maxObjectBytes: env.MAX_OBJECT_BYTES,
  },
  { registry, logger, metricsRegistry: metrics },
);
await node.start();

const app = await buildApp({
  node,
  logger,
  metrics,
  auth: gatewayVerifier(env),
  maxObjectBytes: env.MAX_OBJECT_BYTES,
});
await runService({ app, host: env.HOST, port: env.PORT, ready: () => ({ peerId: node.peerId, dht: node.multiaddrs() }), onClose: async () => {
  await node.stop();
  closeRegistry();
} });
logger.info({ peerId: node.peerId, dht: node.multiaddrs(), port: env.PORT }, 'dht-gateway listening');
