import { loadEnv } from '@twinledger/config';
import { createLogger } from '@twinledger/observability';
import { runService } from '@twinledger/service-kit';
import { consoleConfig, consoleEnv } from './config.js';
import { startConsole } from './main.js';

// The process: environment in, console up, closed on SIGTERM. What it is made of is main.ts.
const env = consoleConfig(loadEnv(consoleEnv));
const logger = createLogger({ name: 'console', level: env.LOG_LEVEL });
const service = await startConsole(env, logger);
// The bound address reaches a launcher through the ready report (TWINLEDGER_READY_FILE).
await runService({ app: service.app, host: env.HOST, port: env.PORT, onClose: () => service.close() });
logger.info({ address: service.app.server.address(), org: env.ORG_NAME }, 'console listening');
