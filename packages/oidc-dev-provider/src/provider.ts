import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import Provider, { errors as oidcErrors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { ValidationError } from '@twinledger/errors';
import type { Logger } from '@twinledger/observability';
import { memoryAdapterFactory } from './memory-adapter.js';
import { loginPage, logoutPage, loggedOutPage, errorPage } from './pages.js';
import { checkPassword, storeUsers, type ProviderUser, type StoredUser } from './users.js';

/** A web application allowed to sign users in (the organization's console). */
export interface ProviderClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
}

export interface IdentityProviderInit {
  /** The issuer identifier: the URL the provider is reached at, and the services' AUTH_ISSUER. */
  readonly issuer: string;
  /** The organization (MSP ID) put in every access token's `org` claim. */
  readonly mspId: string;
  /** The services' audience (AUTH_AUDIENCE): the `aud` of every access token. */
  readonly audience: string;
  /**
   * The resource indicator (RFC 8707: an absolute URI) naming the services; default
   * `urn:twinledger:services`. Tokens for it carry `aud` = `audience`.
   */
  readonly resource?: string;
  /**
   * The private signing key (ES256 JWK with `kid`): its public half is the services'
   * AUTH_JWKS_FILE, so they verify the provider's access tokens exactly as before.
   */
  readonly signingKey: JWK;
  readonly users: readonly ProviderUser[];
  readonly clients: readonly ProviderClient[];
  /** Keys for the provider's own signed cookies (at least one, 32+ characters). */
  readonly cookieKeys: readonly string[];
  /** Access token lifetime; default 300 s (at most the services' AUTH_MAX_TOKEN_LIFETIME_S). */
  readonly accessTokenTtlSeconds?: number;
  /** Refresh token lifetime; default 8 h. */
  readonly refreshTokenTtlSeconds?: number;
  /** The provider's sign-in session lifetime; default 8 h. */
  readonly sessionTtlSeconds?: number;
  /** Failed password attempts allowed per sign-in interaction before it is refused; default 5. */
  readonly maxFailedLogins?: number;
  readonly logger: Logger;
}

export interface IdentityProvider {
  readonly issuer: string;
  /** The public key set services verify with (AUTH_JWKS_FILE). */
  readonly jwks: { keys: JWK[] };
  /** The raw oidc-provider instance (grant and token lookup in tests and tools). */
  readonly provider: Provider;
  /** A Node request handler: interactions (login form) and the OpenID endpoints. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
}

/** The resource server's scope: what the console asks for beside `openid`. */
export const API_SCOPE = 'twinledger';
/** The services' resource indicator unless configured otherwise. */
export const DEFAULT_RESOURCE = 'urn:twinledger:services';
const MAX_FORM_BYTES = 8 * 1024;

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new ValidationError('form too large');
    chunks.push(c as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // The pages have no script at all; the form posts to this origin only.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(html);
}

/**
 * An organization's OpenID provider for the local consortium (oidc-provider): authorization
 * code with PKCE only, a password form for the organization's users, JWT access tokens for the
 * services' audience (resource indicators) carrying `org`, `fabric_identity` and `roles`,
 * refresh tokens, revocation and RP-initiated sign-out. It stands in for an organization's
 * real identity provider, which the console talks to the same way (docs/operator-guide.md).
 */
export async function createIdentityProvider(init: IdentityProviderInit): Promise<IdentityProvider> {
  const users: Map<string, StoredUser> = await storeUsers(init.users);
  if (init.cookieKeys.length === 0 || init.cookieKeys.some((k) => k.length < 32)) throw new ValidationError('cookieKeys: at least one key of 32+ characters');
  if (!init.signingKey.kid || !init.signingKey.d) throw new ValidationError('signingKey: a private JWK with a kid');
  const accessTtl = init.accessTokenTtlSeconds ?? 300;
  const resource = init.resource ?? DEFAULT_RESOURCE;
  const failures = new Map<string, number>();
  const maxFailures = init.maxFailedLogins ?? 5;
  const { d: _private, ...publicKey } = init.signingKey;
  const log = init.logger;

  const configuration: Configuration = {
    adapter: memoryAdapterFactory(),
    clients: init.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: [...c.redirectUris],
      post_logout_redirect_uris: [...c.postLogoutRedirectUris],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    })),
    jwks: { keys: [{ ...init.signingKey, use: 'sig', alg: 'ES256' }] as never },
    cookies: { keys: [...init.cookieKeys] },
    scopes: ['openid', 'profile', 'offline_access'],
    claims: { openid: ['sub'], profile: ['name'] },
    // Every client must prove possession of the code verifier (RFC 7636), confidential or not.
    pkce: { required: () => true },
    responseTypes: ['code'],
    findAccount: (_ctx, sub) => {
      const u = users.get(sub);
      return u ? { accountId: u.username, claims: () => ({ sub: u.username, name: u.name }) } : undefined;
    },
    // The access token is what the services verify: the organization and the Fabric identity go in it.
    extraTokenClaims: (_ctx, token) => {
      if (token.kind !== 'AccessToken' || !('accountId' in token) || typeof token.accountId !== 'string') return undefined;
      const u = users.get(token.accountId);
      return u ? { org: init.mspId, fabric_identity: u.fabricIdentity, roles: [...u.roles] } : undefined;
    },
    // A refresh token for every code exchange by a client allowed to refresh (no offline_access
    // consent round): it still ends with the provider session (expiresWithSession), so sign-out
    // at the provider ends it too.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: accessTtl,
      AuthorizationCode: 60,
      IdToken: accessTtl,
      Interaction: 600,
      RefreshToken: init.refreshTokenTtlSeconds ?? 8 * 3600,
      Session: init.sessionTtlSeconds ?? 8 * 3600,
      Grant: init.sessionTtlSeconds ?? 8 * 3600,
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // The organization's own console is first-party: what it asks for is granted without a
    // consent screen (openid, profile and the services' scope, nothing else exists here).
    loadExistingGrant: async (ctx) => {
      const clientId = ctx.oidc.client!.clientId;
      const session = ctx.oidc.session!;
      const existing = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(clientId);
      if (existing) {
        const found = await ctx.oidc.provider.Grant.find(existing);
        if (found) return found;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId, accountId: session.accountId! });
      grant.addOIDCScope('openid profile');
      grant.addResourceScope(resource, API_SCOPE);
      await grant.save();
      return grant;
    },
    features: {
      devInteractions: { enabled: false },
      // A client revokes only tokens issued to itself.
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) throw new oidcErrors.InvalidTarget(`unknown resource ${indicator}`);
          return { scope: API_SCOPE, audience: init.audience, accessTokenTTL: accessTtl, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: KoaContextWithOIDC, form: string) => {
          ctx.type = 'html';
          ctx.body = logoutPage(form);
        },
        postLogoutSuccessSource: (ctx: KoaContextWithOIDC) => {
          ctx.type = 'html';
          ctx.body = loggedOutPage();
        },
      },
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage(String(out['error'] ?? 'error'), String(out['error_description'] ?? ''));
    },
  };

  const provider = new Provider(init.issuer, configuration);
  provider.on('server_error', (_ctx, err) => log.error({ err }, 'oidc provider error'));
  const oidc = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return send(res, 400, errorPage('invalid_request', 'interaction mismatch'));
    if (details.prompt.name !== 'login') {
      // Consent is implicit for first-party clients (loadExistingGrant); nothing else is prompted.
      return provider.interactionFinished(req, res, { consent: {} }, { mergeWithLastSubmission: true });
    }
    if (req.method === 'GET') return send(res, 200, loginPage(uid, init.mspId, undefined));
    const form = await readForm(req);
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    const user = username.length <= 64 && password.length <= 256 ? await checkPassword(users, username, password) : undefined;
    if (!user) {
      const n = (failures.get(uid) ?? 0) + 1;
      failures.set(uid, n);
      log.warn({ username: username.slice(0, 64), attempt: n }, 'sign-in refused: wrong username or password');
      if (n >= maxFailures) {
        failures.delete(uid);
        return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'too many failed sign-in attempts' }, { mergeWithLastSubmission: false });
      }
      return send(res, 401, loginPage(uid, init.mspId, 'Wrong username or password.'));
    }
    failures.delete(uid);
    log.info({ sub: user.username }, 'user signed in');
    return provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const m = /^\/interaction\/([A-Za-z0-9_-]{1,64})$/.exec((req.url ?? '').split('?')[0]!);
    if (!m || (req.method !== 'GET' && req.method !== 'POST')) {
      void oidc(req, res);
      return;
    }
    interaction(req, res, m[1]!).catch((err: unknown) => {
      // An expired or unknown interaction (SessionNotFound...) is the user's to restart, not a 500.
      const e = err as { statusCode?: number; error?: string; error_description?: string; message?: string };
      const status = e.statusCode && e.statusCode < 500 ? e.statusCode : err instanceof ValidationError ? 400 : 500;
      if (status >= 500) log.error({ err }, 'sign-in interaction failed');
      if (!res.headersSent) send(res, status, errorPage(e.error ?? 'error', e.error_description ?? e.message ?? ''));
    });
  };

  return { issuer: init.issuer, jwks: { keys: [{ ...publicKey, use: 'sig', alg: 'ES256' }] }, provider, handler };
}

export interface StartedIdentityProvider extends IdentityProvider {
  /** The provider's base URL (its issuer). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Listens first, then makes the provider with the issuer `http://<host>:<port>` it is reached
 * at (port 0 picks a free one): the issuer identifier must equal the URL clients discover.
 */
export async function startIdentityProvider(init: Omit<IdentityProviderInit, 'issuer'> & { readonly host?: string; readonly port?: number }): Promise<StartedIdentityProvider> {
  const host = init.host ?? '127.0.0.1';
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server: Server = createServer((req, res) => {
    if (handle) handle(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(init.port ?? 0, host, () => resolve());
  });
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    const { port } = server.address() as AddressInfo;
    const url = `http://${host}:${port}`;
    const idp = await createIdentityProvider({ ...init, issuer: url });
    handle = idp.handler;
    return { ...idp, url, close };
  } catch (err) {
    await close();
    throw err;
  }
}
