import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { ServiceApp } from '@twinledger/service-kit';
import { ValidationError } from '@twinledger/errors';

/**
 * The built single-page app. Client-side routes live in the URL fragment (`#/twins/...`), so the
 * server only serves files that exist. Vite's hashed assets are immutable; index.html is never
 * cached so a new build is picked up at once.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export async function webRoutes(app: ServiceApp, webRoot: string): Promise<void> {
  if (!existsSync(join(webRoot, 'index.html'))) {
    throw new ValidationError(`no built console at ${webRoot} (index.html missing): run npm run build`);
  }
  await app.register(async (scope) => {
    // The app's files are public (sign-in happens inside the app); the plugin takes no route config.
    scope.addHook('onRoute', (route) => {
      route.config = { ...(route.config as object | undefined), public: true } as typeof route.config;
    });
    scope.addHook('onSend', async (_req, reply) => {
      void reply.header('content-security-policy', CSP);
      void reply.header('x-content-type-options', 'nosniff');
      void reply.header('referrer-policy', 'no-referrer');
    });
    await scope.register(fastifyStatic, {
      root: webRoot,
      wildcard: false,
      index: 'index.html',
      schemaHide: true,
      cacheControl: false,
      setHeaders(res, path) {
        res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  });
}
