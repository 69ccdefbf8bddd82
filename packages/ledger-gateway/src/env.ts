import { ConfigError, int, str, type EnvOf } from '@twinledger/config';
import { peerEndpointFromEnv, peerEnv, type PeerEndpoint } from '@twinledger/fabric-client';
import { authEnv, authFromEnv, type JwtVerifierInit } from '@twinledger/service-kit';

/** The environment of every REST gateway to the ledger: whose identities, which peer, which chaincode. */
export const ledgerGatewayEnv = {
  MSP_ID: str(),
  FABRIC_IDENTITIES_DIR: str(),
  ...peerEnv,
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
    peer: peerEndpointFromEnv(env),
    channel: env.CHANNEL,
    chaincode: env.CHAINCODE,
    mvccAttempts: env.MVCC_ATTEMPTS,
  };
}

/** What a REST gateway to the ledger is wired with (main.ts of spec-service, acl-service): its ledger and whose tokens it takes. */
export interface LedgerServiceConfig extends Omit<LedgerGatewayConfig, 'mvccAttempts'> {
  readonly auth: JwtVerifierInit;
}

/** How a REST gateway to the ledger watches its peer (issue #27): see PeerHealthInit. */
export const peerHealthEnv = {
  PEER_PROBE_INTERVAL_MS: int({ default: 1_000, min: 100, max: 60_000 }),
  PEER_PROBE_TIMEOUT_MS: int({ default: 400, min: 50, max: 10_000 }),
};

export interface PeerHealthConfig {
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
}

/** The probe settings; a timeout not below the interval stops the boot with CONFIG_INVALID. */
export function peerHealthFromEnv(env: EnvOf<typeof peerHealthEnv>): PeerHealthConfig {
  if (env.PEER_PROBE_TIMEOUT_MS >= env.PEER_PROBE_INTERVAL_MS) {
    // A probe that may wait as long as the pause between probes would leave a frozen peer
    // marked up for several intervals: the point of the probe is to notice within one.
    throw new ConfigError(
      `invalid configuration: PEER_PROBE_TIMEOUT_MS (${env.PEER_PROBE_TIMEOUT_MS}) must be below PEER_PROBE_INTERVAL_MS (${env.PEER_PROBE_INTERVAL_MS})`,
      { details: { problems: ['PEER_PROBE_TIMEOUT_MS'] } },
    );
  }
  return { probeIntervalMs: env.PEER_PROBE_INTERVAL_MS, probeTimeoutMs: env.PEER_PROBE_TIMEOUT_MS };
}

/**
 * What every REST gateway to the ledger reads the same way: its ledger and identities, how it
 * probes its peer, whose tokens it takes. A service's config.ts spreads it into its own env.
 */
export const ledgerServiceEnv = { ...ledgerGatewayEnv, ...peerHealthEnv, ...authEnv };

/** The shared part of a REST gateway's configuration; the org's own tokens only (`expectedOrg` = `MSP_ID`). */
export function ledgerServiceFromEnv(env: EnvOf<typeof ledgerServiceEnv>): LedgerGatewayConfig & { readonly peerHealth: PeerHealthConfig; readonly auth: JwtVerifierInit } {
  return { ...ledgerGatewayFromEnv(env), peerHealth: peerHealthFromEnv(env), auth: authFromEnv(env, { expectedOrg: env.MSP_ID }) };
}
