import { int, oneOf, renamedInUse, str, type EnvSpec } from '@twinledger/config';
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
 * Logs, once at boot, each renamed variable (`renamed()` in the service's env) that the
 * environment still sets under its former name: it is read for one more release, and the
 * warning is how an operator learns to change the deployment before it stops working.
 */
export function warnRenamedEnv(spec: EnvSpec, logger: Logger, env: NodeJS.ProcessEnv = process.env): void {
  for (const r of renamedInUse(spec, env)) {
    logger.warn({ variable: r.formerly, replacement: r.name }, `${r.formerly} is deprecated: set ${r.name} instead (the former name is read until the next release)`);
  }
}
