import { Gauge, type Logger, type Registry } from '@twinledger/observability';
import { PEER_RETRY_AFTER_SECONDS, PeerUnavailableError } from './errors.js';

export interface PeerHealthInit {
  /**
   * One cheap call that only succeeds when the peer answers (see createChainInfoProbe). It
   * should carry its own deadline of `probeTimeoutMs`; a probe still pending then counts as failed
   * either way.
   */
  readonly probe: () => Promise<void>;
  /** Pause between probes while nothing else asks for one; default 1000 ms. */
  readonly probeIntervalMs?: number;
  /** A probe that has not answered after this counts as failed; default 400 ms. */
  readonly probeTimeoutMs?: number;
  /** Failed probes in a row that mark the peer down; default 2. One success marks it up. */
  readonly failuresToMarkDown?: number;
  /** A call still pending after this makes the tracker probe at once; default 80 ms. */
  readonly slowCallMs?: number;
  /** Retry-After of the PeerUnavailableError thrown while down; default 2 s. */
  readonly retryAfterSeconds?: number;
  /** The peer's name in logs and the metric label (its endpoint). */
  readonly peer: string;
  readonly logger?: Logger;
  /** Registry for `twinledger_fabric_peer_up` (1 up, 0 down); no metric without it. */
  readonly metrics?: Registry;
}

/**
 * What the service knows of its organization's peer. Requests that need the peer fail at once
 * while it is down, instead of each waiting for its own deadline (issue #27).
 */
export interface PeerHealth {
  /** False from the second failed probe in a row until the next successful one. */
  readonly up: boolean;
  /**
   * True once a probe has answered since start, while `up`: what readiness reports. `up` starts
   * true so calls are not refused before the first probe; readiness must not claim a peer that
   * has never answered (a service started against an unreachable peer is not ready).
   */
  readonly ready: boolean;
  /** When `up` last changed (the tracker's creation before any change). */
  readonly changedAt: Date;
  /** Starts the periodic probe (the state is `up` until a probe says otherwise). */
  start(): void;
  /** Stops the probe timer and waits for a probe in flight. */
  stop(): Promise<void>;
  /**
   * Runs a call that needs the peer and nothing after it has been ordered: throws
   * PeerUnavailableError at once while down, and gives the call up with the same error when the
   * peer goes down while it waits (its late answer is dropped). A call pending for longer than
   * `slowCallMs` makes the tracker probe at once.
   */
  run<T>(call: () => Promise<T>): Promise<T>;
  /** Throws PeerUnavailableError while down. */
  assertUp(): void;
  /** A call failed as the peer would when unreachable: probe now rather than at the next tick. */
  suspect(): void;
  /** Called on every change of `up`; answers the unsubscribe function. */
  onChange(listener: (up: boolean) => void): () => void;
}

export function createPeerHealth(init: PeerHealthInit): PeerHealth {
  const intervalMs = init.probeIntervalMs ?? 1_000;
  const timeoutMs = init.probeTimeoutMs ?? 400;
  const failuresToMarkDown = init.failuresToMarkDown ?? 2;
  const slowCallMs = init.slowCallMs ?? 80;
  const retryAfterSeconds = init.retryAfterSeconds ?? PEER_RETRY_AFTER_SECONDS;
  const log = init.logger?.child({ component: 'peer-health', peer: init.peer });
  const gauge = init.metrics
    ? new Gauge({ name: 'twinledger_fabric_peer_up', help: "1 while the organization's peer answers its health probes, 0 while it is marked down", labelNames: ['peer'], registers: [init.metrics] })
    : undefined;
  gauge?.set({ peer: init.peer }, 1);

  const listeners = new Set<(up: boolean) => void>();
  let up = true;
  let changedAt = new Date();
  let failures = 0;
  let answered = false;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let probing: Promise<void> | undefined;
  let again = false;

  const set = (next: boolean): void => {
    if (next === up) return;
    up = next;
    changedAt = new Date();
    gauge?.set({ peer: init.peer }, next ? 1 : 0);
    if (next) log?.info('peer answers again: marked up');
    else log?.warn({ failures }, 'peer does not answer its health probes: marked down, calls fail fast');
    for (const l of [...listeners]) l(next);
  };

  const probeOnce = async (): Promise<boolean> => {
    let deadline: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        init.probe(),
        new Promise<never>((_, reject) => {
          deadline = setTimeout(() => reject(new Error(`probe took longer than ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return true;
    } catch (err) {
      log?.debug({ err }, 'health probe failed');
      return false;
    } finally {
      clearTimeout(deadline);
    }
  };

  const schedule = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (!running) return;
    timer = setTimeout(() => void probeNow(), intervalMs);
    // The service's server keeps the process alive, not this timer.
    timer.unref();
  };

  const probeNow = (): Promise<void> => {
    // A probe in flight may have started before the trouble: suspicion gets a fresh one after it.
    if (probing) {
      again = true;
      return probing;
    }
    probing = (async () => {
      try {
        // A failure is confirmed by a second probe right away rather than at the next tick, so
        // a frozen peer is marked down about two probe timeouts after it was first suspected.
        for (;;) {
          again = false;
          const ok = await probeOnce();
          if (!running) return;
          if (ok) {
            failures = 0;
            answered = true;
            set(true);
            if (again) continue;
            return;
          }
          failures++;
          if (failures >= failuresToMarkDown) {
            set(false);
            return;
          }
        }
      } finally {
        probing = undefined;
        schedule();
      }
    })();
    return probing;
  };

  const unavailable = (): PeerUnavailableError =>
    new PeerUnavailableError(`the organization's peer ${init.peer} does not answer (down since ${changedAt.toISOString()}); retry later`, { retryAfterSeconds });

  const health: PeerHealth = {
    get up() {
      return up;
    },
    get ready() {
      return answered && up;
    },
    get changedAt() {
      return changedAt;
    },
    start() {
      if (running) return;
      running = true;
      void probeNow();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      timer = undefined;
      await probing;
    },
    assertUp() {
      if (!up) throw unavailable();
    },
    suspect() {
      if (running) void probeNow();
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    run(call) {
      if (!up) return Promise.reject(unavailable());
      return new Promise((resolve, reject) => {
        let settled = false;
        const slow = setTimeout(() => health.suspect(), slowCallMs);
        const off = health.onChange((isUp) => {
          if (!isUp) settle(() => reject(unavailable()));
        });
        const settle = (f: () => void): void => {
          if (settled) return;
          settled = true;
          clearTimeout(slow);
          off();
          f();
        };
        call().then(
          (value) => settle(() => resolve(value)),
          (err: unknown) => settle(() => reject(err)),
        );
      });
    },
  };
  return health;
}
