import { createDhtNode, parseSwarmKey, readHexKeyFile, readSwarmKeyFile, type DhtNode } from '@twinledger/dht';
import { createMetricsRegistry, type Logger } from '@twinledger/observability';
import { openPartyRegistry, partySourceFromEnv } from '@twinledger/party-registry';
import type { ServiceApp } from '@twinledger/service-kit';
import { buildApp } from './app.js';
import { gatewayVerifier } from './auth.js';
import type { DhtGatewayEnv } from './config.js';

export interface DhtGateway {
  readonly app: ServiceApp;
  readonly node: DhtNode;
  /** Releases everything after the server stopped taking requests. */
  close(): Promise<void>;
}

/** Wires the gateway from its configuration (config.ts): keys, party registry, the DHT node, the REST app. */
export async function startDhtGateway(cfg: DhtGatewayEnv, logger: Logger): Promise<DhtGateway> {
  const metrics = createMetricsRegistry({ prefix: 'twinledger_' });
  const swarmKey = cfg.DHT_SWARM_KEY !== undefined ? parseSwarmKey(cfg.DHT_SWARM_KEY, 'DHT_SWARM_KEY') : await readSwarmKeyFile(cfg.DHT_SWARM_KEY_FILE as string);
  const { registry, close: closeRegistry } = await openPartyRegistry(partySourceFromEnv(cfg, cfg.MSP_ID), logger);
  const encryptionKey = await readHexKeyFile(cfg.DHT_ENCRYPTION_KEY_FILE);
  const node = createDhtNode(
    {
      dataDir: cfg.DATA_DIR,
      mspId: cfg.MSP_ID,
      encryptionKey,
      swarmKey,
      listen: cfg.DHT_LISTEN,
      dataChannel: cfg.DHT_DATA_CHANNEL,
      dataChannelMetadata: cfg.DHT_DATA_CHANNEL_METADATA,
      dataListen: { port: cfg.DHT_DATA_PORT },
      bootstrap: cfg.DHT_BOOTSTRAP,
      replicationFactor: cfg.DHT_REPLICATION,
      faultTolerance: cfg.DHT_FAULT_TOLERANCE,
      chunkSize: cfg.DHT_CHUNK_SIZE,
      requestTimeoutMs: cfg.DHT_REQUEST_TIMEOUT_MS,
      repairIntervalMs: cfg.DHT_REPAIR_INTERVAL_MS,
      orphanGraceMs: cfg.DHT_ORPHAN_GRACE_MS,
      gcIntervalMs: cfg.DHT_GC_INTERVAL_MS,
      maxObjectBytes: cfg.MAX_OBJECT_BYTES,
    },
    { registry, logger, metricsRegistry: metrics },
  );
  await node.start();
  const app = await buildApp({ node, logger, metrics, auth: gatewayVerifier(cfg), maxObjectBytes: cfg.MAX_OBJECT_BYTES });
  return {
    app,
    node,
    async close() {
      await node.stop();
      closeRegistry();
    },
  };
}
