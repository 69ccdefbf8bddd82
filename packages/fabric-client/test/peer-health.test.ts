import { afterEach, describe, expect, it } from '@jest/globals';
import { UnavailableError } from '@twinledger/errors';
import { createMetricsRegistry } from '@twinledger/observability';
import { GatewayUnavailableError, PeerUnavailableError, createPeerHealth, type PeerHealth, type PeerHealthInit } from '../src/index.js';

/** A probe whose answers the test scripts: `true` answers, `false` fails, `'hang'` never answers. */
function scriptedProbe(script: (boolean | 'hang')[], otherwise: boolean | 'hang' = true) {
  const calls: number[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const probe = async (): Promise<void> => {
    calls.push(Date.now());
    for (const w of waiters.filter((x) => calls.length >= x.n)) w.resolve();
    const next = script.length > 0 ? script.shift()! : otherwise;
    if (next === 'hang') return new Promise<void>(() => undefined);
    if (!next) throw new Error('peer does not answer');
  };
  /** Resolves once the probe has been called `n` times in all. */
  const called = (n: number) => new Promise<void>((resolve) => (calls.length >= n ? resolve() : waiters.push({ n, resolve })));
  return { probe, calls, called };
}

const changeTo = (h: PeerHealth, up: boolean) => new Promise<void>((resolve) => {
  if (h.up === up) return resolve();
  const off = h.onChange((now) => {
    if (now === up) {
      off();
      resolve();
    }
  });
});

describe('createPeerHealth', () => {
  const started: PeerHealth[] = [];
  const make = (init: Omit<PeerHealthInit, 'peer'>) => {
    const h = createPeerHealth({ peer: 'peer0.org1:7051', probeIntervalMs: 5, probeTimeoutMs: 50, ...init });
    started.push(h);
    return h;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((h) => h.stop()));
  });

  it('stays up after one failed probe and goes down after two in a row', async () => {
    const p = scriptedProbe([true, false, true, false, false], true);
    const h = make({ probe: p.probe });
    const states: boolean[] = [];
    h.onChange((up) => states.push(up));
    h.start();
    await changeTo(h, false);
    // The single failure (2nd probe) was followed by a success: only the pair marks it down.
    expect(p.calls.length).toBe(5);
    expect(states).toEqual([false]);
  });

  it('is not ready before a probe has answered, even while still up (a service started against a dead peer)', async () => {
    const p = scriptedProbe([false], true);
    const h = make({ probe: p.probe, probeIntervalMs: 60_000 });
    expect({ up: h.up, ready: h.ready }).toEqual({ up: true, ready: false });
    h.start();
    await p.called(1);
    // One failure: still up (calls go through), but nothing has ever answered.
    expect({ up: h.up, ready: h.ready }).toEqual({ up: true, ready: false });
    h.suspect();
    await p.called(2);
    await new Promise((r) => setTimeout(r, 10));
    expect({ up: h.up, ready: h.ready }).toEqual({ up: true, ready: true });
  });

  it('is not ready while down after having answered', async () => {
    const p = scriptedProbe([true, false, false], true);
    const h = make({ probe: p.probe, probeIntervalMs: 5 });
    h.start();
    await changeTo(h, false);
    expect(h.ready).toBe(false);
  });

  it('fails calls at once while down, with 503 PEER_UNAVAILABLE and a Retry-After, without calling the peer', async () => {
    const p = scriptedProbe([], false);
    const h = make({ probe: p.probe, probeIntervalMs: 60_000 });
    h.start();
    await changeTo(h, false);
    let called = false;
    const attempt = h.run(async () => {
      called = true;
      return 1;
    });
    await expect(attempt).rejects.toMatchObject({ name: PeerUnavailableError.name, code: 'PEER_UNAVAILABLE', httpStatus: 503, retryAfterSeconds: 2 });
    await expect(attempt).rejects.toBeInstanceOf(GatewayUnavailableError);
    await expect(attempt).rejects.toBeInstanceOf(UnavailableError);
    expect(called).toBe(false);
    expect(() => h.assertUp()).toThrow(PeerUnavailableError);
  });

  it('gives up a call that waits when the peer goes down, and probes at once when a call is slow', async () => {
    // First probe answers; the ones a slow call triggers never do (a frozen peer).
    const p = scriptedProbe([true], 'hang');
    const h = make({ probe: p.probe, probeIntervalMs: 60_000, slowCallMs: 1 });
    h.start();
    await p.called(1);
    await changeTo(h, true);
    // The interval is a minute: only the slow call can have asked for the probes that mark it down.
    const pending = h.run(() => new Promise<never>(() => undefined));
    await expect(pending).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
    expect(h.up).toBe(false);
    expect(p.calls.length).toBe(3);
  });

  it('probes at once when told a call failed as an unreachable peer would', async () => {
    const p = scriptedProbe([true], false);
    const h = make({ probe: p.probe, probeIntervalMs: 60_000 });
    h.start();
    await p.called(1);
    h.suspect();
    await changeTo(h, false);
    expect(p.calls.length).toBe(3);
  });

  it('passes answers and errors of calls through while up', async () => {
    const h = make({ probe: async () => undefined });
    h.start();
    await expect(h.run(async () => 'ok')).resolves.toBe('ok');
    const err = new Error('chaincode said no');
    await expect(h.run(async () => Promise.reject(err))).rejects.toBe(err);
  });

  it('recovers with one successful probe, reports the change and the gauge', async () => {
    const metrics = createMetricsRegistry({ prefix: 'test_', defaultMetrics: false });
    const p = scriptedProbe([false, false, false], true);
    const h = make({ probe: p.probe, metrics });
    const before = h.changedAt;
    h.start();
    await changeTo(h, false);
    expect(await metrics.getSingleMetricAsString('twinledger_fabric_peer_up')).toContain('twinledger_fabric_peer_up{peer="peer0.org1:7051"} 0');
    await changeTo(h, true);
    expect(p.calls.length).toBe(4);
    expect(h.changedAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(await metrics.getSingleMetricAsString('twinledger_fabric_peer_up')).toContain('twinledger_fabric_peer_up{peer="peer0.org1:7051"} 1');
    await expect(h.run(async () => 'again')).resolves.toBe('again');
  });

  it('stops probing on stop(), waiting for a probe in flight', async () => {
    let release: (() => void) | undefined;
    const p = scriptedProbe([], true);
    const h = make({
      probe: async () => {
        await p.probe();
        if (p.calls.length === 3) await new Promise<void>((r) => (release = r));
      },
      probeTimeoutMs: 60_000,
    });
    h.start();
    await p.called(3);
    let stopped = false;
    const stopping = h.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release!();
    await stopping;
    const n = p.calls.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(p.calls.length).toBe(n);
  });
});
