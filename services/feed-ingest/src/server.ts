import { join } from 'node:path';
import { createObservedIdentities } from '@twinledger/ledger-gateway';
import { bool, int, list, loadEnv, oneOf, optionalStr, str } from '@twinledger/config';
import { ValidationError } from '@twinledger/errors';
import { createTwinLedger } from '@twinledger/ledger';
import { createDhtNode, readHexKeyFile, readSwarmKeyFile } from '@twinledger/dht';
import { openPartyRegistry, partyRegistryEnv, partySourceFromEnv } from '@twinledger/party-registry';
import { createLogger, createMetricsRegistry } from '@twinledger/observability';
import { authEnv, authFromEnv, createJwtVerifier, runService } from '@twinledger/service-kit';
import { createFeedIngest, DEFAULTS } from './runtime.js';

const env = loadEnv({
  HOST: str({ default: '127.0.0.1' }),
  PORT: int({ default: 8084, min: 0, max: 65535 }),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], { default: 'info' }),
  MSP_ID: str(),
  DATA_DIR: str(),
  KAFKA_BROKERS: list(),
  KAFKA_GROUP_ID: str({ default: 'feed-ingest' }),
  READINGS_TOPIC: str({ default: DEFAULTS.readingsTopic }),
  DEAD_LETTER_TOPIC: str({ default: DEFAULTS.deadLetterTopic }),
  TOPIC_PARTITIONS: int({ default: DEFAULTS.topicPartitions, min: 1, max: 256 }),
  SEGMENT_MAX_READINGS: int({ default: DEFAULTS.maxSegmentReadings, min: 1, max: 1_000_000 }),
  SEGMENT_MAX_AGE_MS: int({ default: DEFAULTS.maxSegmentAgeMs, min: 10, max: 600_000 }),
  FETCH_MIN_BYTES: int({ default: DEFAULTS.fetchMinBytes, min: 1, max: 4 * 1024 * 1024 }),
  FETCH_MAX_WAIT_MS: int({ default: DEFAULTS.fetchMaxWaitMs, min: 1, max: 10_000 }),
  MAX_BUFFERED_READINGS: int({ default: DEFAULTS.maxBufferedReadings, min: 1000 }),
  MAX_BACKLOG_MESSAGES: int({ default: DEFAULTS.maxBacklogMessages, min: 1 }),
  READINGS_PER_MESSAGE: int({ default: DEFAULTS.readingsPerMessage, min: 1, max: 10_000 }),
  MAX_READINGS_PER_REQUEST: int({ default: DEFAULTS.maxReadingsPerRequest, min: 1, max: 100_000 }),
  MAX_READINGS_PER_QUERY: int({ default: DEFAULTS.maxReadingsPerQuery, min: 1 }),
  BODY_LIMIT_BYTES: int({ default: DEFAULTS.bodyLimitBytes, min: 1024 }),
  RETRY_AFTER_SECONDS: int({ default: DEFAULTS.retryAfterSeconds, min: 1 }),
  STREAM_POLL_MS: int({ default: DEFAULTS.streamPollMs, min: 50 }),
  LATENCY_SAMPLE_EVERY: int({ default: DEFAULTS.latencySampleEvery, min: 1 }),
  ...authEnv,
  DHT_LISTEN: list({ default: ['/ip4/127.0.0.1/tcp/0'] }),
  DHT_BOOTSTRAP: list({ default: [] }),
  DHT_SWARM_KEY_FILE: str(),
  DHT_ENCRYPTION_KEY_FILE: str(),
  // The data channel for sealed chunk bodies (ADR-21; false: noise + pnet for every byte) and its TCP port (0: any).
  DHT_DATA_CHANNEL: bool({ default: true }),
  DHT_DATA_PORT: int({ default: 0, min: 0, max: 65535 }),
  // The party registry: the ledger (PEER_ENDPOINT and a client identity) or a static file.
  ...partyRegistryEnv,
  DHT_REPLICATION: int({ default: 3, min: 1 }),
  // The ledger decides who may read or write feeds: callers' identities (token claim
  // fabric_identity -> MSP folder), the service's own identity for grants.
  FABRIC_IDENTITIES_DIR: str(),
  SERVICE_IDENTITY: str({ default: 'User1' }),
  AUTH_DECISION_TTL_MS: int({ default: DEFAULTS.authDecisionTtlMs, min: 0, max: 60_000 }),
  FEED_ACL_RECONCILE_MS: int({ default: DEFAULTS.feedAclReconcileMs, min: 1000, max: 3_600_000 }),
  // Feed anchors (ADR-18): period 0 turns anchoring off; the interval floor keeps it at most one
  // transaction per feed per FEED_ANCHOR_MIN_INTERVAL_MS whatever the count trigger says.
  FEED_ANCHOR_PERIOD_MS: int({ default: DEFAULTS.feedAnchorPeriodMs, min: 0, max: 86_400_000 }),
  FEED_ANCHOR_MAX_PENDING: int({ default: DEFAULTS.feedAnchorMaxPending, min: 0, max: 1_000_000 }),
  FEED_ANCHOR_MIN_INTERVAL_MS: int({ default: DEFAULTS.feedAnchorMinIntervalMs, min: 1000, max: 86_400_000 }),
  FEED_ANCHOR_MAX_UPDATES: int({ default: DEFAULTS.feedAnchorMaxUpdates, min: 1, max: 1_000_000 }),
  STATUS_FILE: optionalStr(),
});

const logger = createLogger({ name: 'feed-ingest', level: env.LOG_LEVEL });

if (env.PEER_ENDPOINT === undefined || env.PEER_TLS_ROOT_CERT === undefined) {
  throw new ValidationError('feed-ingest needs the ledger: set PEER_ENDPOINT and PEER_TLS_ROOT_CERT');
}
// The peer is always configured now; a static PARTY_REGISTRY_FILE still wins for DHT membership.
const partySource = env.PARTY_REGISTRY_FILE !== undefined ? { file: env.PARTY_REGISTRY_FILE } : partySourceFromEnv(env, env.MSP_ID);
const { registry, close: closeRegistry } = await openPartyRegistry(partySource, logger);
// One registry for the service and its embedded DHT node: /metrics shows the node's replica
// health and store/append timings (twinledger_dht_*) next to the ingest path's own.
const metrics = createMetricsRegistry({ prefix: 'twinledger_feed_ingest_' });
const dht = createDhtNode(
  {
    dataDir: join(env.DATA_DIR, 'dht'),
    mspId: env.MSP_ID,
    // One parser for the key files of every DHT service (swarm-key file or bare hex; 64 hex digits).
    encryptionKey: await readHexKeyFile(env.DHT_ENCRYPTION_KEY_FILE),
    swarmKey: await readSwarmKeyFile(env.DHT_SWARM_KEY_FILE),
    listen: env.DHT_LISTEN,
    dataChannel: env.DHT_DATA_CHANNEL,
    dataListen: { port: env.DHT_DATA_PORT },
    bootstrap: env.DHT_BOOTSTRAP,
    replicationFactor: env.DHT_REPLICATION,
  },
  { registry, logger, metricsRegistry: metrics },
);
await dht.start();

const { identities, pool } = createObservedIdentities({
  metricName: 'twinledger_feed_ingest_gateway_call_seconds',
  metrics,
  mspId: env.MSP_ID,
  identitiesDir: env.FABRIC_IDENTITIES_DIR,
  peer: { endpoint: env.PEER_ENDPOINT, tlsRootCertPath: env.PEER_TLS_ROOT_CERT, ...(env.PEER_HOST_ALIAS ? { hostAlias: env.PEER_HOST_ALIAS } : {}) },
  channel: env.CHANNEL,
  chaincode: env.CHAINCODE,
});
const serviceLedger = createTwinLedger(await identities.clientByName(env.SERVICE_IDENTITY));

const runtime = await createFeedIngest(
  {
    mspId: env.MSP_ID,
    dataDir: env.DATA_DIR,
    brokers: env.KAFKA_BROKERS,
    groupId: env.KAFKA_GROUP_ID,
    readingsTopic: env.READINGS_TOPIC,
    deadLetterTopic: env.DEAD_LETTER_TOPIC,
    topicPartitions: env.TOPIC_PARTITIONS,
    maxSegmentReadings: env.SEGMENT_MAX_READINGS,
    maxSegmentAgeMs: env.SEGMENT_MAX_AGE_MS,
    fetchMinBytes: env.FETCH_MIN_BYTES,
    fetchMaxWaitMs: env.FETCH_MAX_WAIT_MS,
    maxBufferedReadings: env.MAX_BUFFERED_READINGS,
    maxBacklogMessages: env.MAX_BACKLOG_MESSAGES,
    readingsPerMessage: env.READINGS_PER_MESSAGE,
    maxReadingsPerRequest: env.MAX_READINGS_PER_REQUEST,
    maxReadingsPerQuery: env.MAX_READINGS_PER_QUERY,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    retryAfterSeconds: env.RETRY_AFTER_SECONDS,
    streamPollMs: env.STREAM_POLL_MS,
    latencySampleEvery: env.LATENCY_SAMPLE_EVERY,
    authDecisionTtlMs: env.AUTH_DECISION_TTL_MS,
    feedAclReconcileMs: env.FEED_ACL_RECONCILE_MS,
    feedAnchor: {
      periodMs: env.FEED_ANCHOR_PERIOD_MS,
      maxPendingUpdates: env.FEED_ANCHOR_MAX_PENDING,
      minIntervalMs: env.FEED_ANCHOR_MIN_INTERVAL_MS,
      maxUpdatesPerAnchor: env.FEED_ANCHOR_MAX_UPDATES,
    },
  },
  {
    dht,
    parties: registry,
    ledger: { identities, serviceLedger },
    logger,
    metrics,
    auth: createJwtVerifier(authFromEnv(env, { expectedOrg: env.MSP_ID })),
  },
);

await runService({
  app: runtime.app,
  host: env.HOST,
  port: env.PORT,
  ready: () => ({ peerId: dht.peerId, multiaddrs: dht.multiaddrs() }),
  onClose: async () => {
    await runtime.close();
    await dht.stop();
    identities.close();
    pool.close();
    closeRegistry();
  },
});
const address = runtime.app.server.address();
logger.info({ peerId: dht.peerId, multiaddrs: dht.multiaddrs(), address }, 'feed-ingest listening');
