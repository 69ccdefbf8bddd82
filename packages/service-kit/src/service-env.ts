import { bool, int, list, oneOf, renamedInUse, str, type EnvSpec } from '@twinledger/config';
import type { Logger } from '@twinledger/observability';

/** pino's levels, most severe first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/**
 * What every service's process reads the same way: where it listens (`HOST`, default loopback,
 * so a service is never exposed by accident; `PORT`, 0 = any free port, reported in the ready
 * file) and how much it logs (`LOG_LEVEL`). Each service spreads this into its `config.ts` env
 * with its own default port.
 */
export function serviceEnv(init: { readonly port: number }) {
  return {
    HOST: str({ default: '127.0.0.1' }),
    PORT: int({ default: init.port, min: 0, max: 65535 }),
    LOG_LEVEL: oneOf(LOG_LEVELS, { default: 'info' }),
  };
}

/**
 * The V8 flags a process running a DHT node (dht-gateway, feed-ingest) starts with, wherever it
 * runs: the images' CMD (docker/Dockerfile, checked against this by the dht bench), the local
 * consortium's launcher and the bench's node processes. A 128 MB initial old generation: at the
 * default the 1 MiB chunk buffers of a put, counted as external memory, started a full
 * mark-compact every 8-10 MiB (bench/RESULTS.md, issue #25 session 16). Not a cap.
 */
export const DHT_NODE_V8_FLAGS: readonly string[] = ['--initial-old-space-size=128'];

/**
 * What every service that runs a DHT node (dht-gateway, feed-ingest) reads the same way: its
 * listen and bootstrap addresses, the data channel for sealed chunk bodies (ADR-21; false is the
 * rollback to noise + pnet for every byte), whether it carries the other store ops too (ADR-23;
 * false is the rollback to chunk bodies only, store protocol 1.2.0) and its TCP port (0: any;
 * peers learn it over libp2p),
 * the content key file and the replication factor. Defined once so the two services, the
 * launcher and the chart cannot drift apart on a node's settings.
 */
export const dhtNodeEnv = {
  DHT_LISTEN: list({ default: ['/ip4/127.0.0.1/tcp/0'] }),
  DHT_BOOTSTRAP: list({ default: [] }),
  DHT_DATA_CHANNEL: bool({ default: true }),
  DHT_DATA_CHANNEL_METADATA: bool({ default: true }),
  DHT_DATA_PORT: int({ default: 0, min: 0, max: 65535 }),
  DHT_ENCRYPTION_KEY_FILE: str(),
  DHT_REPLICATION: int({ default: 3, min: 1, max: 16 }),
};

/**
 * Logs, once at boot, each renamed variable (`renamed()` in the service's env) that the
 * environment still sets under its former name: it is read for one more release, and the
 * warning is how an operator learns to change the deployment before it stops working.
 */
export function warnRenamedEnv(spec: EnvSpec, logger: Logger, env: NodeJS.ProcessEnv = process.env): void {
  for (const r of renamedInUse(spec, env)) {
    logger.warn({ variable: r.formerly, replacement: r.name }, `${r.formerly} is deprecated: set ${r.name} instead (the former name is read until the next release)`);
  }
}
