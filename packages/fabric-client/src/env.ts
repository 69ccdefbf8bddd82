import { optionalStr, str, type EnvOf } from '@twinledger/config';
import { createFabricClient, type FabricClient } from './client.js';
import type { PeerConnectionPool, PeerEndpoint } from './connection.js';
import type { LoadedIdentity } from './identity.js';
import type { PeerHealth } from './peer-health.js';

/**
 * The organization's peer and the chaincode a process calls: one set of names for every process
 * that talks to the ledger (the REST gateways, the device agent), so an operator writes
 * `PEER_ENDPOINT` once whatever the service. A definition only: the library reads no environment.
 */
export const peerEnv = {
  PEER_ENDPOINT: str(),
  PEER_TLS_ROOT_CERT: str(),
  PEER_HOST_ALIAS: optionalStr(),
  CHANNEL: str({ default: 'twins' }),
  CHAINCODE: str({ default: 'twinledger' }),
};

/** The peer of a loaded `peerEnv`. */
export function peerEndpointFromEnv(env: EnvOf<typeof peerEnv>): PeerEndpoint {
  return { endpoint: env.PEER_ENDPOINT, tlsRootCertPath: env.PEER_TLS_ROOT_CERT, ...(env.PEER_HOST_ALIAS ? { hostAlias: env.PEER_HOST_ALIAS } : {}) };
}

/** A client of the chaincode a loaded `peerEnv` names, on its peer, as `identity` (the device agent, the admin CLI). */
export function fabricClientFromEnv(
  env: EnvOf<typeof peerEnv>,
  c: { readonly pool: PeerConnectionPool; readonly identity: LoadedIdentity; readonly health?: PeerHealth },
): FabricClient {
  return createFabricClient({ pool: c.pool, peer: peerEndpointFromEnv(env), identity: c.identity, channel: env.CHANNEL, chaincode: env.CHAINCODE, ...(c.health ? { health: c.health } : {}) });
}
