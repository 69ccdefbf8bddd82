import { ValidationError } from '@twinledger/errors';
import { Type } from '@twinledger/service-kit';

/** The fragment the insert routes document as their example: one InternalElement with a parameter. */
export const FRAGMENT_EXAMPLE = '<InternalElement Name="Pump 2" ID="pump-2"><Attribute Name="Power" AttributeDataType="xs:double" Unit="kW"><Value>1.5</Value></Attribute></InternalElement>';
export const ElementId = Type.String({ minLength: 1, maxLength: 256, description: 'An InternalElement or InstanceHierarchy ID' });
export const Confidentiality = Type.Union([Type.Literal('public'), Type.Literal('internal'), Type.Literal('confidential'), Type.Literal('secret')]);
/** A program call's client request ID (the chaincode's alphabet and length). */
export const RequestId = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$',
  description: "The caller's ID for a program call (e.g. a UUID); a retry with the same ID returns the first call",
});

export const AsOf = Type.String({
  minLength: 1,
  maxLength: 64,
  examples: ['seq:1', '2026-01-01T00:00:00Z'],
  description:
    "64-hex transaction ID, seq:<n> (the twin's n-th change in ledger order, 1 = creation), ISO 8601 time with zone, or epoch ms. By time the answer is the longest prefix of the ledger order whose recorded times are all at or before it",
});
// What the chaincode accepts (chaincode/src/ledger/order.ts parseAsOf); Date.parse alone takes
// strings such as "seq:0" for dates.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const isAsOfBound = (at: string): boolean =>
  /^[0-9a-f]{64}$/.test(at) || /^seq:[1-9][0-9]{0,11}$/.test(at) || /^\d{1,15}$/.test(at) || (ISO_TIME.test(at) && !Number.isNaN(Date.parse(at)));

/** An as-of bound the chaincode accepts, or 400 VALIDATION_FAILED before any ledger call. */
export function requireAsOfBound(at: string): string {
  if (!isAsOfBound(at)) throw new ValidationError('at must be a transaction ID, seq:<n>, an ISO 8601 time or epoch milliseconds', { details: { at } });
  return at;
}

/**
 * `?minBlock=&atLeastTx=` of a read the read model serves: the answer reflects at least that
 * block, or that transaction (e.g. another organization's write, whose `transactionId` and
 * `blockNumber` its answer carried). The read waits up to READ_FENCE_WAIT_MS, then 504
 * FENCE_NOT_REACHED.
 */
export const FenceProperties = {
  minBlock: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'answer only once the ledger at this organization has reached this block' })),
  atLeastTx: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'answer only once this transaction is committed at this organization (a Fabric transaction ID)' })),
};
export const FenceQuery = Type.Object(FenceProperties, { additionalProperties: false });

/** The headers of an answer of the read model. */
export const READ_HEADERS_NOTE =
  'Served by the read model: X-TwinLedger-Block names the newest block the answer is known to reflect; X-TwinLedger-Stale: true marks an ' +
  'answer the model could not confirm (event stream or peer down; at most READ_CACHE_MAX_AGE_MS old). `minBlock`/`atLeastTx` fence the read ' +
  '(504 `FENCE_NOT_REACHED` after READ_FENCE_WAIT_MS).';
