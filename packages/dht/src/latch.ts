/**
 * Opens once `count` successes were counted: what a write or read that answers at its quorum
 * (not at its slowest replica) waits on, raced against the whole round settling.
 */
export interface QuorumLatch {
  readonly reached: Promise<void>;
  /** Counts one success; the count-th opens the latch, later ones change nothing. */
  success(): void;
}

export function quorumLatch(count: number): QuorumLatch {
  let left = count;
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (open = resolve));
  return {
    reached,
    success() {
      if (--left === 0) open();
    },
  };
}
