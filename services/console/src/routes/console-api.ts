import type { FastifyRequest } from 'fastify';
import { errorResponses, Type, type ServiceApp } from '@twinledger/service-kit';
import type { DevSignIn } from '../dev-signin.js';
import type { SessionView } from '../oidc.js';
import { DevSignInDisabledError } from '../errors.js';
import { UPSTREAMS, type Upstreams } from './proxy.js';

export interface ConsoleApiDeps {
  readonly orgName: string;
  readonly mspId: string | undefined;
  readonly upstreams: Upstreams;
  readonly devSignIn: DevSignIn | undefined;
  readonly oidcEnabled: boolean;
  /** The cookie session that authenticated the request; undefined for bearer tokens. */
  readonly sessionOf: (req: FastifyRequest) => SessionView | undefined;
}

const Session = Type.Object({
  subject: Type.String(),
  mspId: Type.String(),
  fabricIdentity: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(Type.String()),
  csrfToken: Type.Union([Type.String(), Type.Null()], { description: 'Send as x-csrf-token on state-changing calls (cookie sessions only)' }),
  accessTokenExpiresAt: Type.Union([Type.String(), Type.Null()], { description: 'When the session\'s current access token expires (it is refreshed before); null for bearer tokens' }),
});

/** The console's own small API: what the sign-in page needs, and who a token belongs to. */
export function consoleApiRoutes(app: ServiceApp, deps: ConsoleApiDeps): void {
  app.get(
    '/api/console/config',
    {
      config: { public: true },
      schema: {
        description: 'What the sign-in page shows: the organization, whether OpenID Connect sign-in is configured, dev sign-in users (test harnesses only), configured services',
        response: {
          200: Type.Object({
            orgName: Type.String(),
            mspId: Type.Union([Type.String(), Type.Null()]),
            oidc: Type.Object({ enabled: Type.Boolean() }),
            devSignIn: Type.Object({
              enabled: Type.Boolean(),
              users: Type.Array(Type.Object({ name: Type.String(), fabricIdentity: Type.String(), roles: Type.Array(Type.String()) })),
            }),
            upstreams: Type.Record(Type.String(), Type.Boolean()),
          }),
        },
      },
    },
    async () => ({
      orgName: deps.orgName,
      mspId: deps.mspId ?? null,
      oidc: { enabled: deps.oidcEnabled },
      devSignIn: {
        enabled: deps.devSignIn !== undefined,
        users: (deps.devSignIn?.users ?? []).map((u) => ({ name: u.name, fabricIdentity: u.fabricIdentity, roles: [...u.roles] })),
      },
      upstreams: Object.fromEntries(UPSTREAMS.map((u) => [u, deps.upstreams[u] !== undefined])),
    }),
  );

  app.post(
    '/api/console/dev-token',
    {
      config: { public: true },
      schema: {
        description: 'Local network only (off unless DEV_SIGNIN_KEY_FILE is set): a token for a listed dev user',
        body: Type.Object({ user: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false, examples: [{ user: 'maintainer' }] }),
        response: { 200: Type.Object({ token: Type.String(), expiresInSeconds: Type.Integer() }), ...errorResponses },
      },
    },
    async (req) => {
      if (!deps.devSignIn) throw new DevSignInDisabledError();
      return deps.devSignIn.issue(req.body.user);
    },
  );

  app.get(
    '/api/console/session',
    {
      schema: {
        description: 'The principal of the bearer token or sign-in session (verified like every service verifies it)',
        response: { 200: Session, ...errorResponses },
      },
    },
    async (req) => {
      const p = req.principal!;
      const s = deps.sessionOf(req);
      return { subject: p.subject, mspId: p.mspId, fabricIdentity: p.fabricIdentity ?? null, roles: [...p.roles], csrfToken: s?.csrfToken ?? null, accessTokenExpiresAt: s?.accessTokenExpiresAt ?? null };
    },
  );
}
