import { createFabricClient, createPeerConnectionPool, loadIdentity } from '@twinledger/fabric-client';
import { createTwinLedger, LedgerEvents } from '@twinledger/ledger';
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
 * every PartyRegistered chaincode event (and on an interval, in case the stream dropped).
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
  const events = await client.chaincodeEvents();
  // Iterated from the start: fabric-gateway emits an unhandled error for a stream closed unread.
  const follow = (async () => {
    try {
      for await (const ev of events) if (ev.eventName === LedgerEvents.PartyRegistered) registry.onLedgerEvent(ev.eventName);
    } catch (err) {
      logger.warn({ err }, 'ledger event stream ended; relying on periodic refresh');
    }
  })();
  return {
    registry,
    close() {
      registry.stop();
      events.close();
      void follow;
      client.close();
      pool.close();
    },
  };
}
