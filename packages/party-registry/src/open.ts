import { createFabricClient, createLedgerEventSource, createPeerConnectionPool, loadIdentity, type FabricClient, type LedgerEventSource } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { createLedgerPartyRegistry, type LedgerPartyRegistry } from './registry.js';
import type { Logger } from '@twinledger/observability';

export interface LedgerPartyRegistryConfig {
  readonly mspId: string;
  readonly peerEndpoint: string;
  readonly peerTlsRootCert: string;
  readonly peerHostAlias: string | undefined;
  readonly channel: string;
  readonly chaincode: string;
  /** The identity the gateway reads the party registry as (any client of its organization). */
  readonly certFile: string;
  readonly keyFile: string;
  readonly refreshIntervalMs: number;
}

/**
 * The party registry read from the ledger through the organization's own peer, refreshed on
 * every PartyRegistered chaincode event (and on an interval as a safety net). Events come
 * through the one reconnecting ledger event source: a dropped stream (a peer restart) is
 * reopened after the last event handled, so a registration or removal during the outage is
 * still applied, not only at the next interval.
 */
export async function openLedgerPartyRegistry(config: LedgerPartyRegistryConfig, logger: Logger): Promise<{ registry: LedgerPartyRegistry; close: () => void }> {
  const pool = createPeerConnectionPool();
  const client = createFabricClient({
    pool,
    peer: { endpoint: config.peerEndpoint, tlsRootCertPath: config.peerTlsRootCert, ...(config.peerHostAlias ? { hostAlias: config.peerHostAlias } : {}) },
    identity: await loadIdentity({ mspId: config.mspId, certPath: config.certFile, keyPath: config.keyFile }),
    channel: config.channel,
    chaincode: config.chaincode,
  });
  const registry = createLedgerPartyRegistry({ refreshIntervalMs: config.refreshIntervalMs }, { source: createTwinLedger(client), logger });
  await registry.start();
  const events = await followPartyRegistrations(client, registry, logger);
  return {
    registry,
    close() {
      registry.stop();
      void events.stop();
      client.close();
      pool.close();
    },
  };
}

/** Hands the registry every PartyRegistered event from now on, across dropped streams. */
export async function followPartyRegistrations(
  client: FabricClient,
  registry: Pick<LedgerPartyRegistry, 'onLedgerEvent'>,
  logger: Logger,
  retryMs?: number,
): Promise<LedgerEventSource> {
  const source = createLedgerEventSource({
    client,
    logger,
    ...(retryMs !== undefined ? { retryMs } : {}),
    // The refresh is awaited, so a failed read is retried from the same event, not skipped.
    onEvent: (ev) => registry.onLedgerEvent(ev.eventName),
  });
  await source.start();
  return source;
}
