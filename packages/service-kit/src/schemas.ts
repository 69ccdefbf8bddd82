import { Type, type TSchema } from '@sinclair/typebox';
import { errorResponses } from './errors.js';

/** Lowercase hex SHA-256: DHT object refs, document hashes, Fabric transaction IDs. */
export const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Lowercase hex SHA-256' });

/**
 * Raw bytes in the OpenAPI document (with `consumes: ['application/octet-stream']`), so callers
 * and the adversarial walk see the route takes a body. The parsed body is a stream or a Buffer
 * (an object to the validator), so the schema admits objects; the route checks what it got.
 */
export const BinaryBody = Type.Unsafe<unknown>({ anyOf: [{ type: 'string', format: 'binary' }, { type: 'object' }], description: 'raw bytes (application/octet-stream)' });

/** A route's success responses plus every error response a route may give (errorResponses). */
export const withErrors = <T extends Record<number, TSchema>>(ok: T) => ({ ...ok, ...errorResponses });
