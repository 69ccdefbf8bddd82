import { Type } from '@twinledger/service-kit';

/** Shared pieces of the route schemas. */
export const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'lowercase hex SHA-256' });
export const MspId = Type.String({ pattern: '^[\\w.-]{1,64}$', description: 'Fabric MSP id' });
export const RefParams = Type.Object({ ref: Hex64 }, { additionalProperties: false });
/**
 * Raw bytes in the OpenAPI document. The parsed body is a stream or a Buffer (an object to the
 * validator), so the schema admits objects; the route checks what it got.
 */
export const BinaryBody = Type.Unsafe<unknown>({ anyOf: [{ type: 'string', format: 'binary' }, { type: 'object' }], description: 'raw bytes (application/octet-stream)' });
