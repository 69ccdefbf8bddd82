import { TwinLedgerError } from '@twinledger/errors';

/** The OPC UA security configuration (policy, certificates, user file) is unusable. */
export class OpcUaConfigInvalidError extends TwinLedgerError {
  readonly code = 'OPCUA_CONFIG_INVALID';
  override readonly httpStatus = 500;
}
