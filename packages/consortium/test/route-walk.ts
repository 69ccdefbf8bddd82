import { randomBytes } from 'node:crypto';
import { request, type HttpAnswer } from '../src/http.js';

/** The ids a walk substitutes into path parameters, by parameter name. */
export type PathValues = Readonly<Record<string, string>>;

/** What one request of a walk got back. */
export interface WalkHit {
  readonly service: string;
  readonly method: string;
  readonly route: string;
  readonly url: string;
  readonly status: number;
  /** The markers of protected data found in the answer (empty when none leaked). */
  readonly leaked: readonly string[];
}

interface OpenApiDocument {
  readonly paths?: Record<string, Record<string, { readonly parameters?: ReadonlyArray<{ readonly in: string; readonly name: string; readonly schema?: { readonly type?: string } }> } | undefined>>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/**
 * Walks every operation of a service's published OpenAPI document (GET /docs/json) with one
 * caller's token: path parameters get the values named in `values` (the protected twin, its
 * document, its feed), any other parameter a random id, bodies an empty JSON object. Every
 * answer is searched for the markers of protected data. SSE routes are cut after `timeoutMs`
 * (a refused caller gets its 401/403 at once; a stream that opened is reported as status 200).
 */
export async function walkOpenApi(service: string, baseUrl: string, token: string, values: PathValues, markers: readonly string[], timeoutMs = 8_000): Promise<WalkHit[]> {
  const docRes = await request(`${baseUrl}/docs/json`);
  if (docRes.status !== 200) throw new Error(`${service}: /docs/json answered ${docRes.status}`);
  const doc = docRes.json as OpenApiDocument;
  const hits: WalkHit[] = [];
  for (const [route, ops] of Object.entries(doc.paths ?? {})) {
    if (route.startsWith('/docs')) continue;
    for (const method of METHODS) {
      const op = ops[method];
      if (op === undefined) continue;
      const path = route.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(values[name] ?? randomBytes(8).toString('hex')));
      const query = new URLSearchParams();
      for (const p of op.parameters ?? []) {
        if (p.in === 'query' && values[p.name] !== undefined) query.set(p.name, values[p.name]!);
      }
      const url = `${baseUrl}${path}${query.size > 0 ? `?${query.toString()}` : ''}`;
      const answer = await send(url, method.toUpperCase(), token, timeoutMs);
      const text = answer.bytes.toString('utf8');
      hits.push({ service, method: method.toUpperCase(), route, url, status: answer.status, leaked: markers.filter((m) => text.includes(m)) });
    }
  }
  return hits;
}

async function send(url: string, method: string, token: string, timeoutMs: number): Promise<Pick<HttpAnswer, 'status' | 'bytes'>> {
  const withBody = method !== 'GET' && method !== 'DELETE';
  try {
    return await request(url, { method, token, ...(withBody ? { json: {} } : {}), timeoutMs });
  } catch (err) {
    // Only an open stream (SSE) outlives the timeout: the caller was served, which the
    // assertions treat like any 200.
    if ((err as Error).name === 'TimeoutError') return { status: 200, bytes: Buffer.from(`stream open: ${url}`) };
    throw err;
  }
}
