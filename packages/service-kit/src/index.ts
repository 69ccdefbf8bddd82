export { buildService, runService } from './service.js';
export type { ServiceApp, ServiceInit, ReadinessCheck, RunInit } from './service.js';
export { ErrorResponse, errorResponses, UnauthenticatedError, PayloadTooLargeError } from './errors.js';
export { createJwtVerifier, createDevIssuer } from './auth.js';
export { authEnv, authFromEnv } from './auth-env.js';
export type { Principal, TokenVerifier, JwtVerifierInit, DevIssuer } from './auth.js';
export { Type } from '@sinclair/typebox';
export type { Static, TSchema } from '@sinclair/typebox';
