import { describe, expect, it } from '@jest/globals';
import { ConfigError, bool, envFor, int, list, loadEnv, oneOf, optionalStr, renamed, renamedInUse, str } from '../src/index.js';

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

describe('renamed variables (read under the former name for one release)', () => {
  const spec = { DATA_DIR: renamed('STATE_DIR', str()), PORT: int({ default: 1 }) };

  it('reads the new name, else the former one, and says which former names are in use', () => {
    expect(loadEnv(spec, { DATA_DIR: '/new' }).DATA_DIR).toBe('/new');
    expect(renamedInUse(spec, { DATA_DIR: '/new' })).toEqual([]);
    expect(loadEnv(spec, { STATE_DIR: '/old' }).DATA_DIR).toBe('/old');
    expect(renamedInUse(spec, { STATE_DIR: '/old' })).toEqual([{ name: 'DATA_DIR', formerly: 'STATE_DIR' }]);
    // Both, agreeing: read, and still reported (the deployment should drop the old name).
    expect(loadEnv(spec, { DATA_DIR: '/same', STATE_DIR: '/same' }).DATA_DIR).toBe('/same');
    expect(renamedInUse(spec, { DATA_DIR: '/same', STATE_DIR: '/same' })).toHaveLength(1);
  });

  it('refuses both names set to different values, and neither when required', () => {
    expect(() => loadEnv(spec, { DATA_DIR: '/new', STATE_DIR: '/old' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { problems: [expect.stringContaining('DATA_DIR and its former name STATE_DIR are both set')] } }));
    expect(() => loadEnv(spec, {})).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { problems: ['DATA_DIR is required'] } }));
  });

  it('is not a name a launcher may write (envFor takes the new name only)', () => {
    expect(() => envFor(spec, { STATE_DIR: '/old' } as never)).toThrow(expect.objectContaining({ details: { problems: ['STATE_DIR'] } }));
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
