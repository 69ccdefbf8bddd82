import { ConfigError, str, type EnvOf } from '@twinledger/config';
import { authEnv, authFromEnv, createJwtVerifier, type TokenVerifier } from '@twinledger/service-kit';

/** The audience of the gateway's service credentials; user-facing services use `twinledger`. */
export const DEFAULT_DHT_AUDIENCE = 'twinledger-dht';

/**
 * The gateway's token settings: the org's issuer and keys (`authEnv`) and its own audience.
 * `AUTH_AUDIENCE` (the org's user-facing audience, which deployments set for every service)
 * is deliberately not what the gateway accepts: a user token must never reach a DHT node.
 */
export const gatewayAuthEnv = {
  ...authEnv,
  DHT_AUTH_AUDIENCE: str({ default: DEFAULT_DHT_AUDIENCE, pattern: /^[\w.:/-]{1,128}$/ }),
};

/** Verifies the org's service credentials: audience `DHT_AUTH_AUDIENCE`, `org` = the gateway's `MSP_ID`. */
export function gatewayVerifier(env: EnvOf<typeof gatewayAuthEnv> & { readonly MSP_ID: string }): TokenVerifier {
  if (env.DHT_AUTH_AUDIENCE === env.AUTH_AUDIENCE) {
    // The same audience for users and the gateway would let every user token through again.
    throw new ConfigError(`DHT_AUTH_AUDIENCE must differ from AUTH_AUDIENCE (${env.AUTH_AUDIENCE}), the audience user tokens carry`, { details: { problems: ['DHT_AUTH_AUDIENCE'] } });
  }
  return createJwtVerifier(authFromEnv(env, { expectedOrg: env.MSP_ID, audience: env.DHT_AUTH_AUDIENCE }));
}
