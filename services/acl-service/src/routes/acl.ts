import { TwinLedgerError } from '@twinledger/errors';
import { ALL_PERMISSIONS, Roles, type GrantSpec, type Permission } from '@twinledger/ledger';
import { Committed, LedgerRecord, MspId, TwinId, TwinParams, committed } from '@twinledger/ledger-gateway';
import type { ServiceApp } from '@twinledger/service-kit';
import { PageOf, PageQuery, Type, errorResponses, withErrors } from '@twinledger/service-kit';
import type { Authorizer } from '../domain/authorizer.js';
import type { KeyReconciler } from '../domain/key-reconciler.js';

/** What the routes need besides the caller's ledger (request.ledger(), the ledger-gateway plugin). */
export interface RouteDeps {
  readonly authorizer: Authorizer;
  readonly keys: KeyReconciler | undefined;
}

const Role = Type.Union(Object.values(Roles).map((r) => Type.Literal(r)));
const PermissionSchema = Type.Union(ALL_PERMISSIONS.map((p) => Type.Literal(p)));
const Identity = Type.String({ minLength: 1, maxLength: 1024, pattern: '^x509::' });
const GrantBody = Type.Object(
  {
    mspId: Type.Union([MspId, Type.Literal('*')]),
    identity: Type.Optional(Identity),
    role: Type.Optional(Role),
    permission: Type.Optional(PermissionSchema),
    expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'ISO 8601 with zone; the grant stops counting then' })),
  },
  { additionalProperties: false },
);

function grantSpec(body: { mspId: string; identity?: string; role?: string; permission?: string; expiresAt?: string }): GrantSpec {
  return body as GrantSpec;
}

export function aclRoutes(deps: RouteDeps) {
  return async (app: ServiceApp): Promise<void> => {
    app.get(
      '/twins/:twinId/grants',
      { schema: { tags: ['grants'], summary: 'Grants of the twin, one page in key order', params: TwinParams, querystring: PageQuery, response: withErrors({ 200: PageOf(LedgerRecord) }) } },
      async (req) => (await req.ledger()).listGrantsPage(req.params.twinId, req.query),
    );

    app.post(
      '/twins/:twinId/grants',
      {
        schema: {
          tags: ['grants'],
          summary: 'Grant a role or a permission (exactly one) to a party or one identity, optionally until expiresAt',
          params: TwinParams,
          body: GrantBody,
          response: withErrors({ 201: Committed }),
        },
      },
      async (req, reply) => {
        const l = await req.ledger();
        const res = committed(await req.write('grant', () => l.grant(req.params.twinId, grantSpec(req.body))));
        deps.authorizer.invalidate(req.params.twinId);
        return reply.code(201).send(res);
      },
    );

    app.post(
      '/twins/:twinId/grants/revoke',
      {
        schema: {
          tags: ['grants'],
          summary: 'Revoke a grant (same principal and role/permission); DHT keys of affected documents are re-keyed',
          params: TwinParams,
          body: GrantBody,
          response: withErrors({ 200: Committed }),
        },
      },
      async (req) => {
        const l = await req.ledger();
        const res = committed(await req.write('revoke', () => l.revoke(req.params.twinId, grantSpec(req.body))));
        deps.authorizer.invalidate(req.params.twinId);
        return res;
      },
    );

    app.post(
      '/twins/:twinId/keys/sync',
      {
        schema: {
          tags: ['keys'],
          summary: 'Bring the DHT ACLs (wrapped data keys) of this organization\'s documents of the twin in line with its grants',
          params: TwinParams,
          response: withErrors({
            200: Type.Object({ twinId: Type.String(), checked: Type.Integer(), updated: Type.Integer(), rekeyed: Type.Integer(), recorded: Type.Integer(), nextExpiry: Type.Optional(Type.Integer()), failures: Type.Array(Type.Object({ ref: Type.String(), code: Type.String() })) }),
          }),
        },
      },
      async (req) => {
        // The caller must be able to read the twin's grants: the ledger checks spec:read.
        await (await req.ledger()).listGrantsPage(req.params.twinId, { limit: 1 });
        if (!deps.keys) throw new KeysDisabledError('DHT key management is not configured (DHT_GATEWAY_URL)');
        const r = await deps.keys.request(req.params.twinId);
        return { ...r, failures: [...r.failures] };
      },
    );

    app.post(
      '/authorize',
      {
        schema: {
          tags: ['authorization'],
          summary: 'Authorization decision for the other services (cached; invalidated by GrantAdded/GrantRevoked)',
          body: Type.Object({ twinId: TwinId, permission: PermissionSchema, mspId: MspId, identity: Type.Optional(Identity) }, { additionalProperties: false }),
          response: withErrors({
            200: Type.Object({ allowed: Type.Boolean(), reason: Type.String(), roles: Type.Array(Type.String()), permissions: Type.Array(Type.String()), cached: Type.Boolean() }),
          }),
        },
      },
      async (req) => {
        const d = await deps.authorizer.decide({ ...req.body, permission: req.body.permission as Permission });
        return { ...d, roles: [...d.roles], permissions: [...d.permissions] };
      },
    );

    app.get(
      '/parties',
      { schema: { tags: ['parties'], summary: 'Registered parties, one page in MSP ID order', querystring: PageQuery, response: withErrors({ 200: PageOf(LedgerRecord) }) } },
      async (req) => (await req.ledger()).listPartiesPage(req.query),
    );
    app.get('/parties/:mspId', { schema: { tags: ['parties'], params: Type.Object({ mspId: MspId }), response: withErrors({ 200: LedgerRecord }) } }, async (req) =>
      (await req.ledger()).getParty(req.params.mspId),
    );
    // Device-ID namespaces (who alone creates twins under a prefix): claimed by the admin
    // command like party registration; anyone on the channel may read them.
    app.get(
      '/namespaces',
      {
        schema: {
          tags: ['parties'],
          summary: 'Claimed device-ID namespaces, one page in prefix order',
          querystring: PageQuery,
          response: withErrors({
            200: PageOf(Type.Object({ prefix: Type.String(), mspId: Type.String(), claimedBy: Type.String(), claimedAt: Type.String(), txId: Type.String() })),
          }),
        },
      },
      async (req) => (await req.ledger()).listDeviceNamespacesPage(req.query),
    );
    // Registering needs the org's Admin key, which this user-facing service does not hold: the
    // route stays only to tell callers where registration went.
    app.put(
      '/parties/self',
      {
        schema: {
          tags: ['parties'],
          summary: 'Moved: register the organization\'s DHT peers with `admin-cli register-party` (signed with the Admin identity); always 410',
          response: withErrors({ 410: errorResponses[400] }),
        },
      },
      async () => {
        throw new AdminCommandRequiredError('party registration needs the Admin identity: run `node services/acl-service/dist/admin-cli.js register-party`');
      },
    );
  };
}

/** PUT /parties/self: registration moved to the admin command (the service holds no Admin key). */
class AdminCommandRequiredError extends TwinLedgerError {
  readonly code = 'ADMIN_COMMAND_REQUIRED';
  override readonly httpStatus = 410;
}

/** Key management needs the dht-gateway; this deployment has none configured. */
class KeysDisabledError extends TwinLedgerError {
  readonly code = 'KEY_MANAGEMENT_DISABLED';
  override readonly httpStatus = 503;
}
