import { loadEnv } from '@twinledger/config';
import { createLogger } from '@twinledger/observability';
import { runService } from '@twinledger/service-kit';
import { deviceAgentConfig, deviceAgentEnv } from './config.js';
import { startDeviceAgentService } from './main.js';

// The process: environment in, agent up, closed on SIGTERM. What it is made of is main.ts.
const env = loadEnv(deviceAgentEnv);
const logger = createLogger({ name: 'device-agent', level: env.LOG_LEVEL });
const service = await startDeviceAgentService(deviceAgentConfig(env), logger);
await runService({ app: service.app, host: env.HOST, port: env.PORT, onClose: () => service.close() });
