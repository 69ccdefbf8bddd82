import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * The ready report: a service started with this variable set writes one JSON file there once
 * it listens (and everything it composed has started), so whoever launched it (devnet's
 * `startServiceProcess`, an operator's supervisor) learns the bound address and the service's
 * own facts without parsing log text. Kept free of Fastify so a launcher can import it alone.
 */
export const READY_FILE_ENV = 'TWINLEDGER_READY_FILE';

export interface ReadyReport {
  readonly pid: number;
  /** Base URL to reach the service on this host (a wildcard bind is reported as 127.0.0.1). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** What the service adds (e.g. a DHT node's peer ID and multiaddrs). */
  readonly details: Readonly<Record<string, unknown>>;
}

export function readyReportOf(address: { address: string; port: number }, details: Readonly<Record<string, unknown>> = {}): ReadyReport {
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard ? '127.0.0.1' : address.address;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { pid: process.pid, url: `http://${urlHost}:${address.port}`, host, port: address.port, details };
}

/** Written whole or not at all (rename), so a reader never sees half a report. */
export function writeReadyReport(path: string, report: ReadyReport): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(report));
  renameSync(tmp, path);
}

/** The report at `path`, or undefined while there is none (or it is not a report). */
export function readReadyReport(path: string): ReadyReport | undefined {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const r = JSON.parse(raw) as Partial<ReadyReport>;
    if (typeof r.pid !== 'number' || typeof r.url !== 'string' || typeof r.host !== 'string' || typeof r.port !== 'number') return undefined;
    return { pid: r.pid, url: r.url, host: r.host, port: r.port, details: typeof r.details === 'object' && r.details !== null ? r.details : {} };
  } catch {
    return undefined;
  }
}
