import { TwinLedgerError, type TwinLedgerErrorOptions } from '@twinledger/errors';

/** The chaincode answered with bytes that are not the JSON its contract documents. */
export class LedgerResponseInvalidError extends TwinLedgerError {
  readonly code = 'LEDGER_RESPONSE_INVALID';
  override readonly httpStatus: number = 502;
  readonly fn: string;
  constructor(fn: string, message: string, options: TwinLedgerErrorOptions = {}) {
    super(`${fn}: ${message}`, { ...options, details: { fn, ...options.details } });
    this.fn = fn;
  }
}

/** A chaincode event whose name is unknown or whose payload does not match its name. */
export class LedgerEventInvalidError extends TwinLedgerError {
  readonly code = 'LEDGER_EVENT_INVALID';
  override readonly httpStatus: number = 502;
}
