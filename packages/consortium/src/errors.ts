import { TwinLedgerError } from '@twinledger/errors';

/** A bounded wait ran out; `details.step` names what was awaited, `details.last` what was seen last. */
export class WaitTimeoutError extends TwinLedgerError {
  readonly code = 'WAIT_TIMEOUT';
}

/** A scenario step got an answer other than the one the step requires. */
export class StepFailedError extends TwinLedgerError {
  readonly code = 'STEP_FAILED';
}

/** A consortium service did not become ready (or died); names the service and its log file. */
export class ServiceStartError extends TwinLedgerError {
  readonly code = 'SERVICE_START_FAILED';
}
