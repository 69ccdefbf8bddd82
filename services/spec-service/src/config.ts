import { bool, int, list, renamed, str, type EnvOf } from '@twinledger/config';
import { accessDecisionsEnv, ledgerServiceEnv, ledgerServiceFromEnv } from '@twinledger/ledger-gateway';
import { serviceEnv } from '@twinledger/service-kit';
import type { SpecServiceConfig } from './main.js';

/** READ_CACHE_MAX_CHARS, READ_CACHE_MAX_AGE_MS and READ_FENCE_WAIT_MS defaults. */
export const DEFAULT_READ_CACHE = { maxChars: 64 * 1024 * 1024, maxAgeMs: 30_000, fenceWaitMs: 2_000 } as const;

/**
 * spec-service's environment, defined once: server.ts loads it, the consortium launcher and the
 * Helm chart's env-contract test (test/chart.int.test.ts) read the names from here.
 */
export const specServiceEnv = {
  ...serviceEnv({ port: 7300 }),
  ...ledgerServiceEnv,
  DHT_GATEWAY_URL: str(),
  // This service's own credential for the gateway (never a user's token), re-read per call.
  DHT_TOKEN_FILE: str(),
  KAFKA_BROKERS: list(),
  RELAY_ENABLED: bool({ default: true }),
  RELAY_IDENTITY: str({ default: 'User1' }),
  // The relay's checkpoint and journal. Was STATE_DIR (ADR-20): still read, with a warning, until the next release.
  DATA_DIR: renamed('STATE_DIR', str()),
  AML_MAX_BYTES: int({ default: 8 * 1024 * 1024, min: 1024 }),
  DOCUMENT_MAX_BYTES: int({ default: 64 * 1024 * 1024, min: 1024 }),
  SPEC_CACHE_MAX_CHARS: int({ default: 128 * 1024 * 1024, min: 0 }),
  // The read model (issue #27): see DEFAULT_READ_CACHE and the operator guide.
  ...accessDecisionsEnv,
  READ_CACHE_MAX_CHARS: int({ default: DEFAULT_READ_CACHE.maxChars, min: 0 }),
  READ_CACHE_MAX_AGE_MS: int({ default: DEFAULT_READ_CACHE.maxAgeMs, min: 0, max: 600_000 }),
  READ_FENCE_WAIT_MS: int({ default: DEFAULT_READ_CACHE.fenceWaitMs, min: 0, max: 60_000 }),
};
export type SpecServiceEnv = EnvOf<typeof specServiceEnv>;

/** The service's configuration from its loaded environment; a bad key set or probe pair stops the boot (CONFIG_INVALID). */
export function specServiceConfig(env: SpecServiceEnv): SpecServiceConfig {
  return {
    ...ledgerServiceFromEnv(env),
    dht: env.DHT_GATEWAY_URL,
    dhtTokenFile: env.DHT_TOKEN_FILE,
    kafkaBrokers: env.KAFKA_BROKERS,
    relay: env.RELAY_ENABLED,
    relayIdentity: env.RELAY_IDENTITY,
    dataDir: env.DATA_DIR,
    amlMaxBytes: env.AML_MAX_BYTES,
    documentMaxBytes: env.DOCUMENT_MAX_BYTES,
    specCacheChars: env.SPEC_CACHE_MAX_CHARS,
    authDecisionTtlMs: env.AUTH_DECISION_TTL_MS,
    readCache: { maxChars: env.READ_CACHE_MAX_CHARS, maxAgeMs: env.READ_CACHE_MAX_AGE_MS, fenceWaitMs: env.READ_FENCE_WAIT_MS },
  };
}
