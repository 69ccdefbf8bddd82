// What every service's process reads the same way, and how a renamed variable is reported.
import { describe, expect, it } from '@jest/globals';
import { loadEnv, renamed, str } from '@twinledger/config';
import { createLogger } from '@twinledger/observability';
import { serviceEnv, warnRenamedEnv } from '../src/index.js';

/** A logger whose lines the test reads. */
function captured(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const logger = createLogger({ name: 't', destination: { write: (s: string) => void out.push(s) } });
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('serviceEnv', () => {
  it('listens on loopback by default, on the service\'s port, logging at info', () => {
    expect(loadEnv(serviceEnv({ port: 7300 }), {})).toEqual({ HOST: '127.0.0.1', PORT: 7300, LOG_LEVEL: 'info' });
    expect(() => loadEnv(serviceEnv({ port: 7300 }), { LOG_LEVEL: 'verbose' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('warnRenamedEnv', () => {
  const spec = { DATA_DIR: renamed('STATE_DIR', str()) };

  it('logs one deprecation warning per former name still set, naming both', () => {
    const { logger, lines } = captured();
    warnRenamedEnv(spec, logger, { STATE_DIR: '/old' });
    expect(lines()).toEqual([expect.objectContaining({ level: 40, variable: 'STATE_DIR', replacement: 'DATA_DIR', msg: expect.stringContaining('STATE_DIR is deprecated: set DATA_DIR') })]);
  });

  it('is silent when only the new name is set', () => {
    const { logger, lines } = captured();
    warnRenamedEnv(spec, logger, { DATA_DIR: '/new' });
    expect(lines()).toEqual([]);
  });
});
