import { optionalStr, str, type EnvOf } from '@twinledger/config';
import type { PeerEndpoint } from './connection.js';

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
