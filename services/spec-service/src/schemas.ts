import { Type, errorResponses, type TSchema } from '@twinledger/service-kit';

export const TwinId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$', description: 'The twin ID (the deviceId given at creation)' });
export const ElementId = Type.String({ minLength: 1, maxLength: 256, description: 'An InternalElement or InstanceHierarchy ID' });
export const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Lowercase hex SHA-256' });
export const Confidentiality = Type.Union([Type.Literal('public'), Type.Literal('internal'), Type.Literal('confidential'), Type.Literal('secret')]);
export const TwinParams = Type.Object({ twinId: TwinId });
/** A program call's client request ID (the chaincode's alphabet and length). */
export const RequestId = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$',
  description: "The caller's ID for a program call (e.g. a UUID); a retry with the same ID returns the first call",
});

/** Ledger records: the documented fields are listed; the chaincode may add more, kept as they are. */
export const LedgerRecord = Type.Object({}, { additionalProperties: true });

/** A committed write: the chaincode's result plus where it landed. */
export const Committed = Type.Object({
  transactionId: Type.String(),
  blockNumber: Type.Integer(),
  result: LedgerRecord,
});

export const withErrors = <T extends Record<number, TSchema>>(ok: T) => ({ ...ok, ...errorResponses });

export function committed<T>(c: { result: T; transactionId: string; blockNumber: bigint }): { transactionId: string; blockNumber: number; result: T } {
  return { transactionId: c.transactionId, blockNumber: Number(c.blockNumber), result: c.result };
}
