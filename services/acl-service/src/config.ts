import { int, optionalStr, renamed, str, type EnvOf } from '@twinledger/config';
import { peerEnv } from '@twinledger/fabric-client';
import { ledgerServiceEnv, ledgerServiceFromEnv } from '@twinledger/ledger-gateway';
import { serviceEnv } from '@twinledger/service-kit';
import type { AclServiceConfig } from './main.js';

/**
 * acl-service's environment, defined once: server.ts loads it, the consortium launcher and the
 * Helm chart's env-contract test (test/chart.int.test.ts) read the names from here.
 */
export const aclServiceEnv = {
  ...serviceEnv({ port: 7301 }),
  ...ledgerServiceEnv,
  SERVICE_IDENTITY: str({ default: 'User1' }),
  AUTHZ_CACHE_TTL_MS: int({ default: 30_000, min: 0, max: 3_600_000 }),
  DHT_GATEWAY_URL: optionalStr(),
  DHT_TOKEN_FILE: optionalStr(),
  // The grant follower's checkpoint. Was STATE_DIR (ADR-20): still read, with a warning, until the next release.
  DATA_DIR: renamed('STATE_DIR', optionalStr()),
  KEY_RECONCILE_MS: int({ default: 30_000, min: 1_000, max: 3_600_000 }),
};
export type AclServiceEnv = EnvOf<typeof aclServiceEnv>;

/** The org admin's command (admin-cli.ts): the org and its peer, under the service's own names. */
export const adminCliEnv = {
  MSP_ID: str(),
  ...peerEnv,
};

/** The service's configuration from its loaded environment; a bad key set or probe pair stops the boot (CONFIG_INVALID). */
export function aclServiceConfig(env: AclServiceEnv): AclServiceConfig {
  return {
    ...ledgerServiceFromEnv(env),
    serviceIdentity: env.SERVICE_IDENTITY,
    cacheTtlMs: env.AUTHZ_CACHE_TTL_MS,
    ...(env.DHT_GATEWAY_URL ? { dht: env.DHT_GATEWAY_URL } : {}),
    ...(env.DHT_TOKEN_FILE ? { dhtTokenFile: env.DHT_TOKEN_FILE } : {}),
    ...(env.DATA_DIR ? { dataDir: env.DATA_DIR } : {}),
    keyReconcileMs: env.KEY_RECONCILE_MS,
  };
}
