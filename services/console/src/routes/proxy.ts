import httpProxy from '@fastify/http-proxy';
import type { ServiceApp } from '@twinledger/service-kit';
import { UpstreamNotConfiguredError } from '../errors.js';

/**
 * The org's services the browser reaches through the console, under /api/<name>. The
 * dht-gateway is not one of them, and must never be: it is internal to the organization and
 * takes service credentials only; users reach off-chain bytes through spec-service, which asks
 * the ledger for the caller's permission first (issue #17). /api/dht/* is an unknown route (404).
 */
export const UPSTREAMS = ['spec', 'acl', 'feeds', 'agent'] as const;
export type UpstreamName = (typeof UPSTREAMS)[number];
export type Upstreams = Readonly<Partial<Record<UpstreamName, string>>>;

/**
 * Reverse proxies, so the browser talks to one origin (no CORS, one CSP `connect-src 'self'`).
 * The console verifies the bearer token first (the shared token rules, and the `org` claim must
 * be this console's organization: it proxies for its own org only), then passes it through
 * untouched: each service authenticates and authorizes the user itself, the console adds no
 * authority of its own. Responses stream (SSE included): no body timeout, no buffering.
 */
export async function proxyRoutes(app: ServiceApp, upstreams: Upstreams): Promise<void> {
  for (const name of UPSTREAMS) {
    const prefix = `/api/${name}`;
    const upstream = upstreams[name];
    if (!upstream) {
      app.all(`${prefix}/*`, { config: { public: true } }, async () => {
        throw new UpstreamNotConfiguredError(name);
      });
      continue;
    }
    await app.register(httpProxy, {
      upstream,
      prefix,
      rewritePrefix: '',
      // Undici's default 300 s body timeout would cut an idle SSE stream; the services bound
      // their own work (gateway deadlines), so the proxy waits longer than they do for headers:
      // creating a plant-size twin (tens of chunk transactions, ADR-14) takes up to two minutes.
      undici: { bodyTimeout: 0, headersTimeout: 300_000, connections: 64 },
      replyOptions: {
        // The console's session cookie and CSRF token are the console's own: no service sees them.
        rewriteRequestHeaders(_req, headers) {
          const { cookie: _cookie, 'x-csrf-token': _csrf, ...rest } = headers;
          return rest;
        },
        onError(reply, { error }) {
          const code = (error as Error & { code?: string }).code ?? error.message;
          reply.log.warn({ err: error, upstream: name }, 'upstream unreachable');
          void reply.code(502).send({
            code: 'UPSTREAM_UNAVAILABLE',
            message: `the ${name} service did not answer (${code})`,
            details: { upstream: name },
            requestId: reply.request.id,
          });
        },
      },
    });
  }
}
