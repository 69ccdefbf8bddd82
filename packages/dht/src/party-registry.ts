import { PeerIdConflictError } from './errors.js';

/**
 * The consortium's parties: one per Fabric organization (MSP), each with the libp2p peer ids
 * of its DHT nodes and the X25519 public key data keys are wrapped to. The source is
 * pluggable: a static list for tests and local networks, the ledger's party registry later.
 */
export interface Party {
  /** The organization's Fabric MSP id, e.g. `Org1MSP`. */
  readonly mspId: string;
  /** The libp2p peer ids (base58 strings) of the organization's DHT nodes. */
  readonly peerIds: readonly string[];
  /** The organization's X25519 public key (32 bytes) for data-key wrapping. */
  readonly encryptionPublicKey: Uint8Array;
}

export interface PartyRegistry {
  /** The party a peer id belongs to, or undefined for a peer outside the consortium. */
  partyOf(peerId: string): Party | undefined;
  /** The party with this MSP id. */
  get(mspId: string): Party | undefined;
  /** Every party, in a stable order. */
  list(): readonly Party[];
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

/** A registry that can also be changed in place (tests, local networks). */
export interface StaticPartyRegistry extends PartyRegistry {
  /**
   * Adds or replaces a party and notifies subscribers. Throws PeerIdConflictError, changing
   * nothing, when one of its peer IDs belongs to another party.
   */
  upsert(party: Party): void;
  /** Removes a party and notifies subscribers. */
  remove(mspId: string): void;
  /** Replaces every party at once (one notification); same refusal as upsert. */
  replaceAll(parties: readonly Party[]): void;
}

/**
 * A peer ID is one organization's: the connection gater admits a peer, and storing nodes serve
 * it, as the party the registry names, so a second organization listing the same peer ID would
 * be served as the first (issue #20). The ledger refuses such a registration; this registry
 * refuses it too, whatever its source.
 */
function checkNoSharedPeers(parties: Iterable<Party>): void {
  const owner = new Map<string, string>();
  for (const p of parties) {
    for (const id of p.peerIds) {
      const other = owner.get(id);
      if (other !== undefined && other !== p.mspId) {
        throw new PeerIdConflictError(`peer ${id} is listed for both ${other} and ${p.mspId}`, { details: { peerId: id, mspIds: [other, p.mspId] } });
      }
      owner.set(id, p.mspId);
    }
  }
}

/** The peer IDs claimed by more than one party of the list. */
export function sharedPeerIds(parties: readonly Party[]): Set<string> {
  const owner = new Map<string, string>();
  const shared = new Set<string>();
  for (const p of parties) {
    for (const id of p.peerIds) {
      const other = owner.get(id);
      if (other !== undefined && other !== p.mspId) shared.add(id);
      owner.set(id, p.mspId);
    }
  }
  return shared;
}

export function createStaticPartyRegistry(parties: readonly Party[] = []): StaticPartyRegistry {
  checkNoSharedPeers(parties);
  const byMsp = new Map<string, Party>();
  let byPeer = new Map<string, Party>();
  const listeners = new Set<() => void>();

  const reindex = (): void => {
    byPeer = new Map();
    for (const p of byMsp.values()) for (const id of p.peerIds) byPeer.set(id, p);
  };
  const notify = (): void => {
    for (const l of listeners) l();
  };
  for (const p of parties) byMsp.set(p.mspId, p);
  reindex();

  return {
    partyOf: (peerId) => byPeer.get(peerId),
    get: (mspId) => byMsp.get(mspId),
    list: () => [...byMsp.values()].sort((a, b) => (a.mspId < b.mspId ? -1 : a.mspId > b.mspId ? 1 : 0)),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    upsert(party) {
      checkNoSharedPeers([...[...byMsp.values()].filter((p) => p.mspId !== party.mspId), party]);
      byMsp.set(party.mspId, party);
      reindex();
      notify();
    },
    remove(mspId) {
      byMsp.delete(mspId);
      reindex();
      notify();
    },
    replaceAll(next) {
      checkNoSharedPeers(next);
      byMsp.clear();
      for (const p of next) byMsp.set(p.mspId, p);
      reindex();
      notify();
    },
  };
}
