import { TwinLedgerError } from '@twinledger/errors';

/** A required tool (Node 20, Go, Java 17, Maven) is missing or too old. */
export class PrerequisiteError extends TwinLedgerError {
  readonly code = 'PREREQUISITE_MISSING';
}

/** Installing an engine failed; `details.command` and `details.output` say exactly how. */
export class EngineInstallError extends TwinLedgerError {
  readonly code = 'ENGINE_INSTALL_FAILED';
}

/** A command the network runs (cryptogen, osnadmin, peer lifecycle ...) exited non-zero. */
export class CommandFailedError extends TwinLedgerError {
  readonly code = 'COMMAND_FAILED';
}

/** A process did not come up (or died); names the process and its log file. */
export class ProcessStartError extends TwinLedgerError {
  readonly code = 'PROCESS_START_FAILED';
}

/** A port the network needs is taken by another program. */
export class PortInUseError extends TwinLedgerError {
  readonly code = 'PORT_IN_USE';
}
