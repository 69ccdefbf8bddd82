import { Type, type TSchema } from '@sinclair/typebox';
import { errorResponses } from './errors.js';

/** Lowercase hex SHA-256: DHT object refs, document hashes, Fabric transaction IDs. */
export const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Lowercase hex SHA-256' });

/** A route's success responses plus every error response a route may give (errorResponses). */
export const withErrors = <T extends Record<number, TSchema>>(ok: T) => ({ ...ok, ...errorResponses });
