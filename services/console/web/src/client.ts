// The typed client of the org's services as the console proxies them (/api/<service>/...).
// Response types come from the services' OpenAPI documents (src/api/*.ts, generated); where a
// service passes a chaincode result through untyped, src/ledger-types.ts names its shape.
import type { paths as AclPaths } from './api/acl';
import type { paths as AgentPaths } from './api/agent';
import type { paths as FeedPaths } from './api/feeds';
import type { paths as SpecPaths } from './api/spec';

export interface ServicePaths {
  spec: SpecPaths;
  acl: AclPaths;
  feeds: FeedPaths;
  agent: AgentPaths;
}
export type Service = keyof ServicePaths;
type Method = 'get' | 'post' | 'put' | 'delete';
type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : unknown;
type Success<Rs> = 200 extends keyof Rs ? JsonOf<Rs[200]> : 201 extends keyof Rs ? JsonOf<Rs[201]> : 202 extends keyof Rs ? JsonOf<Rs[202]> : unknown;
type Op<S extends Service, P extends keyof ServicePaths[S], M extends Method> = ServicePaths[S][P] extends Record<M, infer O> ? O : never;
export type Ok<S extends Service, P extends keyof ServicePaths[S], M extends Method> = Op<S, P, M> extends { responses: infer Rs } ? Success<Rs> : unknown;
type BodyOf<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** A refusal or failure from a service, with the service's stable code: shown as is, never swallowed. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly service: string,
    readonly requestId?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface CallOptions<B> {
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: B;
  readonly raw?: { body: BodyInit; contentType: string };
  readonly signal?: AbortSignal;
}

// Signed in through the organization's identity provider, the browser holds no token at all:
// the console's HttpOnly session cookie goes with every same-origin request, and state-changing
// calls add the session's CSRF token. A bearer token is held only by dev sign-in (test harnesses).
let currentToken: string | undefined;
let csrfToken: string | undefined;
let onUnauthenticated: (() => void) | undefined;
export function setToken(token: string | undefined): void {
  currentToken = token;
}
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}
export function onSignedOut(fn: () => void): void {
  onUnauthenticated = fn;
}

export function buildUrl(service: Service | 'console', path: string, params: Readonly<Record<string, string>> = {}, query: CallOptions<never>['query'] = {}): string {
  const filled = path.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = params[k];
    if (v === undefined) throw new Error(`missing path parameter ${k} for ${path}`);
    return encodeURIComponent(v);
  });
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) qs.set(k, String(v));
  const q = qs.toString();
  return `/api/${service}${filled}${q ? `?${q}` : ''}`;
}

function authHeaders(method = 'GET'): Record<string, string> {
  if (currentToken) return { authorization: `Bearer ${currentToken}` };
  return csrfToken && method.toUpperCase() !== 'GET' ? { 'x-csrf-token': csrfToken } : {};
}

/**
 * Ends the cookie session at the console (which revokes its refresh token) and returns where to
 * send the browser: the identity provider's sign-out page, which comes back to the console.
 */
export async function signOutOfSession(): Promise<string> {
  const res = await fetch('/auth/logout', { method: 'POST', headers: csrfToken ? { 'x-csrf-token': csrfToken } : {} });
  if (!res.ok) throw await toApiError(res, 'console');
  csrfToken = undefined;
  return ((await res.json()) as { redirect: string }).redirect;
}

export async function toApiError(res: Response, service: string): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { code?: string; message?: string; requestId?: string; details?: Record<string, unknown> };
    return new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? res.statusText, service, body.requestId, body.details);
  } catch {
    return new ApiError(res.status, `HTTP_${res.status}`, text.slice(0, 300) || res.statusText, service);
  }
}

/** Sends a request; resolves with the typed success body, rejects with ApiError. */
export async function call<S extends Service, P extends keyof ServicePaths[S] & string, M extends Method>(
  service: S,
  method: M,
  path: P,
  opts: CallOptions<BodyOf<Op<S, P, M>>> = {},
): Promise<Ok<S, P, M>> {
  const res = await send(service, method, path, opts);
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as Ok<S, P, M>;
}

/** Like `call` but returns the Response (downloads, non-JSON bodies). */
/** The largest page the services serve (the chaincode's Limits.MAX_PAGE_SIZE). */
export const MAX_PAGE = 1000;

/**
 * Every item of a paged route ({items, bookmark}; history: {changes, bookmark}), page after
 * page until the bookmark is '': the console shows whole lists, never a first page as if it
 * were all.
 */
export async function allPages<T>(read: (bookmark: string | undefined) => Promise<{ bookmark: string } & ({ items: T[] } | { changes: T[] })>): Promise<T[]> {
  const out: T[] = [];
  let bookmark: string | undefined;
  for (;;) {
    const page = await read(bookmark);
    out.push(...('items' in page ? page.items : page.changes));
    if (page.bookmark === '') return out;
    // A bookmark answered twice would loop; stopping there would show part of a list as all of it.
    if (page.bookmark === bookmark) throw new Error('the list answered the same bookmark twice; it cannot be read whole');
    bookmark = page.bookmark;
  }
}

/** Like `call` but returns the Response (downloads, non-JSON bodies). */
export async function send(service: Service | 'console', method: Method, path: string, opts: CallOptions<unknown> = {}): Promise<Response> {
  const headers: Record<string, string> = { ...authHeaders(method) };
  let body: BodyInit | undefined;
  if (opts.raw) {
    headers['content-type'] = opts.raw.contentType;
    body = opts.raw.body;
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(buildUrl(service, path, opts.params, opts.query), { method: method.toUpperCase(), headers, body, signal: opts.signal ?? null });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', `the console could not be reached: ${(err as Error).message}`, service);
  }
  if (!res.ok) {
    const err = await toApiError(res, service);
    if (res.status === 401 && onUnauthenticated) onUnauthenticated();
    throw err;
  }
  return res;
}

export interface SseMessage {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: string;
}

/**
 * Server-Sent Events over fetch: EventSource cannot send the bearer token, and a token in the
 * URL would land in logs. Reconnects with Last-Event-ID until aborted.
 */
export async function streamEvents(url: string, onMessage: (m: SseMessage) => void, signal: AbortSignal, onError?: (e: ApiError) => void): Promise<void> {
  let lastId: string | undefined;
  while (!signal.aborted) {
    try {
      const res = await fetch(url, { headers: { ...authHeaders(), accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) }, signal });
      if (!res.ok || !res.body) {
        const err = await toApiError(res, url.split('/')[2] ?? 'console');
        onError?.(err);
        if (res.status === 401 || res.status === 403 || res.status === 404) return;
      } else {
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let event = 'message';
            let id: string | undefined;
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const i = line.indexOf(':');
              const field = i < 0 ? line : line.slice(0, i);
              const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
              if (field === 'event') event = val;
              else if (field === 'id') id = val;
              else if (field === 'data') data.push(val);
            }
            if (id !== undefined) lastId = id;
            if (data.length > 0) onMessage({ event, id, data: data.join('\n') });
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      onError?.(new ApiError(0, 'STREAM_INTERRUPTED', `live updates interrupted: ${(err as Error).message}`, 'console'));
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
