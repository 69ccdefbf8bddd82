import { readFileSync } from 'node:fs';
import { int, loadEnv, oneOf, optionalStr, str } from '@twinledger/config';
import { createLogger } from '@twinledger/observability';
import { runService } from '@twinledger/service-kit';
import type { JSONWebKeySet } from 'jose';
import { startAclService } from './main.js';

const env = loadEnv({
  HOST: str({ default: '127.0.0.1' }),
  PORT: int({ default: 7301, min: 0, max: 65535 }),
  LOG_LEVEL: oneOf(['trace', 'debug', 'info', 'warn', 'error'], { default: 'info' }),
  MSP_ID: str(),
  FABRIC_IDENTITIES_DIR: str(),
  PEER_ENDPOINT: str(),
  PEER_TLS_ROOT_CERT: str(),
  PEER_HOST_ALIAS: optionalStr(),
  CHANNEL: str({ default: 'twins' }),
  CHAINCODE: str({ default: 'twinledger' }),
  AUTH_ISSUER: str(),
  AUTH_AUDIENCE: str({ default: 'twinledger' }),
  AUTH_JWKS_FILE: str(),
  SERVICE_IDENTITY: str({ default: 'User1' }),
  AUTHZ_CACHE_TTL_MS: int({ default: 30_000, min: 0, max: 3_600_000 }),
  DHT_GATEWAY_URL: optionalStr(),
  DHT_TOKEN_FILE: optionalStr(),
  MVCC_ATTEMPTS: int({ default: 3, min: 1, max: 10 }),
});

const logger = createLogger({ name: 'acl-service', level: env.LOG_LEVEL });
const service = await startAclService(
  {
    mspId: env.MSP_ID,
    identitiesDir: env.FABRIC_IDENTITIES_DIR,
    peer: { endpoint: env.PEER_ENDPOINT, tlsRootCertPath: env.PEER_TLS_ROOT_CERT, ...(env.PEER_HOST_ALIAS ? { hostAlias: env.PEER_HOST_ALIAS } : {}) },
    channel: env.CHANNEL,
    chaincode: env.CHAINCODE,
    auth: { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, jwks: JSON.parse(readFileSync(env.AUTH_JWKS_FILE, 'utf8')) as JSONWebKeySet },
    serviceIdentity: env.SERVICE_IDENTITY,
    cacheTtlMs: env.AUTHZ_CACHE_TTL_MS,
    ...(env.DHT_GATEWAY_URL ? { dht: env.DHT_GATEWAY_URL } : {}),
    ...(env.DHT_TOKEN_FILE ? { dhtTokenFile: env.DHT_TOKEN_FILE } : {}),
    mvccAttempts: env.MVCC_ATTEMPTS,
  },
  logger,
);
await runService({ app: service.app, host: env.HOST, port: env.PORT, onClose: () => service.close() });
