import type { ConnectionGater, PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { PartyRegistry } from './party-registry.js';

/**
 * Admits only peers that the party registry binds to a consortium party. The check runs
 * before dialling (outbound) and right after the noise handshake has authenticated the
 * remote peer id (both directions), so an outsider never gets a multiplexed connection.
 * The pre-shared key (pnet) already keeps non-consortium hosts out at the transport;
 * this gater is the per-identity layer on top.
 */
export function createPartyConnectionGater(registry: PartyRegistry, selfPeerId?: () => string): ConnectionGater {
  const denied = (peerId: PeerId): boolean => {
    const id = peerId.toString();
    if (selfPeerId !== undefined && id === selfPeerId()) return false;
    return registry.partyOf(id) === undefined;
  };
  return {
    denyDialPeer: async (peerId: PeerId) => denied(peerId),
    denyDialMultiaddr: async (ma: Multiaddr) => {
      const id = ma.getComponents().find((c) => c.name === 'p2p')?.value;
      return id !== undefined && selfPeerId?.() !== id && registry.partyOf(id) === undefined;
    },
    denyInboundEncryptedConnection: async (peerId: PeerId) => denied(peerId),
    denyOutboundEncryptedConnection: async (peerId: PeerId) => denied(peerId),
    denyInboundUpgradedConnection: async (peerId: PeerId) => denied(peerId),
    denyOutboundUpgradedConnection: async (peerId: PeerId) => denied(peerId),
  };
}
