import { Type } from '@twinledger/service-kit';

/**
 * The route schemas every REST gateway to the ledger shares. Patterns are the chaincode's own
 * (chaincode/src/access/grants.ts, contracts/*), so a value refused here would be refused by the
 * ledger too, only later and at the cost of an endorsement.
 */
export const TwinId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$', description: 'The twin ID (the deviceId given at creation)' });
export const MspId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', description: 'A Fabric MSP ID' });
export const TwinParams = Type.Object({ twinId: TwinId });

/** Ledger records: the documented fields are listed; the chaincode may add more, kept as they are. */
export const LedgerRecord = Type.Object({}, { additionalProperties: true });

/** A committed write: the chaincode's result plus where it landed. */
export const Committed = Type.Object({
  transactionId: Type.String(),
  blockNumber: Type.Integer(),
  result: LedgerRecord,
});

/** A SubmitResult as the Committed body (the block number as a JSON number). */
export function committed<T>(c: { result: T; transactionId: string; blockNumber: bigint }): { transactionId: string; blockNumber: number; result: T } {
  return { transactionId: c.transactionId, blockNumber: Number(c.blockNumber), result: c.result };
}
