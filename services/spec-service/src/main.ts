import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAuditBundleExporter, createQsccBlockReader } from '@twinledger/audit';
import { createAccessDecisions, createObservedIdentities, DEFAULT_AUTH_DECISION_TTL_MS, type LedgerServiceConfig, type PeerHealthConfig } from '@twinledger/ledger-gateway';
import { ConfigError } from '@twinledger/config';
import { createDhtClient, type DhtClient } from '@twinledger/dht-client';
import { checkpointFile } from '@twinledger/fabric-client';
import { createIdempotentProducer, createKafka, ensureTopics, TOPICS } from '@twinledger/kafka';
import { createTwinLedger } from '@twinledger/ledger';
import { createMetricsRegistry, type Logger } from '@twinledger/observability';
import { createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { buildApp, DEFAULT_SPEC_CACHE_CHARS } from './app.js';
import { DEFAULT_READ_CACHE } from './config.js';
import { createReadModel } from './domain/read-model.js';
import { createEventHub } from './domain/event-hub.js';
import { createEventRelay, type EventRelay } from './domain/event-relay.js';
import { createLedgerJournal } from './domain/ledger-journal.js';
import { createSpecCache } from './domain/spec-cache.js';

export interface SpecServiceConfig extends LedgerServiceConfig {
  /** The org's dht-gateway; or a DhtClient (tests). */
  readonly dht: string | DhtClient;
  /**
   * File holding this service's credential for the dht-gateway (audience DHT_AUTH_AUDIENCE,
   * `svc: spec-service`); re-read on every call, so whoever mounts it rotates it. Required
   * with a gateway URL.
   */
  readonly dhtTokenFile?: string;
  readonly kafkaBrokers: readonly string[];
  readonly relay: boolean;
  readonly relayIdentity: string;
  /** Event checkpoint and the relay journal live here. */
  readonly dataDir: string;
  readonly amlMaxBytes?: number;
  readonly documentMaxBytes?: number;
  readonly mvccAttempts?: number;
  /** See AppDeps.specCacheChars. */
  readonly specCacheChars?: number;
  /** How the peer is probed (PEER_PROBE_*); defaults: every 1000 ms, 400 ms deadline. */
  readonly peerHealth?: Partial<PeerHealthConfig>;
  /** AUTH_DECISION_TTL_MS: how long a cached access decision lives without a grant event; default 30000. */
  readonly authDecisionTtlMs?: number;
  /** READ_CACHE_MAX_CHARS (0 disables the read model), READ_CACHE_MAX_AGE_MS, READ_FENCE_WAIT_MS; see DEFAULT_READ_CACHE. */
  readonly readCache?: Partial<{ readonly maxChars: number; readonly maxAgeMs: number; readonly fenceWaitMs: number }>;
}

export interface SpecService {
  readonly app: ServiceApp;
  readonly relay: EventRelay | undefined;
  /** Releases everything after the server stopped taking requests. */
  close(): Promise<void>;
}

/** The service credential, read per call: short-lived tokens are rotated on disk. */
function serviceToken(file: string | undefined): () => Promise<string> {
  if (file === undefined) throw new ConfigError('DHT_TOKEN_FILE is required with DHT_GATEWAY_URL: the gateway takes service credentials only', { details: { problems: ['DHT_TOKEN_FILE'] } });
  return async () => (await readFile(file, 'utf8')).trim();
}

/** Wires the service from its configuration (config.ts reads it from the environment). */
export async function startSpecService(cfg: SpecServiceConfig, logger: Logger): Promise<SpecService> {
  const metrics = createMetricsRegistry({ prefix: 'twinledger_' });
  const { identities, pool, health, chain } = createObservedIdentities({
    metricName: 'spec_service_gateway_call_seconds',
    metrics,
    mspId: cfg.mspId,
    identitiesDir: cfg.identitiesDir,
    peer: cfg.peer,
    channel: cfg.channel,
    chaincode: cfg.chaincode,
    peerHealth: { probeIdentity: cfg.relayIdentity, ...cfg.peerHealth, logger },
  });
  health.start();
  const hub = createEventHub();
  const journal = createLedgerJournal(join(cfg.dataDir, 'ledger-journal.jsonl'));
  const serviceClient = await identities.clientByName(cfg.relayIdentity);
  // Blocks for audit bundles: qscc as the relay identity over the same connection. The caller's
  // own history read authorizes each export (routes/audit.ts); qscc hands any channel member
  // whole blocks, so this identity reads nothing it could not read already.
  const qscc = await identities.clientByName(cfg.relayIdentity, { chaincode: 'qscc' });
  const auditBundles = createAuditBundleExporter({ blocks: createQsccBlockReader((fn, args) => qscc.evaluate(fn, args), cfg.channel), channel: cfg.channel, chaincode: cfg.chaincode, mspId: cfg.mspId });

  let relay: EventRelay | undefined;
  let producer: ReturnType<typeof createIdempotentProducer> | undefined;
  if (cfg.relay) {
    const kafka = createKafka({ brokers: cfg.kafkaBrokers, clientId: `spec-service-${cfg.mspId}`, logger });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic: TOPICS.ledgerEvents }]);
    await admin.disconnect();
    producer = createIdempotentProducer(kafka);
    await producer.connect();
    relay = createEventRelay({
      client: serviceClient,
      checkpointer: await checkpointFile(join(cfg.dataDir, 'event-checkpoint.json')),
      producer,
      hub,
      journal,
      logger,
      metrics,
    });
  }

  const specCache = createSpecCache({ maxChars: cfg.specCacheChars ?? DEFAULT_SPEC_CACHE_CHARS });
  const serviceLedger = createTwinLedger(serviceClient);
  const readCache = { ...DEFAULT_READ_CACHE, ...cfg.readCache };
  const decisions = createAccessDecisions({
    check: async (caller, twinId, permission) => (await createTwinLedger(await identities.clientFor(caller)).checkAccess(twinId, permission)).allowed,
    // As the service: the caller may hold a permission that does not list grants (feed:read).
    grantExpiries: async (twinId) => (await serviceLedger.listGrants(twinId)).map((g) => g.expiresAt),
    ttlMs: relay ? (cfg.authDecisionTtlMs ?? DEFAULT_AUTH_DECISION_TTL_MS) : 0,
  });
  // The read model needs the relayed events: a replica that does not relay keeps nothing, and
  // every read asks the peer as its caller (fences still wait, on the peer).
  const reads = createReadModel({
    maxChars: relay ? readCache.maxChars : 0,
    maxAgeMs: readCache.maxAgeMs,
    fenceWaitMs: readCache.fenceWaitMs,
    following: () => relay !== undefined && relay.connected && health.up,
    blockOf: journal.blockOf,
    chain,
    ...(relay?.lastBlock !== undefined ? { startBlock: Number(relay.lastBlock) } : {}),
    streamEpoch: () => relay?.connections ?? 0,
    // A revoke committed while the stream was closed reaches us only with the replayed events: decide again.
    onResume: () => decisions.clear(),
  });
  // One follower (the relay) feeds both: grant events drop decisions, any event of a twin its entries.
  const follow = hub.subscribe((event) => {
    decisions.onLedgerEvent(event);
    reads.onLedgerEvent(event);
  });
  reads.start();
  // Started once the model and the decisions listen, so they see every event it relays.
  await relay?.start();
  // Keep viewed specifications warm: after a relayed event of a cached twin, re-read it (as the
  // relay identity) if its revision moved, so the first viewer after an edit does not wait for
  // the assembly. Each viewer's own revision read still decides what they get.
  const warm = hub.subscribe((event) => {
    if (event.twinId !== undefined) void specCache.refresh(serviceLedger, event.twinId);
  });

  const app = await buildApp({
    logger,
    metrics,
    auth: createJwtVerifier(cfg.auth),
    ledgerFor: async (principal) => createTwinLedger(await identities.clientFor(principal)),
    dht: typeof cfg.dht === 'string' ? createDhtClient({ baseUrl: cfg.dht, token: serviceToken(cfg.dhtTokenFile) }) : cfg.dht,
    hub,
    relaying: () => relay !== undefined,
    journal,
    auditBundles,
    limits: { ...(cfg.amlMaxBytes ? { amlBytes: cfg.amlMaxBytes } : {}), ...(cfg.documentMaxBytes ? { documentBytes: cfg.documentMaxBytes } : {}) },
    ...(cfg.mvccAttempts ? { mvccAttempts: cfg.mvccAttempts } : {}),
    specCache,
    reads,
    decisions,
    readiness: [
      // The health tracker's probe (qscc GetChainInfo as the relay identity): reachable, and our
      // identity reads the channel. Answered from memory, so /readyz never waits on a frozen peer.
      { name: 'peer', check: async () => health.ready },
      ...(relay ? [{ name: 'event-relay', check: async () => relay!.connected }] : []),
    ],
  });

  return {
    app,
    relay,
    async close() {
      warm.unsubscribe();
      follow.unsubscribe();
      reads.stop();
      await relay?.stop();
      await producer?.disconnect().catch(() => undefined);
      await health.stop();
      identities.close();
      pool.close();
    },
  };
}
