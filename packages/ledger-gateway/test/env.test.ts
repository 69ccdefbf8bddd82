import { describe, expect, it } from '@jest/globals';
import { loadEnv } from '@twinledger/config';
import { peerHealthEnv, peerHealthFromEnv } from '../src/index.js';

describe('peerHealthEnv', () => {
  it('defaults to a probe every 1000 ms with a 400 ms deadline', () => {
    expect(peerHealthFromEnv(loadEnv(peerHealthEnv, {}))).toEqual({ probeIntervalMs: 1000, probeTimeoutMs: 400 });
  });

  it('refuses malformed or out-of-range values at boot with CONFIG_INVALID naming the variable', () => {
    expect(() => loadEnv(peerHealthEnv, { PEER_PROBE_INTERVAL_MS: 'soon' })).toThrow(/PEER_PROBE_INTERVAL_MS must be an integer/);
    expect(() => loadEnv(peerHealthEnv, { PEER_PROBE_TIMEOUT_MS: '10' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/PEER_PROBE_TIMEOUT_MS must be >= 50/) }));
  });

  it('refuses a timeout that is not below the interval', () => {
    const env = loadEnv(peerHealthEnv, { PEER_PROBE_INTERVAL_MS: '500', PEER_PROBE_TIMEOUT_MS: '500' });
    expect(() => peerHealthFromEnv(env)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { problems: ['PEER_PROBE_TIMEOUT_MS'] } }));
  });
});
