import type { DeviceComponent } from '@twinledger/opcua';

/**
 * The device adapter interface: what the agent needs from any device, whatever protocol it
 * speaks. Component IDs are the AML InternalElement IDs; a component the device reports with a
 * new ID is a new physical part (a replaced sensor), never a rename.
 */
export type ParamValue = number | boolean | string;

/**
 * One component as the device describes it (OPC UA node attributes, see README): the OPC UA
 * link's component model, shared with the plant simulator that serves it.
 */
export type { DeviceComponent };

export interface SensorSample {
  readonly componentId: string;
  /** Device time, ms since the epoch. */
  readonly ts: number;
  readonly value: number;
  /** False when the device flags the value as bad (broken sensor). */
  readonly good: boolean;
}

export interface ProgramExecution {
  /** The values read back from the device after the call, by parameter name. */
  readonly readBack: Readonly<Record<string, ParamValue>>;
}

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** What the current session actually negotiated (status, tests). */
export interface LinkSecurity {
  readonly securityMode: string;
  readonly securityPolicy: string;
  /** `username:<name>` or `anonymous`. */
  readonly userIdentity: string;
  /** Thumbprint of the device certificate the session runs against (absent in mode None). */
  readonly serverThumbprint?: string;
}

/** Why the last connect failed (status, tests): a refused device is reported, not retried into silence. */
export interface ConnectFailure {
  /** DEVICE_UNTRUSTED, DEVICE_AUTH_FAILED, DEVICE_UNAVAILABLE ... */
  readonly code: string;
  readonly message: string;
  readonly at: string;
}

export interface DeviceAdapter {
  /** Where the device is (for status and logs). */
  readonly endpoint: string;
  readonly state: ConnectionState;
  /** The security of the current session; undefined while not connected. */
  readonly link?: LinkSecurity | undefined;
  /** The last connect failure; cleared by a successful connect. */
  readonly lastFailure?: ConnectFailure | undefined;
  /** Connects, retrying with backoff until it succeeds or `stop()` is called. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The current component inventory, read from the device. */
  inventory(): Promise<DeviceComponent[]>;
  /** Called whenever the device signals an inventory change, and after every reconnect. */
  onInventoryChange(listener: () => void): void;
  /** Streams the values of the given sensors (replaces the previous selection). */
  watchSensors(componentIds: readonly string[], listener: (sample: SensorSample) => void): Promise<void>;
  /**
   * Reads state variables: of a component, or of the device object itself when `component` is
   * absent. undefined for a variable the device lacks or reads as bad.
   */
  readState(refs: readonly { readonly component?: string; readonly variable: string }[]): Promise<(ParamValue | undefined)[]>;
  /**
   * Runs program `programName` of component `componentId` with the parameters, then reads
   * back each parameter's state variable (parameter `speed` -> variable `Speed`).
   */
  callProgram(componentId: string, programName: string, parameters: Readonly<Record<string, ParamValue>>): Promise<ProgramExecution>;
}
