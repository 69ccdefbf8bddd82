import { loadEnv } from '@twinledger/config';
import { createLogger } from '@twinledger/observability';
import { runService } from '@twinledger/service-kit';
import { dhtGatewayConfig, dhtGatewayEnv } from './config.js';
import { startDhtGateway } from './main.js';

// The process: environment in, gateway up, closed on SIGTERM. What it is made of is main.ts.
const env = loadEnv(dhtGatewayEnv);
const logger = createLogger({ name: 'dht-gateway', level: env.LOG_LEVEL });
const gateway = await startDhtGateway(dhtGatewayConfig(env), logger);
const { app, node } = gateway;
await runService({ app, host: env.HOST, port: env.PORT, ready: () => ({ peerId: node.peerId, dht: node.multiaddrs() }), onClose: () => gateway.close() });
logger.info({ peerId: node.peerId, dht: node.multiaddrs(), port: env.PORT }, 'dht-gateway listening');
