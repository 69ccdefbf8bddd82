import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';
import { ForeignOrganizationError, TokenExpiredError, TokenInvalidError, TokenIssuedInFutureError, TokenLifetimeTooLongError, TokenWithoutExpiryError } from './errors.js';

/** Who is calling: the token's subject mapped to a party and (optionally) a Fabric identity. */
export interface Principal {
  /** The token subject (a user or a workload). */
  readonly subject: string;
  /** The caller's organization (Fabric MSP ID); always the service's own (see `expectedOrg`). */
  readonly mspId: string;
  /** The name of the Fabric identity the service signs as for this caller, e.g. `User1`. */
  readonly fabricIdentity: string | undefined;
  /** Scopes or roles from the token, informational; the ledger decides authorization. */
  readonly roles: readonly string[];
  /**
   * The workload this token was issued to (the `svc` claim, e.g. `spec-service`); undefined for
   * people. Only internal services (dht-gateway) look at it.
   */
  readonly service?: string;
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

/** Default longest accepted token lifetime (`exp - iat`), seconds. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SEC = 3600;

export interface JwtVerifierInit {
  /** The organization's token issuer (`iss`). */
  readonly issuer: string;
  /** This service's audience (`aud`). */
  readonly audience: string;
  /** The issuer's public keys. */
  readonly jwks: JSONWebKeySet;
  /**
   * The service's own organization (its `MSP_ID`). A token whose org claim names another is
   * refused with 403 FOREIGN_ORGANIZATION: a service acts for its own organization only.
   */
  readonly expectedOrg: string;
  /** Longest accepted `exp - iat` in seconds (without `iat`: `exp - now`); default 3600. */
  readonly maxLifetimeSec?: number;
  /** Claim holding the MSP ID; default `org`. */
  readonly orgClaim?: string;
  /** Accepted clock skew in seconds; default 30. */
  readonly clockToleranceSec?: number;
  /**
   * Verified tokens remembered (by their exact text, until their `exp`) so a client's repeated
   * requests skip the signature check; default 10,000, 0 disables. Safe because a verified
   * token's answer depends on nothing but its text, the fixed keys and the clock: tokens are
   * not revocable and the key set is fixed for the verifier's life.
   */
  readonly rememberTokens?: number;
}

/**
 * Verifies bearer JWTs with `jose` against the organization's issuer keys, then applies the
 * token rules every service shares: `exp` required, `iat` not in the future, a bounded
 * lifetime, and the `org` claim equal to the service's own organization. Each refusal is its
 * own error class (see errors.ts) with a stable `details.reason`.
 */
export function createJwtVerifier(init: JwtVerifierInit): TokenVerifier {
  // Fail closed: a verifier that does not know its organization would accept every org's tokens.
  if (typeof init.expectedOrg !== 'string' || init.expectedOrg === '') throw new TypeError('createJwtVerifier: expectedOrg (the service\'s MSP_ID) is required');
  const keys = createLocalJWKSet(init.jwks);
  const orgClaim = init.orgClaim ?? 'org';
  const tolerance = init.clockToleranceSec ?? 30;
  const maxLifetime = init.maxLifetimeSec ?? DEFAULT_MAX_TOKEN_LIFETIME_SEC;
  const remember = init.rememberTokens ?? 10_000;
  /** Verified tokens by text: their principal and `exp` (ms). Failures are never remembered. */
  const verified = new Map<string, { principal: Principal; expMs: number }>();
  const verify = async (token: string): Promise<{ principal: Principal; expMs: number }> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: init.issuer,
        audience: init.audience,
        clockTolerance: tolerance,
        algorithms: ['ES256', 'EdDSA', 'RS256'],
      }));
    } catch (err) {
      const jwtError = (err as { code?: string }).code ?? 'ERR_JWT_INVALID';
      if (jwtError === 'ERR_JWT_EXPIRED') throw new TokenExpiredError('token expired', { cause: err, details: { jwtError } });
      throw new TokenInvalidError(`invalid token (${jwtError})`, { cause: err, details: { jwtError } });
    }
    if (typeof payload.exp !== 'number') throw new TokenWithoutExpiryError('token has no exp claim');
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat === 'number' && payload.iat > now + tolerance) {
      throw new TokenIssuedInFutureError('token issued in the future (iat)', { details: { iat: payload.iat, now } });
    }
    // Without iat nothing says when the token was minted: what is left of it must fit.
    const lifetime = payload.exp - (typeof payload.iat === 'number' ? payload.iat : now);
    if (lifetime > maxLifetime) {
      throw new TokenLifetimeTooLongError(`token lifetime ${lifetime} s exceeds ${maxLifetime} s`, { details: { lifetimeSec: lifetime, maxLifetimeSec: maxLifetime } });
    }
    const mspId = payload[orgClaim];
    if (typeof payload.sub !== 'string' || typeof mspId !== 'string') {
      throw new TokenInvalidError(`token lacks sub or ${orgClaim}`);
    }
    if (mspId !== init.expectedOrg) {
      throw new ForeignOrganizationError(`token of ${mspId}; this service acts for ${init.expectedOrg} only`, { details: { tokenOrg: mspId, serviceOrg: init.expectedOrg } });
    }
    const fabricIdentity = typeof payload['fabric_identity'] === 'string' ? payload['fabric_identity'] : undefined;
    const roles = Array.isArray(payload['roles']) ? payload['roles'].filter((r): r is string => typeof r === 'string') : [];
    const service = typeof payload['svc'] === 'string' ? payload['svc'] : undefined;
    return { principal: { subject: payload.sub, mspId, fabricIdentity, roles, ...(service !== undefined ? { service } : {}) }, expMs: payload.exp * 1000 };
  };
  return {
    async verify(token) {
      const known = verified.get(token);
      // Up to `exp` itself, not exp + tolerance as jose allows: a remembered token never lives
      // longer than a re-verified one would.
      if (known && known.expMs > Date.now()) return known.principal;
      if (known) verified.delete(token);
      const fresh = await verify(token);
      if (remember > 0) {
        if (verified.size >= remember) verified.delete(verified.keys().next().value!);
        verified.set(token, fresh);
      }
      return fresh.principal;
    },
  };
}

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface DevIssuer {
  readonly issuer: string;
  readonly jwks: JSONWebKeySet;
  /** Signs a token for a user of an organization. */
  issue(claims: { sub: string; org: string; fabricIdentity?: string; roles?: string[]; audience: string | string[]; expiresIn?: string; svc?: string }): Promise<string>;
  /** The private key, so a dev issuer can be shared between processes of the local network. */
  exportPrivate(): Promise<JWK>;
}

/**
 * A development token issuer for the local network and tests: a real ES256 key pair and real
 * signed JWTs, so services verify exactly as in production, only the issuer is local.
 */
export async function createDevIssuer(issuer: string, privateJwk?: JWK): Promise<DevIssuer> {
  let privateKey: SigningKey;
  let publicJwk: JWK;
  if (privateJwk) {
    privateKey = (await importJWK(privateJwk, 'ES256')) as SigningKey;
    const { d: _d, ...pub } = privateJwk;
    publicJwk = pub;
  } else {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = await exportJWK(pair.publicKey);
  }
  // A shared key keeps its kid (e.g. one an OpenID provider also signs with), so both sides' tokens name the same key.
  const kid = typeof privateJwk?.kid === 'string' ? privateJwk.kid : `${issuer}#dev`;
  publicJwk = { ...publicJwk, kid, alg: 'ES256', use: 'sig' };
  return {
    issuer,
    jwks: { keys: [publicJwk] },
    async issue(c) {
      const jwt = new SignJWT({ org: c.org, roles: c.roles ?? [], ...(c.fabricIdentity ? { fabric_identity: c.fabricIdentity } : {}), ...(c.svc ? { svc: c.svc } : {}) })
        .setProtectedHeader({ alg: 'ES256', kid })
        .setIssuer(issuer)
        .setSubject(c.sub)
        .setAudience(c.audience)
        .setIssuedAt()
        .setExpirationTime(c.expiresIn ?? '1h');
      return jwt.sign(privateKey);
    },
    async exportPrivate() {
      return { ...(await exportJWK(privateKey)), kid, alg: 'ES256' };
    },
  };
}
