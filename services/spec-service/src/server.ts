import { bool, int, list, loadEnv, oneOf, optionalStr, str } from '@twinledger/config';
import { createLogger } from '@twinledger/observability';
import { runService } from '@twinledger/service-kit';
import { readJwks, startSpecService } from './main.js';

const env = loadEnv({
  HOST: str({ default: '127.0.0.1' }),
  PORT: int({ default: 7300, min: 0, max: 65535 }),
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
  DHT_GATEWAY_URL: str(),
  KAFKA_BROKERS: list(),
  RELAY_ENABLED: bool({ default: true }),
  RELAY_IDENTITY: str({ default: 'User1' }),
  STATE_DIR: str(),
  AML_MAX_BYTES: int({ default: 8 * 1024 * 1024, min: 1024 }),
  DOCUMENT_MAX_BYTES: int({ default: 64 * 1024 * 1024, min: 1024 }),
  MVCC_ATTEMPTS: int({ default: 3, min: 1, max: 10 }),
});

const logger = createLogger({ name: 'spec-service', level: env.LOG_LEVEL });
const service = await startSpecService(
  {
    mspId: env.MSP_ID,
    identitiesDir: env.FABRIC_IDENTITIES_DIR,
    peer: { endpoint: env.PEER_ENDPOINT, tlsRootCertPath: env.PEER_TLS_ROOT_CERT, ...(env.PEER_HOST_ALIAS ? { hostAlias: env.PEER_HOST_ALIAS } : {}) },
    channel: env.CHANNEL,
    chaincode: env.CHAINCODE,
    auth: { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, jwks: readJwks(env.AUTH_JWKS_FILE) },
    dht: env.DHT_GATEWAY_URL,
    kafkaBrokers: env.KAFKA_BROKERS,
    relay: env.RELAY_ENABLED,
    relayIdentity: env.RELAY_IDENTITY,
    stateDir: env.STATE_DIR,
    amlMaxBytes: env.AML_MAX_BYTES,
    documentMaxBytes: env.DOCUMENT_MAX_BYTES,
    mvccAttempts: env.MVCC_ATTEMPTS,
  },
  logger,
);
await runService({ app: service.app, host: env.HOST, port: env.PORT, onClose: () => service.close() });
