import { readFileSync } from 'node:fs';
import { int, loadEnv, oneOf, optionalStr, str } from '@twinledger/config';
import { ledgerGatewayEnv, ledgerGatewayFromEnv } from '@twinledger/auth-identity';
import { createLogger } from '@twinledger/observability';
import { runService } from '@twinledger/service-kit';
import type { JSONWebKeySet } from 'jose';
import { startAclService } from './main.js';

const env = loadEnv({
  ...ledgerGatewayEnv,
  HOST: str({ default: '127.0.0.1' }),
  PORT: int({ default: 7301, min: 0, max: 65535 }),
  LOG_LEVEL: oneOf(['trace', 'debug', 'info', 'warn', 'error'], { default: 'info' }),
  AUTH_ISSUER: str(),
  AUTH_AUDIENCE: str({ default: 'twinledger' }),
  AUTH_JWKS_FILE: str(),
  SERVICE_IDENTITY: str({ default: 'User1' }),
  AUTHZ_CACHE_TTL_MS: int({ default: 30_000, min: 0, max: 3_600_000 }),
  DHT_GATEWAY_URL: optionalStr(),
  DHT_TOKEN_FILE: optionalStr(),
});

const logger = createLogger({ name: 'acl-service', level: env.LOG_LEVEL });
const service = await startAclService(
  {
    ...ledgerGatewayFromEnv(env),
    auth: { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, jwks: JSON.parse(readFileSync(env.AUTH_JWKS_FILE, 'utf8')) as JSONWebKeySet },
    serviceIdentity: env.SERVICE_IDENTITY,
    cacheTtlMs: env.AUTHZ_CACHE_TTL_MS,
    ...(env.DHT_GATEWAY_URL ? { dht: env.DHT_GATEWAY_URL } : {}),
    ...(env.DHT_TOKEN_FILE ? { dhtTokenFile: env.DHT_TOKEN_FILE } : {}),
  },
  logger,
);
await runService({ app: service.app, host: env.HOST, port: env.PORT, onClose: () => service.close() });
