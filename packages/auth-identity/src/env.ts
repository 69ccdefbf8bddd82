import { int, optionalStr, str, type EnvOf } from '@twinledger/config';
import type { PeerEndpoint } from '@twinledger/fabric-client';

/** The environment of every REST gateway to the ledger: whose identities, which peer, which chaincode. */
export const ledgerGatewayEnv = {
  MSP_ID: str(),
  FABRIC_IDENTITIES_DIR: str(),
  PEER_ENDPOINT: str(),
  PEER_TLS_ROOT_CERT: str(),
  PEER_HOST_ALIAS: optionalStr(),
  CHANNEL: str({ default: 'twins' }),
  CHAINCODE: str({ default: 'twinledger' }),
  MVCC_ATTEMPTS: int({ default: 3, min: 1, max: 10 }),
};

export interface LedgerGatewayConfig {
  readonly mspId: string;
  readonly identitiesDir: string;
  readonly peer: PeerEndpoint;
  readonly channel: string;
  readonly chaincode: string;
  readonly mvccAttempts: number;
}

export function ledgerGatewayFromEnv(env: EnvOf<typeof ledgerGatewayEnv>): LedgerGatewayConfig {
  return {
    mspId: env.MSP_ID,
    identitiesDir: env.FABRIC_IDENTITIES_DIR,
    peer: { endpoint: env.PEER_ENDPOINT, tlsRootCertPath: env.PEER_TLS_ROOT_CERT, ...(env.PEER_HOST_ALIAS ? { hostAlias: env.PEER_HOST_ALIAS } : {}) },
    channel: env.CHANNEL,
    chaincode: env.CHAINCODE,
    mvccAttempts: env.MVCC_ATTEMPTS,
  };
}
