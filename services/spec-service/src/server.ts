import { bool, int, list, loadEnv, oneOf, str } from '@twinledger/config';
import { ledgerGatewayEnv, ledgerGatewayFromEnv } from '@twinledger/auth-identity';
import { createLogger } from '@twinledger/observability';
import { runService } from '@twinledger/service-kit';
import { readJwks, startSpecService } from './main.js';

const env = loadEnv({
  ...ledgerGatewayEnv,
  HOST: str({ default: '127.0.0.1' }),
  PORT: int({ default: 7300, min: 0, max: 65535 }),
  LOG_LEVEL: oneOf(['trace', 'debug', 'info', 'warn', 'error'], { default: 'info' }),
  AUTH_ISSUER: str(),
  AUTH_AUDIENCE: str({ default: 'twinledger' }),
  AUTH_JWKS_FILE: str(),
  DHT_GATEWAY_URL: str(),
  KAFKA_BROKERS: list(),
  RELAY_ENABLED: bool({ default: true }),
  RELAY_IDENTITY: str({ default: 'User1' }),
  STATE_DIR: str(),
  AML_MAX_BYTES: int({ default: 8 * 1024 * 1024, min: 1024 }),
  DOCUMENT_MAX_BYTES: int({ default: 64 * 1024 * 1024, min: 1024 }),
  SPEC_CACHE_MAX_CHARS: int({ default: 128 * 1024 * 1024, min: 0 }),
});

const logger = createLogger({ name: 'spec-service', level: env.LOG_LEVEL });
const service = await startSpecService(
  {
    ...ledgerGatewayFromEnv(env),
    auth: { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, jwks: readJwks(env.AUTH_JWKS_FILE) },
    dht: env.DHT_GATEWAY_URL,
    kafkaBrokers: env.KAFKA_BROKERS,
    relay: env.RELAY_ENABLED,
    relayIdentity: env.RELAY_IDENTITY,
    stateDir: env.STATE_DIR,
    amlMaxBytes: env.AML_MAX_BYTES,
    documentMaxBytes: env.DOCUMENT_MAX_BYTES,
    specCacheChars: env.SPEC_CACHE_MAX_CHARS,
  },
  logger,
);
await runService({ app: service.app, host: env.HOST, port: env.PORT, onClose: () => service.close() });
