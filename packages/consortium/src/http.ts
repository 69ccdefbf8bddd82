import { WaitTimeoutError } from './errors.js';

/** One HTTP answer, body read whole (the scenario's payloads are small). */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Buffer;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: unknown;
}

export interface RequestOptions {
  readonly method?: string;
  readonly token?: string;
  /** Sent as JSON. */
  readonly json?: unknown;
  /** Sent as application/octet-stream. */
  readonly bytes?: Uint8Array;
  readonly timeoutMs?: number;
}

/** A plain REST call as a user's client makes it; never throws on an HTTP status. */
export async function request(url: string, opts: RequestOptions = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
  let body: string | Uint8Array | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.bytes !== undefined) {
    headers['content-type'] = 'application/octet-stream';
    body = opts.bytes;
  }
  const res = await fetch(url, {
    method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: unknown;
  if ((res.headers.get('content-type') ?? '').includes('json')) {
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      json = undefined;
    }
  }
  return { status: res.status, headers: res.headers, bytes, json };
}

export interface WaitOptions {
  /** What is awaited, for the error message. */
  readonly step: string;
  readonly timeoutMs: number;
  /** Pause between polls; the condition is what synchronizes, never the pause. */
  readonly intervalMs?: number;
  /** Stops waiting early with this error (a process that died, for example). */
  readonly abort?: () => Error | undefined;
}

/**
 * Polls `probe` until it returns a value other than undefined, within a bounded time. Errors
 * thrown by the probe count as "not yet" (a service still starting refuses connections); the
 * last one is reported on timeout.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    const aborted = opts.abort?.();
    if (aborted) throw aborted;
    try {
      const v = await probe();
      if (v !== undefined) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const seen = last instanceof Error ? last.message : last === undefined ? 'condition not met' : String(last);
      throw new WaitTimeoutError(`${opts.step}: not reached within ${Math.round(opts.timeoutMs / 1000)} s (last: ${seen})`, {
        details: { step: opts.step, timeoutMs: opts.timeoutMs, last: seen },
      });
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 250));
  }
}

/** A write's answer, or the fenced read that found it committed after 504 OUTCOME_UNKNOWN. */
export type WriteOutcome = { readonly res: HttpAnswer } | { readonly lookedUp: string; readonly read: HttpAnswer };

/**
 * Sends a write the way docs/api.md tells a client to: 504 OUTCOME_UNKNOWN (a BFT ordering
 * service short of a quorum for a moment was seen on the first write after start-up) means
 * "look the outcome up before trying again". `lookUp(tx)` is a read fenced on that transaction
 * that answers 200 once it committed; the write is sent again (at most twice) only if it never
 * did within `lookUpMs`.
 */
export async function writeOrLookUp(
  step: string,
  send: () => Promise<HttpAnswer>,
  lookUp: (tx: string) => Promise<HttpAnswer>,
  opts: { readonly lookUpMs?: number; readonly intervalMs?: number } = {},
): Promise<WriteOutcome> {
  let res = await send();
  for (let attempt = 0; attempt < 2 && res.status === 504 && (res.json as { code?: string } | undefined)?.code === 'OUTCOME_UNKNOWN'; attempt++) {
    const tx = (res.json as { details?: { transactionId?: string } }).details?.transactionId;
    const read =
      tx === undefined
        ? undefined
        : await waitFor(
            async () => {
              const r = await lookUp(tx);
              return r.status === 200 ? r : undefined;
            },
            { step: `${step}: outcome of ${tx}`, timeoutMs: opts.lookUpMs ?? 30_000, intervalMs: opts.intervalMs ?? 1000 },
          ).catch(() => undefined);
    if (read) return { lookedUp: tx!, read };
    res = await send();
  }
  return { res };
}
