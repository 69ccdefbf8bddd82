import { assembleAuditBundle, verifyBlockBundle } from '@twinledger/audit';
import { errorResponses, Type, type ServiceApp } from '@twinledger/service-kit';
// The ledger's twin ID rule; the subpath loads only the schemas (no Fabric client).
import { TwinParams } from '@twinledger/ledger-gateway/schemas';
import { UpstreamNotConfiguredError, UpstreamRefusedError } from '../errors.js';
import type { Upstreams } from './proxy.js';

/** Most feed indices one console audit covers per feed (feed-ingest's evidence limit). */
const MAX_FEED_INDICES = 1000;

const Failure = Type.Object({ code: Type.String(), reason: Type.String() }, { additionalProperties: true });
const Verification = Type.Object(
  {
    ok: Type.Boolean(),
    twinId: Type.Union([Type.String(), Type.Null()]),
    configBlock: Type.Union([Type.Object({ number: Type.Integer(), headerHash: Type.String() }), Type.Null()]),
    completeThrough: Type.Union([Type.Integer(), Type.Null()]),
    checks: Type.Array(Type.Object({ check: Type.String(), ok: Type.Boolean(), count: Type.Integer() })),
    failures: Type.Array(Failure),
    feeds: Type.Array(Type.Object({}, { additionalProperties: true })),
  },
  { description: 'the result of @twinledger/audit verifyBlockBundle on the bundle below' },
);

/**
 * Assembles a twin's audit bundle with its feeds (spec-service's blocks and anchors, feed-ingest's
 * proofs and segments, ADR-18) and runs the offline verifier on it, so the audit tab shows the
 * verifier's result next to the bundle it can download. Every upstream call carries the user's
 * own token: the console adds no authority, and a user sees only what the services give them.
 */
export function auditRoutes(app: ServiceApp, upstreams: Upstreams): void {
  app.get(
    '/api/console/twins/:twinId/audit',
    {
      schema: {
        description: "The twin's audit bundle with feed proofs for feedFrom..feedTo, and the verifier's result on it",
        params: TwinParams,
        querystring: Type.Object(
          {
            feedFrom: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
            feedTo: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ verification: Verification, bundle: Type.Object({}, { additionalProperties: true }) }), ...errorResponses },
      },
    },
    async (req) => {
      const spec = upstreams.spec;
      if (!spec) throw new UpstreamNotConfiguredError('spec');
      const from = req.query.feedFrom ?? 0;
      const to = Math.min(req.query.feedTo ?? from + 99, from + MAX_FEED_INDICES - 1);
      const auth = req.headers.authorization ?? '';
      const get = async (name: string, base: string, path: string): Promise<unknown> => {
        const res = await fetch(new URL(path, base), { headers: { authorization: auth, accept: 'application/json' } });
        const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
        if (!res.ok) throw new UpstreamRefusedError(name, res.status, body.code ?? 'UPSTREAM_ERROR', body.message ?? `answered ${res.status}`);
        return body;
      };
      const feedsBase = upstreams.feeds;
      const full = await assembleAuditBundle(
        { spec: (path) => get('spec', spec, path), ...(feedsBase ? { feeds: (path: string) => get('feeds', feedsBase, path) } : {}) },
        { twinId: req.params.twinId, feedFrom: from, feedTo: to },
      );
      const v = verifyBlockBundle(full);
      return {
        verification: {
          ok: v.ok,
          twinId: v.twinId ?? null,
          configBlock: v.configBlock ?? null,
          completeThrough: v.completeThrough ?? null,
          checks: [...v.checks],
          failures: [...v.failures],
          feeds: [...(v.feeds ?? [])],
        },
        bundle: full as unknown as Record<string, unknown>,
      };
    },
  );
}
