import { int, loadEnv, oneOf, optionalStr, str } from '@twinledger/config';
import { ledgerGatewayEnv, ledgerGatewayFromEnv, peerHealthEnv, peerHealthFromEnv } from '@twinledger/ledger-gateway';
import { createLogger } from '@twinledger/observability';
import { authEnv, authFromEnv, runService } from '@twinledger/service-kit';
import { startAclService } from './main.js';

const env = loadEnv({
  ...ledgerGatewayEnv,
  ...peerHealthEnv,
  HOST: str({ default: '127.0.0.1' }),
  PORT: int({ default: 7301, min: 0, max: 65535 }),
  LOG_LEVEL: oneOf(['trace', 'debug', 'info', 'warn', 'error'], { default: 'info' }),
  ...authEnv,
  SERVICE_IDENTITY: str({ default: 'User1' }),
  AUTHZ_CACHE_TTL_MS: int({ default: 30_000, min: 0, max: 3_600_000 }),
  DHT_GATEWAY_URL: optionalStr(),
  DHT_TOKEN_FILE: optionalStr(),
  STATE_DIR: optionalStr(),
  KEY_RECONCILE_MS: int({ default: 30_000, min: 1_000, max: 3_600_000 }),
});

const logger = createLogger({ name: 'acl-service', level: env.LOG_LEVEL });
const service = await startAclService(
  {
    ...ledgerGatewayFromEnv(env),
    peerHealth: peerHealthFromEnv(env),
    auth: authFromEnv(env, { expectedOrg: env.MSP_ID }),
    serviceIdentity: env.SERVICE_IDENTITY,
    cacheTtlMs: env.AUTHZ_CACHE_TTL_MS,
    ...(env.DHT_GATEWAY_URL ? { dht: env.DHT_GATEWAY_URL } : {}),
    ...(env.DHT_TOKEN_FILE ? { dhtTokenFile: env.DHT_TOKEN_FILE } : {}),
    ...(env.STATE_DIR ? { stateDir: env.STATE_DIR } : {}),
    keyReconcileMs: env.KEY_RECONCILE_MS,
  },
  logger,
);
await runService({ app: service.app, host: env.HOST, port: env.PORT, onClose: () => service.close() });
