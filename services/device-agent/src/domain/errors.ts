import { TwinLedgerError, UnavailableError } from '@twinledger/errors';

/** The device cannot be reached (not connected, session lost); the agent backs off and retries. */
export class DeviceUnavailableError extends UnavailableError {
  override readonly code = 'DEVICE_UNAVAILABLE';
}

/** The device answered a read, browse or method call with a bad OPC UA status. */
export class DeviceOperationError extends TwinLedgerError {
  readonly code = 'DEVICE_OPERATION_FAILED';
  override readonly httpStatus = 502;
}

/** The device does not expose the component, method or variable the agent looked for. */
export class DeviceNodeMissingError extends TwinLedgerError {
  readonly code = 'DEVICE_NODE_MISSING';
  override readonly httpStatus = 502;
}

/** The device exposes a component whose metadata cannot be turned into AML. */
export class DeviceMetadataInvalidError extends TwinLedgerError {
  readonly code = 'DEVICE_METADATA_INVALID';
  override readonly httpStatus = 502;
}

/** A sync is already running; the caller gets its report when it ends (or retries). */
export class SyncFailedError extends TwinLedgerError {
  readonly code = 'SYNC_FAILED';
  override readonly httpStatus = 502;
}

/** The caller's organization is not the one operating this agent. */
export class NotOperatorError extends TwinLedgerError {
  readonly code = 'NOT_OPERATOR';
  override readonly httpStatus = 403;
}
