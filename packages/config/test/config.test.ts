import { describe, expect, it } from '@jest/globals';
import { ConfigError, bool, envFor, int, list, loadEnv, oneOf, optionalStr, str } from '../src/index.js';

const spec = {
  PORT: int({ default: 8080, min: 1, max: 65535 }),
  ORG: str({ pattern: /^[A-Za-z0-9]+MSP$/ }),
  LEVEL: oneOf(['debug', 'info'] as const, { default: 'info' }),
  TLS: bool({ default: true }),
  PEERS: list({ default: [] }),
  NOTE: optionalStr(),
};

describe('loadEnv', () => {
  it('parses values and applies defaults', () => {
    const env = loadEnv(spec, { ORG: 'Org1MSP', PEERS: 'a, b,,c', TLS: 'false' });
    expect(env).toEqual({ PORT: 8080, ORG: 'Org1MSP', LEVEL: 'info', TLS: false, PEERS: ['a', 'b', 'c'], NOTE: undefined });
  });

  it('reports every problem at once with a stable code', () => {
    let caught: unknown;
    try {
      loadEnv(spec, { PORT: '70000', LEVEL: 'trace', TLS: 'maybe' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).details?.['problems'] as string[];
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/PORT must be <= 65535/);
    expect(problems.join('\n')).toMatch(/ORG is required/);
    expect((caught as ConfigError).code).toBe('CONFIG_INVALID');
  });

  it('refuses a non-integer', () => {
    expect(() => loadEnv({ N: int() }, { N: '1.5' })).toThrow(/N must be an integer/);
  });
});

describe('envFor', () => {
  const spec = { PORT: int({ default: 1 }), NAME: str(), EXTRA: optionalStr() };
  it("writes a child's environment with the service's own names only, unset values left out", () => {
    expect(envFor(spec, { PORT: 7300, NAME: 'a', EXTRA: undefined })).toEqual({ PORT: '7300', NAME: 'a' });
    const spread: Record<string, string> = { NAME: 'a', PEER_ENDPOINT: 'peer0:7051' };
    expect(() => envFor(spec, spread)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { problems: ['PEER_ENDPOINT'] } }));
  });
});
