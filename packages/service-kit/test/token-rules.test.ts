import { describe, expect, it, beforeAll, jest } from '@jest/globals';
import { SignJWT, importJWK, type JWK } from 'jose';
import { createDevIssuer, createJwtVerifier, type DevIssuer, type TokenVerifier } from '../src/index.js';

/**
 * The token rules every service applies (issue #17): real ES256 tokens signed with the dev
 * issuer's key, some of them built by hand with jose to leave out or bend `exp`/`iat`.
 */
describe('token rules (createJwtVerifier)', () => {
  const ISS = 'https://idp.org1.local';
  const AUD = 'twinledger';
  let issuer: DevIssuer;
  let key: Awaited<ReturnType<typeof importJWK>>;
  let kid: string;
  let verifier: TokenVerifier;
  const now = (): number => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    issuer = await createDevIssuer(ISS);
    const priv: JWK = await issuer.exportPrivate();
    key = await importJWK(priv, 'ES256');
    kid = priv.kid!;
    verifier = createJwtVerifier({ issuer: ISS, audience: AUD, jwks: issuer.jwks, expectedOrg: 'Org1MSP' });
  });

  /** A token with exactly the given time claims (none set unless passed). */
  const sign = async (times: { exp?: number; iat?: number }, org = 'Org1MSP'): Promise<string> => {
    const jwt = new SignJWT({ org, roles: [] }).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(ISS).setSubject('alice').setAudience(AUD);
    if (times.iat !== undefined) jwt.setIssuedAt(times.iat);
    if (times.exp !== undefined) jwt.setExpirationTime(times.exp);
    return jwt.sign(key);
  };

  it('accepts a token of its own organization with exp, iat and a lifetime within the maximum', async () => {
    await expect(verifier.verify(await issuer.issue({ sub: 'alice', org: 'Org1MSP', audience: AUD }))).resolves.toMatchObject({ subject: 'alice', mspId: 'Org1MSP' });
    // Without iat the lifetime is measured from now: 10 minutes left is fine.
    await expect(verifier.verify(await sign({ exp: now() + 600 }))).resolves.toMatchObject({ subject: 'alice' });
  });

  it('refuses a token without exp: 401 UNAUTHENTICATED, reason no_exp', async () => {
    const err = await verifier.verify(await sign({ iat: now() })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TokenWithoutExpiryError', code: 'UNAUTHENTICATED', httpStatus: 401, details: { reason: 'no_exp' } });
  });

  it('refuses a token issued in the future beyond the clock tolerance: 401, reason iat_future', async () => {
    const err = await verifier.verify(await sign({ iat: now() + 300, exp: now() + 900 })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TokenIssuedInFutureError', code: 'UNAUTHENTICATED', httpStatus: 401, details: { reason: 'iat_future' } });
    // Within the tolerance (30 s default) a slightly fast issuer clock is accepted.
    await expect(verifier.verify(await sign({ iat: now() + 10, exp: now() + 900 }))).resolves.toMatchObject({ subject: 'alice' });
  });

  it('refuses a lifetime above the maximum (default 3600 s), with or without iat: 401, reason lifetime_exceeded', async () => {
    for (const t of [await sign({ iat: now(), exp: now() + 3601 + 60 }), await sign({ exp: now() + 7200 }), await issuer.issue({ sub: 'svc', org: 'Org1MSP', audience: AUD, expiresIn: '30d' })]) {
      const err = await verifier.verify(t).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'TokenLifetimeTooLongError', code: 'UNAUTHENTICATED', httpStatus: 401, details: { reason: 'lifetime_exceeded', maxLifetimeSec: 3600 } });
    }
    // A service may allow longer-lived tokens explicitly.
    const lenient = createJwtVerifier({ issuer: ISS, audience: AUD, jwks: issuer.jwks, expectedOrg: 'Org1MSP', maxLifetimeSec: 7 * 86_400 });
    await expect(lenient.verify(await sign({ iat: now(), exp: now() + 86_400 }))).resolves.toMatchObject({ subject: 'alice' });
  });

  it('refuses an expired token and one from another key: 401 with their reasons', async () => {
    const expired = await verifier.verify(await sign({ iat: now() - 4000, exp: now() - 3000 })).catch((e: unknown) => e);
    expect(expired).toMatchObject({ name: 'TokenExpiredError', code: 'UNAUTHENTICATED', httpStatus: 401, details: { reason: 'expired' } });
    const forged = await (await createDevIssuer(ISS)).issue({ sub: 'm', org: 'Org1MSP', audience: AUD });
    expect(await verifier.verify(forged).catch((e: unknown) => e)).toMatchObject({ name: 'TokenInvalidError', code: 'UNAUTHENTICATED', httpStatus: 401, details: { reason: 'invalid' } });
  });

  it('refuses a valid token whose org claim names another organization: 403 FOREIGN_ORGANIZATION', async () => {
    const err = await verifier.verify(await issuer.issue({ sub: 'eve', org: 'Org2MSP', audience: AUD })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ForeignOrganizationError', code: 'FOREIGN_ORGANIZATION', httpStatus: 403, details: { reason: 'foreign_org', tokenOrg: 'Org2MSP', serviceOrg: 'Org1MSP' } });
  });

  it('refuses to build a verifier without the service\'s organization (fail closed)', () => {
    expect(() => createJwtVerifier({ issuer: ISS, audience: AUD, jwks: issuer.jwks } as never)).toThrow(/expectedOrg/);
  });

  it('remembers a verified token until its exp and no longer (then it is refused as expired)', async () => {
    const strict = createJwtVerifier({ issuer: ISS, audience: AUD, jwks: issuer.jwks, expectedOrg: 'Org1MSP', clockToleranceSec: 0 });
    const token = await sign({ iat: now(), exp: now() + 60 });
    const first = await strict.verify(token);
    expect(await strict.verify(token)).toEqual(first);
    // Both clocks (ours and jose's) 61 s on; timers and microtasks stay real.
    jest.useFakeTimers({ now: Date.now() + 61_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] });
    try {
      await expect(strict.verify(token)).rejects.toMatchObject({ details: { reason: 'expired' } });
    } finally {
      jest.useRealTimers();
    }
  });

  it('never remembers a refusal: a bad token is checked (and refused) every time', async () => {
    const token = await sign({ iat: now(), exp: now() + 60 }, 'Org2MSP');
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'FOREIGN_ORGANIZATION' });
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'FOREIGN_ORGANIZATION' });
  });
});
