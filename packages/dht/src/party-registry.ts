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
  /** Adds or replaces a party and notifies subscribers. */
  upsert(party: Party): void;
  /** Removes a party and notifies subscribers. */
  remove(mspId: string): void;
}

export function createStaticPartyRegistry(parties: readonly Party[] = []): StaticPartyRegistry {
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
      byMsp.set(party.mspId, party);
      reindex();
      notify();
    },
    remove(mspId) {
      byMsp.delete(mspId);
      reindex();
      notify();
    },
  };
}
