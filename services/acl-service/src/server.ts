import { loadEnv } from '@twinledger/config';
import { createLogger } from '@twinledger/observability';
import { runService, warnRenamedEnv } from '@twinledger/service-kit';
import { aclServiceConfig, aclServiceEnv } from './config.js';
import { startAclService } from './main.js';

// The process: environment in, service up, closed on SIGTERM. What it is made of is main.ts.
const env = loadEnv(aclServiceEnv);
const logger = createLogger({ name: 'acl-service', level: env.LOG_LEVEL });
warnRenamedEnv(aclServiceEnv, logger);
const service = await startAclService(aclServiceConfig(env), logger);
await runService({ app: service.app, host: env.HOST, port: env.PORT, onClose: () => service.close() });
