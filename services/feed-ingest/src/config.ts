import { ConfigError, int, list, str, type EnvOf } from '@twinledger/config';
import { TOPICS } from '@twinledger/kafka';
import { partyRegistryEnv, partySourceFromEnv } from '@twinledger/party-registry';
import { authEnv, authFromEnv, dhtNodeEnv, serviceEnv } from '@twinledger/service-kit';
import type { FeedIngestProcessConfig } from './main.js';

/** Defaults of the instance settings, shared by the env below and by callers of createFeedIngest (tests, bench). */
export const DEFAULTS = {
  readingsTopic: TOPICS.readings,
  deadLetterTopic: TOPICS.deadLetter,
  topicPartitions: 3,
  maxSegmentReadings: 50_000,
  maxSegmentAgeMs: 250,
  fetchMinBytes: 256 * 1024,
  fetchMaxWaitMs: 50,
  maxBufferedReadings: 400_000,
  maxBacklogMessages: 20_000,
  readingsPerMessage: 500,
  maxReadingsPerRequest: 10_000,
  maxReadingsPerQuery: 100_000,
  bodyLimitBytes: 4 * 1024 * 1024,
  retryAfterSeconds: 2,
  streamPollMs: 500,
  latencySampleEvery: 100,
  authDecisionTtlMs: 5000,
  feedAclReconcileMs: 15_000,
  feedAnchorPeriodMs: 60_000,
  feedAnchorMaxPending: 0,
  feedAnchorMinIntervalMs: 60_000,
  feedAnchorMaxUpdates: 100_000,
} as const;

/**
 * feed-ingest's environment, defined once: server.ts loads it, the consortium launcher and the
 * Helm chart's env-contract test (test/chart.int.test.ts) read the names from here.
 */
export const feedIngestEnv = {
  ...serviceEnv({ port: 8084 }),
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
  ...dhtNodeEnv,
  DHT_SWARM_KEY_FILE: str(),
  // The party registry: the ledger (PEER_ENDPOINT and a client identity) or a static file.
  ...partyRegistryEnv,
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
};
export type FeedIngestEnv = EnvOf<typeof feedIngestEnv>;

/**
 * The rules the parsers alone cannot check, at boot (CONFIG_INVALID naming each variable): the
 * ledger decides feed access, so the peer that the shared party-registry env leaves optional is
 * required here (issue #17).
 */
export function checkFeedIngestEnv(env: FeedIngestEnv): FeedIngestEnv {
  const problems = (['PEER_ENDPOINT', 'PEER_TLS_ROOT_CERT'] as const).filter((k) => env[k] === undefined);
  if (problems.length > 0) {
    throw new ConfigError(`feed-ingest needs the ledger: set ${problems.join(' and ')}`, { details: { problems } });
  }
  return env;
}

/** The process's configuration from its loaded environment; an incomplete ledger or party source stops the boot. */
export function feedIngestConfig(env: FeedIngestEnv): FeedIngestProcessConfig {
  checkFeedIngestEnv(env);
  return {
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
    // The peer is always configured now; a static PARTY_REGISTRY_FILE still wins for DHT membership.
    partySource: env.PARTY_REGISTRY_FILE !== undefined ? { file: env.PARTY_REGISTRY_FILE } : partySourceFromEnv(env, env.MSP_ID),
    dht: {
      listen: env.DHT_LISTEN,
      bootstrap: env.DHT_BOOTSTRAP,
      swarmKeyFile: env.DHT_SWARM_KEY_FILE,
      encryptionKeyFile: env.DHT_ENCRYPTION_KEY_FILE,
      replicationFactor: env.DHT_REPLICATION,
      dataChannel: env.DHT_DATA_CHANNEL,
      dataChannelMetadata: env.DHT_DATA_CHANNEL_METADATA,
      dataPort: env.DHT_DATA_PORT,
    },
    ledger: {
      identitiesDir: env.FABRIC_IDENTITIES_DIR,
      peer: { endpoint: env.PEER_ENDPOINT!, tlsRootCertPath: env.PEER_TLS_ROOT_CERT!, ...(env.PEER_HOST_ALIAS ? { hostAlias: env.PEER_HOST_ALIAS } : {}) },
      channel: env.CHANNEL,
      chaincode: env.CHAINCODE,
      serviceIdentity: env.SERVICE_IDENTITY,
    },
    auth: authFromEnv(env, { expectedOrg: env.MSP_ID }),
  };
}
