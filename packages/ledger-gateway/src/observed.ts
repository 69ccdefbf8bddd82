import { createChainInfoProbe, createPeerConnectionPool, createPeerHealth, loadIdentity, type PeerConnectionPool, type PeerHealth, type PeerProbe } from '@twinledger/fabric-client';
import { Histogram, type Logger, type Registry } from '@twinledger/observability';
import { IdentityNotMappedError } from './errors.js';
import { createIdentityRegistry, resolveIdentityFiles, type IdentityRegistry, type IdentityRegistryInit } from './registry.js';

export interface PeerHealthOptions {
  /** The identity (a name under the identities directory) the probes sign as; any channel reader. */
  readonly probeIdentity: string;
  /** See PeerHealthInit.probeIntervalMs (PEER_PROBE_INTERVAL_MS). */
  readonly probeIntervalMs?: number;
  /** See PeerHealthInit.probeTimeoutMs (PEER_PROBE_TIMEOUT_MS). */
  readonly probeTimeoutMs?: number;
  readonly logger: Logger;
}

export interface ObservedIdentitiesInit extends Omit<IdentityRegistryInit, 'pool' | 'onCall' | 'health'> {
  /** Name of the Gateway call latency histogram, e.g. `spec_service_gateway_call_seconds`. */
  readonly metricName: string;
  readonly metrics: Registry;
  /** Track the peer's health (issue #27): every identity's calls fail fast while it is down. */
  readonly peerHealth?: PeerHealthOptions;
}

export interface ObservedIdentities {
  readonly identities: IdentityRegistry;
  readonly pool: PeerConnectionPool;
  /** Present with `peerHealth`; the caller starts and stops it. */
  readonly health: PeerHealth | undefined;
  /**
   * The channel as the peer itself knows it (qscc, as the probe identity, over the same
   * connection): read fences ask it. Present with `peerHealth`.
   */
  readonly chain: Pick<PeerProbe, 'height' | 'hasTransaction'> | undefined;
}

/**
 * What a REST gateway to the ledger needs to sign as its callers: one gRPC connection to the
 * peer, the organization's identities, the latency of every Gateway call as a metric, and
 * (with `peerHealth`) the peer's health, probed over the same connection.
 */
export function createObservedIdentities(
  init: ObservedIdentitiesInit & { readonly peerHealth: PeerHealthOptions },
): ObservedIdentities & { readonly health: PeerHealth; readonly chain: Pick<PeerProbe, 'height' | 'hasTransaction'> };
export function createObservedIdentities(init: ObservedIdentitiesInit): ObservedIdentities;
export function createObservedIdentities(init: ObservedIdentitiesInit): ObservedIdentities {
  const { metricName, metrics, peerHealth, ...rest } = init;
  const latency = new Histogram({
    name: metricName,
    help: 'Fabric Gateway call latency by chaincode function, kind and outcome',
    labelNames: ['fn', 'kind', 'outcome'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [metrics],
  });
  const pool = createPeerConnectionPool();
  const probe =
    peerHealth &&
    lazyProbe(async () => {
      const files = await resolveIdentityFiles(init, peerHealth.probeIdentity);
      if (!files) throw new IdentityNotMappedError(`no Fabric identity '${peerHealth.probeIdentity}' to probe the peer as`, { details: { identity: peerHealth.probeIdentity } });
      return createChainInfoProbe({ pool, peer: init.peer, channel: init.channel, identity: await loadIdentity(files), ...(peerHealth.probeTimeoutMs !== undefined ? { timeoutMs: peerHealth.probeTimeoutMs } : {}) });
    });
  const health = peerHealth && probe && createPeerHealth({
    peer: init.peer.endpoint,
    probe: async () => (await probe()).probe(),
    ...(peerHealth.probeIntervalMs !== undefined ? { probeIntervalMs: peerHealth.probeIntervalMs } : {}),
    ...(peerHealth.probeTimeoutMs !== undefined ? { probeTimeoutMs: peerHealth.probeTimeoutMs } : {}),
    logger: peerHealth.logger,
    metrics,
  });
  const identities = createIdentityRegistry({
    ...rest,
    pool,
    ...(health ? { health } : {}),
    onCall: (fn, kind, seconds, outcome) => latency.observe({ fn, kind, outcome }, seconds),
  });
  const chain = probe && {
    height: async () => (await probe()).height(),
    hasTransaction: async (txId: string) => (await probe()).hasTransaction(txId),
  };
  return { identities, pool, health, chain };
}

/** The probe built on first use (loading its identity is async); a failed build is retried. */
function lazyProbe(build: () => Promise<PeerProbe>): () => Promise<PeerProbe> {
  let made: Promise<PeerProbe> | undefined;
  return () => {
    made ??= build();
    made.catch(() => (made = undefined));
    return made;
  };
}
