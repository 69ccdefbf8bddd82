import { readFile } from 'node:fs/promises';
import { createStaticPartyRegistry, sharedPeerIds, type Party, type StaticPartyRegistry } from '@twinledger/dht';
import { ValidationError } from '@twinledger/errors';

/**
 * The consortium's party registry from a static JSON file (tests, air-gapped set-ups; the
 * ledger is the normal source): `{ "parties": [{ "mspId", "peerIds": [..],
 * "encryptionPublicKey": "<64 hex>" }] }`, or the bare array of parties.
 */
export function parsePartyRegistry(raw: unknown): Party[] {
  const problems: string[] = [];
  const list = Array.isArray(raw) ? raw : (raw as { parties?: unknown } | null)?.parties;
  if (!Array.isArray(list)) throw new ValidationError('party registry must be {"parties": [...]} or [...]');
  const parties: Party[] = [];
  list.forEach((p: unknown, i) => {
    const e = p as { mspId?: unknown; peerIds?: unknown; encryptionPublicKey?: unknown };
    if (typeof e?.mspId !== 'string' || !/^[\w.-]{1,64}$/.test(e.mspId)) problems.push(`parties[${i}].mspId`);
    else if (!Array.isArray(e.peerIds) || !e.peerIds.every((x) => typeof x === 'string' && /^[1-9A-HJ-NP-Za-km-z]{40,64}$/.test(x))) problems.push(`parties[${i}].peerIds`);
    else if (typeof e.encryptionPublicKey !== 'string' || !/^[0-9a-f]{64}$/i.test(e.encryptionPublicKey)) problems.push(`parties[${i}].encryptionPublicKey`);
    else parties.push({ mspId: e.mspId, peerIds: e.peerIds as string[], encryptionPublicKey: new Uint8Array(Buffer.from(e.encryptionPublicKey, 'hex')) });
  });
  if (problems.length > 0) throw new ValidationError('party registry is malformed', { details: { problems } });
  // A peer ID is one organization's; a file listing it twice is refused at boot, not resolved.
  const shared = [...sharedPeerIds(parties)];
  if (shared.length > 0) throw new ValidationError('party registry lists a peer ID for two organizations', { details: { peerIds: shared } });
  return parties;
}

export async function loadPartyRegistryFile(file: string): Promise<StaticPartyRegistry> {
  return createStaticPartyRegistry(parsePartyRegistry(JSON.parse(await readFile(file, 'utf8'))));
}
