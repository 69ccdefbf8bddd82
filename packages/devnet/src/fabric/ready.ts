import { EndorsementFailedError, createFabricClient, createPeerConnectionPool, loadIdentity } from '@twinledger/fabric-client';
import { CHAINCODE_NAME, CHANNEL, type OrgTopology } from './topology.js';

/**
 * Ready means a transaction needing every org's endorsement commits through every org's
 * Gateway. Right after channel join, gossip has not yet told each peer about the others, and
 * the Gateway then cannot find enough endorsers; this waits for exactly that to settle.
 */
export async function waitEndorsable(orgs: readonly OrgTopology[], timeoutMs = 60_000): Promise<void> {
  const pool = createPeerConnectionPool();
  const deadline = Date.now() + timeoutMs;
  try {
    for (const org of orgs) {
      const client = createFabricClient({ pool, peer: org.peer, identity: await loadIdentity(org.users[0]!), channel: CHANNEL, chaincode: CHAINCODE_NAME });
      try {
        for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
          try {
            await client.submit('diag:put', [`devnet-ready-${org.name}`, String(Date.now())]);
            break;
          } catch (err) {
            if (!(err instanceof EndorsementFailedError) || Date.now() > deadline) throw err;
            await new Promise((r) => setTimeout(r, delay));
          }
        }
      } finally {
        client.close();
      }
    }
  } finally {
    pool.close();
  }
}
