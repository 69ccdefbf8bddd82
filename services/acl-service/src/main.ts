import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createObservedIdentities, type LedgerServiceConfig, type PeerHealthConfig } from '@twinledger/ledger-gateway';
import { createDhtClient, type DhtClient } from '@twinledger/dht-client';
import { createTwinLedger } from '@twinledger/ledger';
import { createMetricsRegistry, type Logger } from '@twinledger/observability';
import { createJwtVerifier, type ServiceApp } from '@twinledger/service-kit';
import { buildApp } from './app.js';
import { createAuthorizer, type Authorizer } from './domain/authorizer.js';
import { createGrantWatcher, type GrantWatcher } from './domain/grant-watcher.js';
import { createKeyManager } from './domain/key-manager.js';
import { createKeyReconciler, type KeyReconciler } from './domain/key-reconciler.js';

export interface AclServiceConfig extends LedgerServiceConfig {
  /** The identity the service itself reads as (authorization decisions, key sync). */
  readonly serviceIdentity: string;
  readonly cacheTtlMs: number;
  /** The org's dht-gateway (URL or client); key management is off without one. */
  readonly dht?: string | DhtClient;
  /** File holding the service's workload token for the dht-gateway, re-read per sync. */
  readonly dhtTokenFile?: string;
  readonly mvccAttempts?: number;
  /**
   * Directory for the service's state (the ledger event checkpoint). Absent: the checkpoint is
   * kept in memory, and after a restart only the start-up reconcile catches up.
   */
  readonly dataDir?: string;
  /** Pause between full key reconciles of every twin; default 30000 ms. */
  readonly keyReconcileMs?: number;
  /** How the peer is probed (PEER_PROBE_*); defaults: every 1000 ms, 400 ms deadline. */
  readonly peerHealth?: Partial<PeerHealthConfig>;
}

export interface AclService {
  readonly app: ServiceApp;
  readonly authorizer: Authorizer;
  readonly watcher: GrantWatcher;
  /** Present when key management is on (cfg.dht). */
  readonly keys?: KeyReconciler;
  close(): Promise<void>;
}

export async function startAclService(cfg: AclServiceConfig, logger: Logger): Promise<AclService> {
  const metrics = createMetricsRegistry({ prefix: 'twinledger_' });
  const { identities, pool, health } = createObservedIdentities({
    metricName: 'acl_service_gateway_call_seconds',
    metrics,
    mspId: cfg.mspId,
    identitiesDir: cfg.identitiesDir,
    peer: cfg.peer,
    channel: cfg.channel,
    chaincode: cfg.chaincode,
    peerHealth: { probeIdentity: cfg.serviceIdentity, ...cfg.peerHealth, logger },
  });
  health.start();
  const serviceClient = await identities.clientByName(cfg.serviceIdentity);
  const serviceLedger = createTwinLedger(serviceClient);
  const authorizer = createAuthorizer({ ledger: serviceLedger, ttlMs: cfg.cacheTtlMs, metrics });
  const tokenFile = cfg.dhtTokenFile;
  const manager =
    cfg.dht === undefined
      ? undefined
      : createKeyManager({
          ledger: serviceLedger,
          dht: typeof cfg.dht === 'string' ? createDhtClient({ baseUrl: cfg.dht }) : cfg.dht,
          // Re-read per sync: the workload token is rotated by whoever mounts it.
          dhtToken: async () => (tokenFile ? (await readFile(tokenFile, 'utf8')).trim() : undefined),
          logger,
        });
  const keys = manager && createKeyReconciler({ keys: manager, intervalMs: cfg.keyReconcileMs ?? 30_000, logger });
  if (cfg.dataDir !== undefined) await mkdir(cfg.dataDir, { recursive: true });
  const watcher = createGrantWatcher({
    client: serviceClient,
    authorizer,
    ...(keys ? { keys } : {}),
    ...(cfg.dataDir !== undefined ? { checkpointFile: join(cfg.dataDir, 'ledger-events.checkpoint.json') } : {}),
    logger,
  });
  await watcher.start();
  // After the watcher: whatever commits from now on is seen by one or the other.
  await keys?.start();

  const app = await buildApp({
    logger,
    metrics,
    auth: createJwtVerifier(cfg.auth),
    ledgerFor: async (principal) => createTwinLedger(await identities.clientFor(principal)),
    authorizer,
    keys,
    ...(cfg.mvccAttempts ? { mvccAttempts: cfg.mvccAttempts } : {}),
    readiness: [
      // The health tracker's probe, answered from memory: /readyz never waits on a frozen peer.
      { name: 'peer', check: async () => health.ready },
      { name: 'ledger-events', check: async () => watcher.connected },
    ],
  });
  return {
    app,
    authorizer,
    watcher,
    ...(keys ? { keys } : {}),
    async close() {
      await watcher.stop();
      await keys?.stop();
      await health.stop();
      identities.close();
      pool.close();
    },
  };
}
