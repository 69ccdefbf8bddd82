import type { Logger } from '@twinledger/observability';

/**
 * A background pass run on a timer and on demand, never two at once: a caller asking while a
 * pass runs shares that pass. Used by repair and garbage collection, which both walk the whole
 * local store and must not overlap themselves.
 */
export interface PeriodicPass<R> {
  start(): void;
  stop(): Promise<void>;
  runOnce(): Promise<R>;
  lastReport(): R | undefined;
}

export function createPeriodicPass<R>(
  init: { readonly intervalMs: number; readonly name: string },
  logger: Logger,
  pass: () => Promise<R>,
): PeriodicPass<R> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<R> | undefined;
  let last: R | undefined;

  function runOnce(): Promise<R> {
    running ??= pass()
      .then((report) => {
        last = report;
        return report;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  return {
    start() {
      // 0 disables the timer: passes then run only through runOnce.
      if (init.intervalMs <= 0 || timer !== undefined) return;
      timer = setInterval(() => {
        runOnce().catch((err: unknown) => logger.warn({ err }, `${init.name} pass failed`));
      }, init.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
    runOnce,
    lastReport: () => last,
  };
}
