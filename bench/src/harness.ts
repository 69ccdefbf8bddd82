import { readFileSync } from 'node:fs';

/** Shared pieces of every benchmark suite: statistics and the closing BENCH line. */

export interface Suite {
  /** Suite name as given to `npm run bench -- <name>`. */
  readonly name: string;
  readonly description: string;
  /** Runs the measurement against the real local network and returns the figures. */
  run(ctx: SuiteContext): Promise<Record<string, number | string>>;
}

export interface SuiteContext {
  /** Progress lines for people; the last line of the run is printed by the harness. */
  readonly log: (line: string) => void;
  /** Extra arguments after the suite name. */
  readonly args: readonly string[];
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** Rounds for the BENCH line: 3 significant decimals at most. */
export function fmt(n: number | string): string {
  if (typeof n === 'string') return n;
  if (!Number.isFinite(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3);
}

export function benchLine(suite: string, figures: Record<string, number | string>): string {
  return `BENCH ${suite} ${Object.entries(figures)
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join(' ')}`;
}

/** A positive integer option `--<name> <n>` of a suite's arguments, or its default. */
export function arg(args: readonly string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} needs a positive integer`);
  return v;
}

/**
 * Quantile `q` (0-1) of a Prometheus histogram in a /metrics text, interpolated linearly inside
 * its bucket (what PromQL's histogram_quantile does), in the histogram's unit. NaN when empty.
 */
export function histogramQuantile(metricsText: string, name: string, q: number, labels: Readonly<Record<string, string>> = {}): number {
  const buckets: { le: number; count: number }[] = [];
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of metricsText.split('\n')) {
    const m = line.match(new RegExp(`^${name}_bucket\\{(?:.*,)?le="([^"]+)"(?:,.*)?\\} (\\S+)$`));
    if (m && wanted.every((w) => line.includes(w))) buckets.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: Number(m[2]) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / Math.max(1, b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc (Linux; NaN elsewhere). */
export function procCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
