import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { UnauthenticatedError } from './errors.js';

/** Who is calling: the token's subject mapped to a party and (optionally) a Fabric identity. */
export interface Principal {
  /** The token subject (a user or a workload). */
  readonly subject: string;
  /** The caller's organization (Fabric MSP ID). */
  readonly mspId: string;
  /** The name of the Fabric identity the service signs as for this caller, e.g. `User1`. */
  readonly fabricIdentity: string | undefined;
  /** Scopes or roles from the token, informational; the ledger decides authorization. */
  readonly roles: readonly string[];
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

export interface JwtVerifierInit {
  /** The organization's token issuer (`iss`). */
  readonly issuer: string;
  /** This service's audience (`aud`). */
  readonly audience: string;
  /** The issuer's public keys. */
  readonly jwks: JSONWebKeySet;
  /** Claim holding the MSP ID; default `org`. */
  readonly orgClaim?: string;
  /** Accepted clock skew in seconds; default 30. */
  readonly clockToleranceSec?: number;
}

/** Verifies bearer JWTs with `jose` against the organization's issuer keys. */
export function createJwtVerifier(init: JwtVerifierInit): TokenVerifier {
  const keys = createLocalJWKSet(init.jwks);
  const orgClaim = init.orgClaim ?? 'org';
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer: init.issuer,
          audience: init.audience,
          clockTolerance: init.clockToleranceSec ?? 30,
          algorithms: ['ES256', 'EdDSA', 'RS256'],
        });
        const mspId = payload[orgClaim];
        if (typeof payload.sub !== 'string' || typeof mspId !== 'string') {
          throw new UnauthenticatedError(`token lacks sub or ${orgClaim}`);
        }
        const fabricIdentity = typeof payload['fabric_identity'] === 'string' ? payload['fabric_identity'] : undefined;
        const roles = Array.isArray(payload['roles']) ? payload['roles'].filter((r): r is string => typeof r === 'string') : [];
        return { subject: payload.sub, mspId, fabricIdentity, roles };
      } catch (err) {
        if (err instanceof UnauthenticatedError) throw err;
        const reason = (err as { code?: string }).code ?? 'ERR_JWT_INVALID';
        throw new UnauthenticatedError(`invalid token (${reason})`, { cause: err, details: { reason } });
      }
    },
  };
}

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface DevIssuer {
  readonly issuer: string;
  readonly jwks: JSONWebKeySet;
  /** Signs a token for a user of an organization. */
  issue(claims: { sub: string; org: string; fabricIdentity?: string; roles?: string[]; audience: string | string[]; expiresIn?: string }): Promise<string>;
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
  const kid = `${issuer}#dev`;
  publicJwk = { ...publicJwk, kid, alg: 'ES256', use: 'sig' };
  return {
    issuer,
    jwks: { keys: [publicJwk] },
    async issue(c) {
      const jwt = new SignJWT({ org: c.org, roles: c.roles ?? [], ...(c.fabricIdentity ? { fabric_identity: c.fabricIdentity } : {}) })
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
