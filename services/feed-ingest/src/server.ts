import { loadEnv } from '@twinledger/config';
import { createLogger } from '@twinledger/observability';
import { runService } from '@twinledger/service-kit';
import { feedIngestConfig, feedIngestEnv } from './config.js';
import { startFeedIngest } from './main.js';

// The process: environment in, service up, closed on SIGTERM. What it is made of is main.ts.
const env = loadEnv(feedIngestEnv);
const logger = createLogger({ name: 'feed-ingest', level: env.LOG_LEVEL });
const service = await startFeedIngest(feedIngestConfig(env), logger);
const { app, dht } = service;
// The bound address and the DHT node's identity reach a launcher through the ready report.
await runService({ app, host: env.HOST, port: env.PORT, ready: () => ({ peerId: dht.peerId, multiaddrs: dht.multiaddrs() }), onClose: () => service.close() });
logger.info({ peerId: dht.peerId, multiaddrs: dht.multiaddrs(), address: app.server.address() }, 'feed-ingest listening');
