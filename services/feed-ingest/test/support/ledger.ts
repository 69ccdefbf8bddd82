import { mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createIdentityRegistry, type IdentityRegistry } from '@twinledger/ledger-gateway';
import type { DevNetwork, OrgHandle } from '@twinledger/devnet';
import type { PeerConnectionPool } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import type { FeedIngestLedger } from '../../src/main.js';

/**
 * An organization's identities folder as deployed (FABRIC_IDENTITIES_DIR): `User1` is the
 * devnet's first user. Returns the folder.
 */
export function identitiesDirOf(root: string, org: OrgHandle): string {
  const dir = join(root, 'identities', org.name);
  mkdirSync(dir, { recursive: true });
  symlinkSync(dirname(org.users[0]!.mspDir), join(dir, 'User1'));
  return dir;
}

/** What createFeedIngest needs of the real ledger for `org`: its callers' clients and its own (User1). */
export async function feedIngestLedgerOf(net: DevNetwork, org: OrgHandle, root: string, pool: PeerConnectionPool): Promise<FeedIngestLedger & { identities: IdentityRegistry }> {
  const identities = createIdentityRegistry({ mspId: org.mspId, identitiesDir: identitiesDirOf(root, org), pool, peer: org.peer, channel: net.channel, chaincode: net.chaincode });
  return { identities, serviceLedger: createTwinLedger(await identities.clientByName('User1')) };
}
