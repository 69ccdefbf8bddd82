import { int, oneOf, str } from '@twinledger/config';

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
