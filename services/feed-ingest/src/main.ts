import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { blockNumberOfTx, createQsccBlockReader } from '@twinledger/audit';
import { createObservedIdentities, type IdentityRegistry } from '@twinledger/ledger-gateway';
import { createDhtNode, readHexKeyFile, readSwarmKeyFile, signingKeyFromSeed, type DhtNode, type PartyRegistry } from '@twinledger/dht';
import type { PeerEndpoint } from '@twinledger/fabric-client';
import { createTwinLedger, type TwinLedger } from '@twinledger/ledger';
import { createIdempotentProducer, createKafka, ensureTopics, type Admin, type Producer } from '@twinledger/kafka';
import { createMetricsRegistry, type Logger, type Registry } from '@twinledger/observability';
import { openPartyRegistry, type PartySourceConfig } from '@twinledger/party-registry';
import { createJwtVerifier, type JwtVerifierInit, type ServiceApp, type TokenVerifier } from '@twinledger/service-kit';
import { buildApp } from './app.js';
import { DEFAULTS } from './config.js';
import { createFeedAccess } from './domain/feed-access.js';
import { createFeedAclReconciler, type FeedAclReconciler } from './domain/feed-acl-reconciler.js';
import { createFeedAnchorer, type FeedAnchorer, type FeedAnchorerInit } from './domain/feed-anchorer.js';
import { createFeedEvidenceSource, type AnchorBlocks } from './domain/feed-evidence.js';
import { createFeedReader } from './domain/feed-reader.js';
import { openFeedRegistry } from './domain/feed-registry.js';
import { createIngest } from './domain/ingest.js';
import { createFeedAnchorMetrics, createFeedMetrics } from './domain/metrics.js';
import { createSegmentBuilder, type SegmentBuilder } from './domain/segment-builder.js';

/** Everything one feed-ingest instance needs around its DHT node and ledger, already parsed (config.ts). */
export interface FeedIngestConfig {
  readonly mspId: string;
  readonly dataDir: string;
  readonly brokers: readonly string[];
  readonly groupId: string;
  readonly readingsTopic: string;
  readonly deadLetterTopic: string;
  readonly topicPartitions: number;
  readonly maxSegmentReadings: number;
  readonly maxSegmentAgeMs: number;
  readonly fetchMinBytes?: number;
  readonly fetchMaxWaitMs?: number;
  readonly maxBufferedReadings: number;
  readonly maxBacklogMessages: number;
  readonly readingsPerMessage: number;
  readonly maxReadingsPerRequest: number;
  readonly maxReadingsPerQuery: number;
  readonly bodyLimitBytes: number;
  readonly retryAfterSeconds: number;
  readonly streamPollMs: number;
  readonly latencySampleEvery: number;
  /** How long a ledger access decision is reused (REST reads/writes, stream re-checks); default 5000. */
  readonly authDecisionTtlMs?: number;
  /** Pause between passes that bring each feed's DHT ACL in line with the ledger; default 15000. */
  readonly feedAclReconcileMs?: number;
  /** Merkle roots of each feed's update records on the ledger (ADR-18); defaults: DEFAULTS.feedAnchor*. */
  readonly feedAnchor?: Partial<FeedAnchorerInit>;
}

/** The ledger as feed-ingest uses it: as each caller (decisions), and as its own identity (grants). */
export interface FeedIngestLedger {
  /** Maps a caller's token (`fabric_identity`) to the client signing as that identity. */
  readonly identities: Pick<IdentityRegistry, 'clientFor'>;
  /** The service's own identity: reads a twin's grants for its feeds' party sets. */
  readonly serviceLedger: TwinLedger;
  /** Blocks from this organization's peer (qscc, as the service identity): the block of each anchor in readings proofs. Without it, `?proof=true` answers 503 PROOF_UNAVAILABLE. */
  readonly blocks?: AnchorBlocks;
}

export interface FeedIngestRuntime {
  readonly app: ServiceApp;
  readonly builder: SegmentBuilder;
  readonly producer: Producer;
  readonly metrics: Registry;
  readonly reconciler: FeedAclReconciler;
  readonly anchorer: FeedAnchorer;
  close(): Promise<void>;
}

/** The feed owner key: an Ed25519 seed held by the organization, created once, kept 0600. */
export async function loadOrCreateOwnerKey(file: string): Promise<Uint8Array> {
  try {
    const seed = new Uint8Array(await readFile(file));
    if (seed.length !== 32) throw new Error(`${file} must hold a 32-byte Ed25519 seed`);
    return seed;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dirname(file), { recursive: true });
    const seed = new Uint8Array(randomBytes(32));
    await writeFile(file, seed, { mode: 0o600, flag: 'wx' });
    return seed;
  }
}

/**
 * Wires an instance around an embedded, started DHT node of this organization. The caller owns
 * the node (starts and stops it); close() stops the consumer, producer and admin.
 */
export async function createFeedIngest(
  config: Readonly<FeedIngestConfig>,
  c: { dht: DhtNode; auth: TokenVerifier; logger: Logger; metrics?: Registry; ledger: FeedIngestLedger; parties: PartyRegistry },
): Promise<FeedIngestRuntime> {
  const metricsRegistry = c.metrics ?? createMetricsRegistry({ prefix: 'twinledger_feed_ingest_' });
  const metrics = createFeedMetrics(metricsRegistry);
  const ownerKey = await loadOrCreateOwnerKey(`${config.dataDir}/owner.key`);
  const ownerPublicKey = signingKeyFromSeed(ownerKey).publicKey;
  const registry = await openFeedRegistry(config.dataDir);
  const kafka = createKafka({ brokers: config.brokers, clientId: `feed-ingest-${config.mspId}`, logger: c.logger });
  const admin: Admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic: config.readingsTopic, partitions: config.topicPartitions },
    { topic: config.deadLetterTopic, partitions: 1 },
  ]);
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const builder = createSegmentBuilder(
    {
      topic: config.readingsTopic,
      deadLetterTopic: config.deadLetterTopic,
      groupId: config.groupId,
      maxSegmentReadings: config.maxSegmentReadings,
      maxSegmentAgeMs: config.maxSegmentAgeMs,
      fetchMinBytes: config.fetchMinBytes ?? DEFAULTS.fetchMinBytes,
      fetchMaxWaitMs: config.fetchMaxWaitMs ?? DEFAULTS.fetchMaxWaitMs,
      maxBufferedReadings: config.maxBufferedReadings,
      latencySampleEvery: config.latencySampleEvery,
    },
    { kafka, producer, dht: c.dht, registry, ownerKey, logger: c.logger, metrics },
  );
  const ingest = createIngest(
    {
      topic: config.readingsTopic,
      groupId: config.groupId,
      maxBacklogMessages: config.maxBacklogMessages,
      readingsPerMessage: config.readingsPerMessage,
      lagIntervalMs: 500,
      retryAfterSeconds: config.retryAfterSeconds,
    },
    { producer, admin, registry, metrics, logger: c.logger },
  );
  const ttlMs = config.authDecisionTtlMs ?? DEFAULTS.authDecisionTtlMs;
  const access = createFeedAccess({ identities: c.ledger.identities, serviceLedger: c.ledger.serviceLedger, parties: c.parties, mspId: config.mspId, ttlMs });
  // 1000: the embedded DHT node's maxRangeEntries (its default), the most one rangeByTime call returns.
  const reader = createFeedReader({ dht: c.dht, registry, access, maxSegmentsPerQuery: 1000 });
  const reconciler = createFeedAclReconciler({ intervalMs: config.feedAclReconcileMs ?? DEFAULTS.feedAclReconcileMs }, { registry, access, dht: c.dht, ownerKey, logger: c.logger });
  const anchorer = createFeedAnchorer(
    {
      periodMs: config.feedAnchor?.periodMs ?? DEFAULTS.feedAnchorPeriodMs,
      maxPendingUpdates: config.feedAnchor?.maxPendingUpdates ?? DEFAULTS.feedAnchorMaxPending,
      minIntervalMs: config.feedAnchor?.minIntervalMs ?? DEFAULTS.feedAnchorMinIntervalMs,
      maxUpdatesPerAnchor: config.feedAnchor?.maxUpdatesPerAnchor ?? DEFAULTS.feedAnchorMaxUpdates,
      ...(config.feedAnchor?.tickMs !== undefined ? { tickMs: config.feedAnchor.tickMs } : {}),
    },
    { registry, dht: c.dht, ledger: c.ledger.serviceLedger, logger: c.logger, metrics: createFeedAnchorMetrics(metricsRegistry) },
  );
  const evidence = createFeedEvidenceSource({ maxIndices: 1000 }, { dht: c.dht, ledger: c.ledger.serviceLedger, ...(c.ledger.blocks ? { blocks: c.ledger.blocks } : {}) });
  const app = await buildApp({
    evidence,
    logger: c.logger,
    metrics: metricsRegistry,
    auth: c.auth,
    mspId: config.mspId,
    dht: c.dht,
    ownerKey,
    ownerPublicKey,
    registry,
    reader,
    ingest,
    builder,
    access,
    limits: {
      maxReadingsPerRequest: config.maxReadingsPerRequest,
      maxReadingsPerQuery: config.maxReadingsPerQuery,
      bodyLimitBytes: config.bodyLimitBytes,
      streamPollMs: config.streamPollMs,
      accessRecheckMs: ttlMs,
    },
  });
  // Before any segment is cut: feeds whose grants changed while the service was down get their
  // new party set first.
  await reconciler.start();
  await builder.start();
  ingest.start();
  anchorer.start();
  return {
    app,
    builder,
    producer,
    metrics: metricsRegistry,
    reconciler,
    anchorer,
    async close() {
      ingest.stop();
      await anchorer.stop();
      await reconciler.stop();
      await builder.stop();
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}

/** The process's configuration (config.ts reads it from the environment): the instance, its DHT node, its ledger, its tokens. */
export interface FeedIngestProcessConfig extends FeedIngestConfig {
  /** Who may connect to the embedded DHT node: the registry on the ledger, or a static file. */
  readonly partySource: PartySourceConfig;
  readonly dht: {
    readonly listen: readonly string[];
    readonly bootstrap: readonly string[];
    readonly swarmKeyFile: string;
    readonly encryptionKeyFile: string;
    readonly replicationFactor: number;
    /** The data channel for sealed chunk bodies (ADR-21) and its TCP port (0: any). */
    readonly dataChannel: boolean;
    readonly dataChannelMetadata: boolean;
    readonly dataPort: number;
  };
  readonly ledger: {
    readonly identitiesDir: string;
    readonly peer: PeerEndpoint;
    readonly channel: string;
    readonly chaincode: string;
    /** The service's own identity in identitiesDir: reads grants for its feeds' party sets. */
    readonly serviceIdentity: string;
  };
  readonly auth: JwtVerifierInit;
}

export interface FeedIngestService {
  readonly app: ServiceApp;
  readonly dht: DhtNode;
  /** Releases everything after the server stopped taking requests. */
  close(): Promise<void>;
}

/** Wires the process: party registry, the embedded DHT node, the ledger identities, then the instance (createFeedIngest). */
export async function startFeedIngest(cfg: FeedIngestProcessConfig, logger: Logger): Promise<FeedIngestService> {
  const { registry, close: closeRegistry } = await openPartyRegistry(cfg.partySource, logger);
  // One registry for the service and its embedded DHT node: /metrics shows the node's replica
  // health and store/append timings (twinledger_dht_*) next to the ingest path's own.
  const metrics = createMetricsRegistry({ prefix: 'twinledger_feed_ingest_' });
  const dht = createDhtNode(
    {
      dataDir: join(cfg.dataDir, 'dht'),
      mspId: cfg.mspId,
      // One parser for the key files of every DHT service (swarm-key file or bare hex; 64 hex digits).
      encryptionKey: await readHexKeyFile(cfg.dht.encryptionKeyFile),
      swarmKey: await readSwarmKeyFile(cfg.dht.swarmKeyFile),
      listen: [...cfg.dht.listen],
      bootstrap: [...cfg.dht.bootstrap],
      replicationFactor: cfg.dht.replicationFactor,
      dataChannel: cfg.dht.dataChannel,
      dataChannelMetadata: cfg.dht.dataChannelMetadata,
      dataListen: { port: cfg.dht.dataPort },
    },
    { registry, logger, metricsRegistry: metrics },
  );
  await dht.start();
  const { identities, pool } = createObservedIdentities({
    metricName: 'twinledger_feed_ingest_gateway_call_seconds',
    metrics,
    mspId: cfg.mspId,
    identitiesDir: cfg.ledger.identitiesDir,
    peer: cfg.ledger.peer,
    channel: cfg.ledger.channel,
    chaincode: cfg.ledger.chaincode,
  });
  const serviceLedger = createTwinLedger(await identities.clientByName(cfg.ledger.serviceIdentity));
  // Anchor blocks for readings proofs: qscc as the service identity, over the same connection.
  const qscc = await identities.clientByName(cfg.ledger.serviceIdentity, { chaincode: 'qscc' });
  const qsccBlocks = createQsccBlockReader((fn, args) => qscc.evaluate(fn, args), cfg.ledger.channel);
  const blocks: AnchorBlocks = { blockNumberOf: (txId) => blockNumberOfTx(qsccBlocks, txId) };
  const instance = await createFeedIngest(cfg, { dht, parties: registry, ledger: { identities, serviceLedger, blocks }, logger, metrics, auth: createJwtVerifier(cfg.auth) });
  return {
    app: instance.app,
    dht,
    async close() {
      await instance.close();
      await dht.stop();
      identities.close();
      pool.close();
      closeRegistry();
    },
  };
}

export { DEFAULTS } from './config.js';
export { createFeedAnchorer } from './domain/feed-anchorer.js';
export type { FeedAnchorer, FeedAnchorerInit } from './domain/feed-anchorer.js';
export { openFeedRegistry } from './domain/feed-registry.js';
export type { FeedRecord, FeedRegistry } from './domain/feed-registry.js';
