import { bool, int, list, loadEnv, oneOf, str } from '@twinledger/config';
import { accessDecisionsEnv, ledgerGatewayEnv, ledgerGatewayFromEnv, peerHealthEnv, peerHealthFromEnv } from '@twinledger/ledger-gateway';
import { createLogger } from '@twinledger/observability';
import { authEnv, authFromEnv, runService } from '@twinledger/service-kit';
import { DEFAULT_READ_CACHE } from './app.js';
import { startSpecService } from './main.js';

const env = loadEnv({
  ...ledgerGatewayEnv,
  ...peerHealthEnv,
  HOST: str({ default: '127.0.0.1' }),
  PORT: int({ default: 7300, min: 0, max: 65535 }),
  LOG_LEVEL: oneOf(['trace', 'debug', 'info', 'warn', 'error'], { default: 'info' }),
  ...authEnv,
  DHT_GATEWAY_URL: str(),
  // This service's own credential for the gateway (never a user's token), re-read per call.
  DHT_TOKEN_FILE: str(),
  KAFKA_BROKERS: list(),
  RELAY_ENABLED: bool({ default: true }),
  RELAY_IDENTITY: str({ default: 'User1' }),
  STATE_DIR: str(),
  AML_MAX_BYTES: int({ default: 8 * 1024 * 1024, min: 1024 }),
  DOCUMENT_MAX_BYTES: int({ default: 64 * 1024 * 1024, min: 1024 }),
  SPEC_CACHE_MAX_CHARS: int({ default: 128 * 1024 * 1024, min: 0 }),
  // The read model (issue #27): see DEFAULT_READ_CACHE and the operator guide.
  ...accessDecisionsEnv,
  READ_CACHE_MAX_CHARS: int({ default: DEFAULT_READ_CACHE.maxChars, min: 0 }),
  READ_CACHE_MAX_AGE_MS: int({ default: DEFAULT_READ_CACHE.maxAgeMs, min: 0, max: 600_000 }),
  READ_FENCE_WAIT_MS: int({ default: DEFAULT_READ_CACHE.fenceWaitMs, min: 0, max: 60_000 }),
});

const logger = createLogger({ name: 'spec-service', level: env.LOG_LEVEL });
const service = await startSpecService(
  {
    ...ledgerGatewayFromEnv(env),
    peerHealth: peerHealthFromEnv(env),
    auth: authFromEnv(env, { expectedOrg: env.MSP_ID }),
    dht: env.DHT_GATEWAY_URL,
    dhtTokenFile: env.DHT_TOKEN_FILE,
    kafkaBrokers: env.KAFKA_BROKERS,
    relay: env.RELAY_ENABLED,
    relayIdentity: env.RELAY_IDENTITY,
    stateDir: env.STATE_DIR,
    amlMaxBytes: env.AML_MAX_BYTES,
    documentMaxBytes: env.DOCUMENT_MAX_BYTES,
    specCacheChars: env.SPEC_CACHE_MAX_CHARS,
    authDecisionTtlMs: env.AUTH_DECISION_TTL_MS,
    readCache: { maxChars: env.READ_CACHE_MAX_CHARS, maxAgeMs: env.READ_CACHE_MAX_AGE_MS, fenceWaitMs: env.READ_FENCE_WAIT_MS },
  },
  logger,
);
await runService({ app: service.app, host: env.HOST, port: env.PORT, onClose: () => service.close() });
