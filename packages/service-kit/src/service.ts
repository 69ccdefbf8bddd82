import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type RawServerDefault } from 'fastify';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { randomUUID } from 'node:crypto';
import { isTwinLedgerError, UnavailableError } from '@twinledger/errors';
import { Histogram, createMetricsRegistry, type Logger, type Registry } from '@twinledger/observability';
import { Type } from '@sinclair/typebox';
import { ErrorResponse, NonFiniteParameterError, TokenMissingError } from './errors.js';
import type { Principal, TokenVerifier } from './auth.js';
import { READY_FILE_ENV, readyReportOf, writeReadyReport } from './ready.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by authentication on every route that is not public. */
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Routes that need no bearer token (health, metrics, docs). */
    public?: boolean;
  }
}

export type ServiceApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** One readiness dependency: its name and a check that throws or returns false when not ready. */
export interface ReadinessCheck {
  readonly name: string;
  readonly check: () => Promise<boolean>;
}

export interface ServiceInit {
  /** Service name, used in logs, metrics and the OpenAPI title. */
  readonly name: string;
  readonly version?: string;
  readonly description?: string;
  readonly logger: Logger;
  /** Registry for this service's metrics; one is made if absent. */
  readonly metrics?: Registry;
  /** Verifies bearer tokens; without it, no route authenticates (internal-only services). */
  readonly auth?: TokenVerifier;
  /**
   * Where a request without an `Authorization: Bearer` header finds its token (the console's
   * sign-in session cookie); undefined: nowhere, the request is refused as before. The token
   * found is verified like any bearer token and set as the request's Authorization header, so
   * whatever forwards the request (the console's proxy) carries it.
   */
  readonly credentials?: (req: FastifyRequest) => Promise<string | undefined>;
  readonly readiness?: readonly ReadinessCheck[];
  /** Default body limit in bytes; routes may set their own. Default 1 MiB. */
  readonly bodyLimit?: number;
}

/**
 * A Fastify app with what every TwinLedger service shares: request ids, JSON logs, OpenAPI at
 * /docs, /healthz, /readyz, /metrics, bearer-token authentication and one error model.
 * Routes are registered by the caller as encapsulated plugins.
 */
export async function buildService(init: ServiceInit): Promise<ServiceApp> {
  const metrics = init.metrics ?? createMetricsRegistry({ prefix: 'twinledger_' });
  const app = Fastify({
    loggerInstance: init.logger,
    bodyLimit: init.bodyLimit ?? 1024 * 1024,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    return503OnClosing: true,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as ServiceApp;

  app.addSchema(ErrorResponse);

  const duration = new Histogram({
    name: 'twinledger_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['service', 'method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metrics],
  });
  app.addHook('onResponse', async (req, reply) => {
    duration.observe(
      { service: init.name, method: req.method, route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  if (init.auth) {
    const verifier = init.auth;
    app.addHook('onRequest', async (req) => {
      if (req.routeOptions.config?.public || req.url.startsWith('/docs')) return;
      let header = req.headers.authorization;
      if (header === undefined && init.credentials) {
        const token = await init.credentials(req);
        if (token !== undefined) header = req.headers.authorization = `Bearer ${token}`;
      }
      if (typeof header !== 'string' || !header.startsWith('Bearer ')) {
        throw new TokenMissingError();
      }
      req.principal = await verifier.verify(header.slice('Bearer '.length).trim());
      req.log = req.log.child({ sub: req.principal.subject, mspId: req.principal.mspId });
    });
  }

  // Ajv coerces a query or path string such as `1e309` to Infinity and then skips that number's
  // own limits (minimum, maximum), so no route schema can refuse it: a fence on block Infinity
  // waited, then answered 504. No parameter of ours takes an infinite number.
  app.addHook('preHandler', async (req) => {
    for (const [context, values] of [['querystring', req.query], ['params', req.params]] as const) {
      if (typeof values !== 'object' || values === null) continue;
      for (const [name, value] of Object.entries(values)) {
        for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'number' && !Number.isFinite(v)) throw new NonFiniteParameterError(context, name);
      }
    }
  });

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}`, requestId: req.id });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: `TwinLedger ${init.name}`, version: init.version ?? '0.1.0', description: init.description ?? '' },
      components: init.auth ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } } : {},
      security: init.auth ? [{ bearer: [] }] : [],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const ops = { config: { public: true }, schema: { hide: false, tags: ['operations'] } } as const;
  app.get('/healthz', { ...ops, schema: { ...ops.schema, response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }));
  app.get(
    '/readyz',
    {
      ...ops,
      schema: {
        ...ops.schema,
        response: {
          200: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.Boolean()) }),
          503: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.Boolean()) }),
        },
      },
    },
    async (_req, reply) => {
      const checks: Record<string, boolean> = {};
      await Promise.all(
        (init.readiness ?? []).map(async (r) => {
          checks[r.name] = await r.check().catch(() => false);
        }),
      );
      const ok = Object.values(checks).every(Boolean);
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks });
    },
  );
  app.get('/metrics', { ...ops, schema: { ...ops.schema, produces: ['text/plain'] } }, async (_req, reply) => {
    void reply.header('content-type', metrics.contentType);
    return metrics.metrics();
  });
  app.decorate('metricsRegistry', metrics);
  return app;
}

/** An error as every service answers it: status, the headers it needs and the ErrorResponse body. */
export interface DescribedError {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: ErrorResponse;
}

/**
 * The one mapping of errors to HTTP answers: the services' error handler sends it as is, a
 * route family with another error format (spec-service's AAS API) reshapes its body, so both
 * answer the same status and code for the same failure.
 */
export function describeError(err: FastifyError | Error, req: FastifyRequest): DescribedError {
  if (isTwinLedgerError(err)) {
    if (err.httpStatus >= 500) req.log.warn({ err }, 'dependency failure');
    const headers: Record<string, string> = err instanceof UnavailableError && err.retryAfterSeconds !== undefined ? { 'retry-after': String(err.retryAfterSeconds) } : {};
    return { status: err.httpStatus, headers, body: { ...err.toJSON(), requestId: req.id } };
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    return {
      status: 400,
      headers: {},
      body: {
        code: 'VALIDATION_FAILED',
        message: `${fe.validationContext ?? 'request'} ${fe.validation[0]?.instancePath ?? ''} ${fe.validation[0]?.message ?? 'is invalid'}`.replace(/\s+/g, ' ').trim(),
        details: { errors: fe.validation.map((v) => ({ path: v.instancePath, message: v.message ?? '' })) },
        requestId: req.id,
      },
    };
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, headers: {}, body: { code: 'PAYLOAD_TOO_LARGE', message: fe.message, requestId: req.id } };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors (bad JSON, unsupported media type): stable code from Fastify's.
    return { status: fe.statusCode, headers: {}, body: { code: fe.code?.replace(/^FST_ERR_/, '') ?? 'BAD_REQUEST', message: fe.message, requestId: req.id } };
  }
  req.log.error({ err }, 'unhandled error');
  return { status: 500, headers: {}, body: { code: 'INTERNAL', message: 'internal error', requestId: req.id } };
}

/**
 * What Node's HTTP parser refuses before any route sees it (a request line or headers over the
 * size limit, a malformed request, a client too slow to send its head), answered in the one
 * error model: Fastify's default body has no `code`, and the console's proxy passes a
 * service's answer through as it is.
 */
function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'REQUEST_TIMEOUT', 'the request was not received in time']
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'HEADERS_TOO_LARGE', 'the request line or headers exceed the size limit']
    : [400, 'BAD_REQUEST', 'the request is not valid HTTP'];
  const body = JSON.stringify({ code, message });
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy(err);
}

function errorHandler(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  const d = describeError(err, req);
  void reply.code(d.status).headers(d.headers).send(d.body);
}

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry;
  }
}

export interface RunInit {
  readonly app: ServiceApp;
  readonly host: string;
  readonly port: number;
  /** Released after the server stops taking requests (consumers, gateways, DHT node). */
  readonly onClose?: () => Promise<void>;
  /** Facts the ready report carries besides the address (see ready.ts). */
  readonly ready?: () => Readonly<Record<string, unknown>>;
}

/**
 * Listens, writes the ready report when `TWINLEDGER_READY_FILE` is set, and closes gracefully
 * on SIGTERM/SIGINT: in-flight requests finish first.
 */
export async function runService(init: RunInit): Promise<void> {
  await init.app.listen({ host: init.host, port: init.port });
  const readyFile = process.env[READY_FILE_ENV];
  const address = init.app.server.address();
  if (readyFile !== undefined && readyFile !== '' && address !== null && typeof address === 'object') {
    writeReadyReport(readyFile, readyReportOf(address, init.ready?.() ?? {}));
  }
  let closing = false;
  const close = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    init.app.log.info({ signal }, 'shutting down');
    await init.app.close();
    await init.onClose?.();
    process.exit(0);
  };
  process.once('SIGTERM', () => void close('SIGTERM'));
  process.once('SIGINT', () => void close('SIGINT'));
}
