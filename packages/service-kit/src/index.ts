export { buildService, describeError, runService } from './service.js';
export { READY_FILE_ENV, readReadyReport, type ReadyReport } from './ready.js';
export type { DescribedError, ServiceApp, ServiceInit, ReadinessCheck, RunInit } from './service.js';
export {
  ErrorResponse,
  errorResponses,
  UnauthenticatedError,
  PayloadTooLargeError,
  TokenMissingError,
  TokenInvalidError,
  TokenExpiredError,
  TokenWithoutExpiryError,
  TokenIssuedInFutureError,
  TokenLifetimeTooLongError,
  ForeignOrganizationError,
  type TokenRefusalReason,
} from './errors.js';
export { createJwtVerifier, createDevIssuer, DEFAULT_MAX_TOKEN_LIFETIME_SEC } from './auth.js';
export { authEnv, authFromEnv, type AuthFromEnvOptions } from './auth-env.js';
export { DHT_NODE_V8_FLAGS, dhtNodeEnv, serviceEnv, warnRenamedEnv, LOG_LEVELS } from './service-env.js';
export type { Principal, TokenVerifier, JwtVerifierInit, DevIssuer } from './auth.js';
export { BinaryBody, Sha256Hex, withErrors } from './schemas.js';
export { PageQuery, PageQueryProperties, PageOf, Bookmark } from './paging.js';
export { Type } from '@sinclair/typebox';
export type { Static, TSchema } from '@sinclair/typebox';
