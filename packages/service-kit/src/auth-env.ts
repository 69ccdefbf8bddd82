import { readFileSync } from 'node:fs';
import { ConfigError, int, str, type EnvOf } from '@twinledger/config';
import type { JSONWebKeySet } from 'jose';
import { DEFAULT_MAX_TOKEN_LIFETIME_SEC, type JwtVerifierInit } from './auth.js';

/** The token settings every service reads at boot: its organization's issuer and keys, its audience. */
export const authEnv = {
  AUTH_ISSUER: str(),
  AUTH_AUDIENCE: str({ default: 'twinledger' }),
  AUTH_JWKS_FILE: str(),
  // Longest accepted `exp - iat`; at most 30 days, so a typo cannot switch expiry off.
  AUTH_MAX_TOKEN_LIFETIME_S: int({ default: DEFAULT_MAX_TOKEN_LIFETIME_SEC, min: 60, max: 30 * 86_400 }),
};

export interface AuthFromEnvOptions {
  /** The service's own organization (its `MSP_ID`): tokens of any other org are refused (403). */
  readonly expectedOrg: string;
  /** The audience this service accepts, when it is not `AUTH_AUDIENCE` (dht-gateway's `DHT_AUTH_AUDIENCE`). */
  readonly audience?: string;
}

/** The verifier settings from `authEnv`; an unreadable or malformed key set stops the boot with CONFIG_INVALID. */
export function authFromEnv(env: EnvOf<typeof authEnv>, options: AuthFromEnvOptions): JwtVerifierInit {
  let jwks: JSONWebKeySet;
  try {
    jwks = JSON.parse(readFileSync(env.AUTH_JWKS_FILE, 'utf8')) as JSONWebKeySet;
  } catch (cause) {
    throw new ConfigError(`AUTH_JWKS_FILE ${env.AUTH_JWKS_FILE} is not a readable JSON key set`, { cause, details: { problems: ['AUTH_JWKS_FILE'] } });
  }
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) {
    throw new ConfigError(`AUTH_JWKS_FILE ${env.AUTH_JWKS_FILE} has no "keys" array`, { details: { problems: ['AUTH_JWKS_FILE'] } });
  }
  return { issuer: env.AUTH_ISSUER, audience: options.audience ?? env.AUTH_AUDIENCE, jwks, expectedOrg: options.expectedOrg, maxLifetimeSec: env.AUTH_MAX_TOKEN_LIFETIME_S };
}
