import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createIdentityRegistry } from '@twinledger/auth-identity';
import { bool, int, list, loadEnv, oneOf, optionalStr, str } from '@twinledger/config';
import { createDhtClient } from '@twinledger/dht-client';
import { checkpointFile, createPeerConnectionPool } from '@twinledger/fabric-client';
import { createIdempotentProducer, createKafka, ensureTopics, TOPICS } from '@twinledger/kafka';
import { createTwinLedger } from '@twinledger/ledger';
import { Histogram, createLogger, createMetricsRegistry } from '@twinledger/observability';
import { createJwtVerifier, runService } from '@twinledger/service-kit';
import type { JSONWebKeySet } from 'jose';
import { buildApp } from './app.js';
import { createEventHub } from './domain/event-hub.js';
import { createEventRelay } from './domain/event-relay.js';
import { createLedgerJournal } from './domain/ledger-journal.js';

const env = loadEnv({
  HOST: str({ default: '127.0.0.1' }),
  PORT: int({ default: 7300, min: 0, max: 65535 }),
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
  DHT_GATEWAY_URL: str(),
  KAFKA_BROKERS: list(),
  RELAY_ENABLED: bool({ default: true }),
  RELAY_IDENTITY: str({ default: 'User1' }),
  STATE_DIR: str(),
  AML_MAX_BYTES: int({ default: 8 * 1024 * 1024, min: 1024 }),
  DOCUMENT_MAX_BYTES: int({ default: 64 * 1024 * 1024, min: 1024 }),
  MVCC_ATTEMPTS: int({ default: 3, min: 1, max: 10 }),
});

const logger = createLogger({ name: 'spec-service', level: env.LOG_LEVEL });
const metrics = createMetricsRegistry({ prefix: 'twinledger_' });
const gatewayLatency = new Histogram({
  name: 'spec_service_gateway_call_seconds',
  help: 'Fabric Gateway call latency by chaincode function, kind and outcome',
  labelNames: ['fn', 'kind', 'outcome'],
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metrics],
});

const pool = createPeerConnectionPool();
const peer = { endpoint: env.PEER_ENDPOINT, tlsRootCertPath: env.PEER_TLS_ROOT_CERT, ...(env.PEER_HOST_ALIAS ? { hostAlias: env.PEER_HOST_ALIAS } : {}) };
const identities = createIdentityRegistry({
  mspId: env.MSP_ID,
  identitiesDir: env.FABRIC_IDENTITIES_DIR,
  pool,
  peer,
  channel: env.CHANNEL,
  chaincode: env.CHAINCODE,
  onCall: (fn, kind, seconds, outcome) => gatewayLatency.observe({ fn, kind, outcome }, seconds),
});

const hub = createEventHub();
const journal = createLedgerJournal(join(env.STATE_DIR, 'ledger-journal.jsonl'));
const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: `spec-service-${env.MSP_ID}`, logger });
const producer = createIdempotentProducer(kafka);

let relay: ReturnType<typeof createEventRelay> | undefined;
if (env.RELAY_ENABLED) {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic: TOPICS.ledgerEvents }]);
  await admin.disconnect();
  await producer.connect();
  relay = createEventRelay({
    client: await identities.clientByName(env.RELAY_IDENTITY),
    checkpointer: await checkpointFile(join(env.STATE_DIR, 'event-checkpoint.json')),
    producer,
    hub,
    journal,
    logger,
    metrics,
  });
  await relay.start();
}

const relayClient = await identities.clientByName(env.RELAY_IDENTITY);
const app = await buildApp({
  logger,
  metrics,
  auth: createJwtVerifier({ issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, jwks: JSON.parse(readFileSync(env.AUTH_JWKS_FILE, 'utf8')) as JSONWebKeySet }),
  ledgerFor: async (principal) => createTwinLedger(await identities.clientFor(principal)),
  dht: createDhtClient({ baseUrl: env.DHT_GATEWAY_URL }),
  hub,
  journal,
  limits: { amlBytes: env.AML_MAX_BYTES, documentBytes: env.DOCUMENT_MAX_BYTES },
  mvccAttempts: env.MVCC_ATTEMPTS,
  readiness: [
    // The peer answers a trivial read: reachable, and our identity is known to the channel.
    { name: 'peer', check: async () => (await relayClient.evaluate('acl:listParties', []).then(() => true)) },
    ...(relay ? [{ name: 'event-relay', check: async () => relay!.connected }] : []),
  ],
});

await runService({
  app,
  host: env.HOST,
  port: env.PORT,
  onClose: async () => {
    await relay?.stop();
    await producer.disconnect().catch(() => undefined);
    identities.close();
    pool.close();
  },
});
