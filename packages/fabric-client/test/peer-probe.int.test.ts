import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fabricAvailability, startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { createChainInfoProbe, createPeerConnectionPool, createPeerHealth, loadIdentity, type PeerConnectionPool, type PeerHealth, type PeerProbe } from '../src/index.js';

/*
 * The health tracker against a real peer (issue #27): the qscc probe answers, a frozen peer
 * (SIGSTOP) is marked down, a thawed one up again. Times are logged, not asserted.
 */

const fabric = await fabricAvailability();
const log = (line: string) => process.stderr.write(`[peer-probe] ${line}\n`);

/** Resolves when `health.up` becomes `up`; answers the milliseconds it took. */
function becomes(health: PeerHealth, up: boolean): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    if (health.up === up) return resolve(0);
    const off = health.onChange((now) => {
      if (now !== up) return;
      off();
      resolve(Math.round(performance.now() - t0));
    });
  });
}

(fabric.ok ? describe : describe.skip)('peer health probe on a real peer', () => {
  let net: DevNetwork;
  let pool: PeerConnectionPool;
  let probe: PeerProbe;
  let health: PeerHealth;

  beforeAll(async () => {
    net = await startNetwork({ orgs: ['org1'], kafka: false, ...testNetworkInit() });
    const org = net.orgs[0]!;
    pool = createPeerConnectionPool();
    probe = createChainInfoProbe({ pool, peer: org.peer, identity: await loadIdentity(org.users[0]!), channel: net.channel, timeoutMs: 400 });
    health = createPeerHealth({ peer: org.peer.endpoint, probe: () => probe.probe(), probeIntervalMs: 1_000, probeTimeoutMs: 400 });
  });

  afterAll(async () => {
    net?.orgs[0]?.peerProcess.resume();
    await health?.stop();
    probe?.close();
    pool?.close();
    await net?.stop();
  });

  it('answers through qscc GetChainInfo while the peer runs', async () => {
    await expect(probe.probe()).resolves.toBeUndefined();
    health.start();
    expect(health.up).toBe(true);
  });

  it('marks the peer down while it is frozen and up again after SIGCONT', async () => {
    const peer = net.orgs[0]!.peerProcess;
    peer.pause();
    let downMs: number;
    try {
      downMs = await becomes(health, false);
      await expect(probe.probe()).rejects.toThrow();
      await expect(health.run(async () => 'not sent')).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE', retryAfterSeconds: 2 });
    } finally {
      peer.resume();
    }
    const upMs = await becomes(health, true);
    log(`frozen peer marked down after ${downMs} ms (periodic probe only, every 1000 ms); up again ${upMs} ms after SIGCONT`);
    await expect(probe.probe()).resolves.toBeUndefined();
  });
});
