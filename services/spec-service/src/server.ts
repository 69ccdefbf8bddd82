import { loadEnv } from '@twinledger/config';
import { createLogger } from '@twinledger/observability';
import { runService, warnRenamedEnv } from '@twinledger/service-kit';
import { specServiceConfig, specServiceEnv } from './config.js';
import { startSpecService } from './main.js';

// The process: environment in, service up, closed on SIGTERM. What it is made of is main.ts.
const env = loadEnv(specServiceEnv);
const logger = createLogger({ name: 'spec-service', level: env.LOG_LEVEL });
warnRenamedEnv(specServiceEnv, logger);
const service = await startSpecService(specServiceConfig(env), logger);
await runService({ app: service.app, host: env.HOST, port: env.PORT, onClose: () => service.close() });
