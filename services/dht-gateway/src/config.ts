import { int, optionalStr, str, type EnvOf } from '@twinledger/config';
import { MSP_ID } from '@twinledger/dht';
import { ValidationError } from '@twinledger/errors';
import { partyRegistryEnv } from '@twinledger/party-registry';
import { dhtNodeEnv, serviceEnv } from '@twinledger/service-kit';
import { gatewayAuthEnv } from './auth.js';

/**
 * dht-gateway's environment, defined once: server.ts loads it, the consortium launcher and the
 * Helm chart's env-contract test (test/chart.int.test.ts) read the names from here.
 */
export const dhtGatewayEnv = {
  ...serviceEnv({ port: 7400 }),
  DATA_DIR: str(),
  // The DHT's own MSP ID rule (its ACL records refuse any other).
  MSP_ID: str({ pattern: MSP_ID }),
  ...dhtNodeEnv,
  DHT_SWARM_KEY: optionalStr(),
  DHT_SWARM_KEY_FILE: optionalStr(),
  // The party registry: the ledger (PEER_ENDPOINT and a client identity) or a static file.
  ...partyRegistryEnv,
  DHT_FAULT_TOLERANCE: int({ default: 1, min: 0, max: 7 }),
  DHT_CHUNK_SIZE: int({ default: 1024 * 1024, min: 1024, max: 1024 * 1024 }),
  DHT_REQUEST_TIMEOUT_MS: int({ default: 10_000, min: 100 }),
  DHT_REPAIR_INTERVAL_MS: int({ default: 60_000, min: 0 }),
  DHT_ORPHAN_GRACE_MS: int({ default: 24 * 3600_000, min: 0 }),
  DHT_GC_INTERVAL_MS: int({ default: 3600_000, min: 0 }),
  MAX_OBJECT_BYTES: int({ default: 1024 ** 3, min: 1, max: 1024 ** 3 }),
  // Service credentials only: the org's issuer, the gateway's own audience (DHT_AUTH_AUDIENCE).
  ...gatewayAuthEnv,
};
export type DhtGatewayEnv = EnvOf<typeof dhtGatewayEnv>;

/** Checks what the parsers alone cannot (exactly one swarm key source); the env itself is the configuration. */
export function dhtGatewayConfig(env: DhtGatewayEnv): DhtGatewayEnv {
  if ((env.DHT_SWARM_KEY === undefined) === (env.DHT_SWARM_KEY_FILE === undefined)) {
    throw new ValidationError('set exactly one of DHT_SWARM_KEY and DHT_SWARM_KEY_FILE');
  }
  return env;
}
