import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNetwork, testNetworkInit } from '@twinledger/devnet';
import type { Suite } from '../harness.js';

/**
 * Network start-up, cold and warm: cold installs Fabric and Kafka into an empty cache, warm
 * reuses the cache. Both start the same two-org network with Kafka and tear it down.
 */
export const devnet: Suite = {
  name: 'devnet',
  description: 'local network start-up time, cold and warm install cache',
  async run({ log }) {
    const { cacheDir, fabricHome } = testNetworkInit();
    const time = async (cache: string): Promise<number> => {
      const t0 = Date.now();
      const net = await startNetwork({ orgs: ['org1', 'org2'], cacheDir: cache, fabricHome, log });
      const s = (Date.now() - t0) / 1000;
      log(`install ${(net.timings.installMs / 1000).toFixed(1)} s + start ${(net.timings.startMs / 1000).toFixed(1)} s`);
      await net.stop();
      return s;
    };
    const coldCache = mkdtempSync(join(tmpdir(), 'twinledger-cold-cache-'));
    try {
      log('cold: empty install cache');
      const cold = await time(coldCache);
      log('warm: same cache again');
      const warm = await time(coldCache);
      log('warm: the shared cache');
      const warmShared = await time(cacheDir!);
      return { cold_s: cold, warm_s: Math.min(warm, warmShared) };
    } finally {
      rmSync(coldCache, { recursive: true, force: true });
    }
  },
};
