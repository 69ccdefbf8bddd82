import { peerIdFromString } from '@libp2p/peer-id';
import { fromHex, sha256, type Hex } from './codec.js';

/**
 * Replica placement: Kademlia's XOR metric between SHA-256(key) and SHA-256(peer id
 * multihash) (the same space @libp2p/kad-dht routes in), with organization diversity: the
 * closest node of each organization comes first (in distance order), then everyone else by
 * distance. Writers take the first r reachable entries; readers and the repair loop walk the
 * same order, so all sides agree on where an item belongs while membership is stable.
 */
export interface PlacementCandidate {
  readonly peerId: string;
  readonly mspId: string;
}

const digests = new Map<string, Uint8Array>();

function peerDigest(peerId: string): Uint8Array {
  let d = digests.get(peerId);
  if (d === undefined) {
    d = sha256(peerIdFromString(peerId).toMultihash().bytes);
    if (digests.size > 10_000) digests.clear();
    digests.set(peerId, d);
  }
  return d;
}

function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < target.length; i++) {
    const t = target[i] as number;
    const da = (a[i] as number) ^ t;
    const db = (b[i] as number) ^ t;
    if (da !== db) return da - db;
  }
  return 0;
}

export function orderForKey(key: Hex, candidates: readonly PlacementCandidate[]): PlacementCandidate[] {
  const target = sha256(fromHex(key));
  const unique = [...new Map(candidates.map((c) => [c.peerId, c])).values()];
  const byDistance = unique.sort((a, b) => compareDistance(target, peerDigest(a.peerId), peerDigest(b.peerId)));
  const firsts: PlacementCandidate[] = [];
  const rest: PlacementCandidate[] = [];
  const seen = new Set<string>();
  for (const c of byDistance) {
    if (seen.has(c.mspId)) rest.push(c);
    else {
      seen.add(c.mspId);
      firsts.push(c);
    }
  }
  return [...firsts, ...rest];
}
