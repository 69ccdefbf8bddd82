import { pino, type Logger, type LoggerOptions } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';

export type { Logger } from 'pino';

export interface LoggerInit {
  /** The component name, logged as `component` on every line. */
  readonly name: string;
  /** pino level; defaults to LOG_LEVEL-free 'info' (the caller reads the environment, not us). */
  readonly level?: LoggerOptions['level'];
  /** Where lines go; defaults to stdout. Tests pass a stream to capture them. */
  readonly destination?: pino.DestinationStream;
}

/** A JSON logger. Components derive child loggers from it rather than making their own. */
export function createLogger(init: LoggerInit): Logger {
  const options: LoggerOptions = {
    level: init.level ?? 'info',
    base: { component: init.name },
    // Keys and tokens never reach the logs, whatever a caller passes in.
    redact: { paths: ['*.authorization', '*.privateKey', '*.dataKey', 'req.headers.authorization'], censor: '[redacted]' },
  };
  return init.destination ? pino(options, init.destination) : pino(options);
}

/** A silent logger for unit tests and libraries used without one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export interface MetricsInit {
  /** Prefix for every metric this registry's owner creates, e.g. `twinledger_dht_`. */
  readonly prefix: string;
  /** Collect Node process metrics (CPU, memory, event loop lag). */
  readonly defaultMetrics?: boolean;
}

/** A prom-client registry per service, so several services in one process never collide. */
export function createMetricsRegistry(init: MetricsInit): Registry {
  const registry = new Registry();
  if (init.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: init.prefix });
  return registry;
}

export { Registry, Counter, Gauge, Histogram, Summary } from 'prom-client';
