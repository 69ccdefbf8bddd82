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

/**
 * The endpoint at the device's address presented a certificate outside the configured trust
 * list (an impersonator, or a device whose certificate changed without the operator trusting
 * the new one). Nothing is read from it; the agent keeps refusing until the trust list or the
 * endpoint is fixed.
 */
export class DeviceUntrustedError extends TwinLedgerError {
  readonly code = 'DEVICE_UNTRUSTED';
  override readonly httpStatus = 502;
}

/** The device refused the agent's user identity token (wrong or unknown credentials). */
export class DeviceAuthenticationError extends TwinLedgerError {
  readonly code = 'DEVICE_AUTH_FAILED';
  override readonly httpStatus = 502;
}

/** The operator's safety envelope file is missing, unreadable or invalid. */
export class EnvelopeInvalidError extends TwinLedgerError {
  readonly code = 'ENVELOPE_INVALID';
  override readonly httpStatus = 500;
}

/**
 * Another live device-agent process holds the data directory. Two agents on one twin would
 * execute each queued program call twice and interleave the certificate store.
 */
export class DataDirInUseError extends TwinLedgerError {
  readonly code = 'DATA_DIR_IN_USE';
  override readonly httpStatus = 500;
}
