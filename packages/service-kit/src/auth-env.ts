import { readFileSync } from 'node:fs';
import { ConfigError, str, type EnvOf } from '@twinledger/config';
import type { JSONWebKeySet } from 'jose';
import type { JwtVerifierInit } from './auth.js';

/** The token settings every service reads at boot: its organization's issuer and keys, its audience. */
export const authEnv = {
  AUTH_ISSUER: str(),
  AUTH_AUDIENCE: str({ default: 'twinledger' }),
  AUTH_JWKS_FILE: str(),
};

/** The verifier settings from `authEnv`; an unreadable or malformed key set stops the boot with CONFIG_INVALID. */
export function authFromEnv(env: EnvOf<typeof authEnv>): JwtVerifierInit {
  let jwks: JSONWebKeySet;
  try {
    jwks = JSON.parse(readFileSync(env.AUTH_JWKS_FILE, 'utf8')) as JSONWebKeySet;
  } catch (cause) {
    throw new ConfigError(`AUTH_JWKS_FILE ${env.AUTH_JWKS_FILE} is not a readable JSON key set`, { cause, details: { problems: ['AUTH_JWKS_FILE'] } });
  }
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) {
    throw new ConfigError(`AUTH_JWKS_FILE ${env.AUTH_JWKS_FILE} has no "keys" array`, { details: { problems: ['AUTH_JWKS_FILE'] } });
  }
  return { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, jwks };
}
