import {
  DataType,
  DataValue,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  Variant,
  type CallbackT,
  type CallMethodResultOptions,
  type Namespace,
  type ISessionContext,
  type UAObject,
  type UAVariable,
} from 'node-opcua';
import { createHash, timingSafeEqual } from 'node:crypto';
import { trustExactly, type ApplicationCertificate, type DeviceComponent, type SecurePolicy, type UserCredentials } from '@twinledger/opcua';

/**
 * The plant's side of the link: it serves SignAndEncrypt only, with its own certificate, to
 * clients whose certificate is in `trustedClientCertificates` (exactly those) and who present
 * one of `users`. `None` is the old lab mode (no security, anonymous), for explicit opt-in only.
 */
export type SimulatorSecurity =
  | {
      readonly mode: 'SignAndEncrypt';
      readonly policy: SecurePolicy;
      readonly certificate: ApplicationCertificate;
      readonly trustedClientCertificates: readonly string[];
      readonly users: readonly UserCredentials[];
    }
  | { readonly mode: 'None' };

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * A simulated bottling plant (paper section 5), served as a real OPC UA server so the agent
 * drives it through the same OPC UA client path as a real device. Its initial inventory matches
 * chaincode/fixtures/bottling-plant.aml.
 *
 * Address space (the convention the OPC UA adapter reads, README "OPC UA device profile"):
 *   Objects/<deviceName>/InventoryVersion           UInt32, +1 on every component change
 *   Objects/<deviceName>/Flooding                    Boolean, true while bottles overflow
 *   Objects/<deviceName>/Components/<componentId>    one Object per part, with properties
 *       ComponentId, Kind, Name, ParentId, MeasuredQuantity, Unit, ExpectedMin, ExpectedMax,
 *       Manufacturer, SerialNumber; sensors: variable Value; actuators: state variables
 *       (Speed, Open) and one Method per program (SetConveyorSpeed(speed), SetValve(open)).
 */
export interface SimulatorInit {
  /** 0 = an ephemeral port. */
  readonly port?: number;
  /** PKI folder for the server (trust list in trusted/certs, refused clients in rejected/). */
  readonly pkiDir: string;
  readonly security: SimulatorSecurity;
  readonly deviceName?: string;
  /** How often sensor values change. */
  readonly tickMs?: number;
  /** Physical limit of the belt drive; calls beyond it fail on the device (BadOutOfRange). */
  readonly maxBeltSpeed?: number;
}

export interface SimulatedSensorSpec {
  readonly componentId: string;
  readonly name: string;
  readonly parentId: string;
  readonly measuredQuantity: string;
  readonly unit: string;
  readonly expectedMin: number;
  readonly expectedMax: number;
  readonly serialNumber?: string;
  readonly instanceId?: string;
}

export interface ProgramInvocation {
  readonly componentId: string;
  readonly method: string;
  readonly args: Readonly<Record<string, number | boolean>>;
  /** Wall time at which the device applied the call (ms). */
  readonly at: number;
}

export interface BottlingPlantSimulator {
  readonly endpointUrl: string;
  readonly port: number;
  /** The simulator's own view (for tests and the benchmark). */
  components(): DeviceComponent[];
  readonly conveyorSpeed: number;
  valveOpen(componentId: string): boolean;
  readonly flooding: boolean;
  /** The sensor fails: its value turns bad and, for the fill level, the bottles flood. */
  breakSensor(componentId: string): void;
  /** A technician swaps the sensor for a new part with a new component ID. */
  replaceSensor(oldId: string, replacement: { componentId: string; serialNumber?: string }): void;
  /** A technician swaps the sensor for a new part that keeps the tag (component ID): only its identity changes. */
  swapSensorPart(componentId: string, part: { serialNumber: string; instanceId?: string }): void;
  /** The part stays listed but every read of it fails (BadCommunicationError), e.g. a bus fault; `false` heals it. */
  setUnreachable(componentId: string, unreachable: boolean): void;
  /** Every program call the device executed, in order. */
  readonly invocations: readonly ProgramInvocation[];
  onInvocation(listener: (inv: ProgramInvocation) => void): () => void;
  stop(): Promise<void>;
}

export const BOTTLING_PLANT_SENSORS: readonly SimulatedSensorSpec[] = [
  { componentId: 'sensor-fill-level-1', name: 'FillLevelSensor', parentId: 'filler-1', measuredQuantity: 'fill level', unit: 'mm', expectedMin: 180, expectedMax: 195 },
  { componentId: 'sensor-flow-1', name: 'FlowSensor', parentId: 'filler-1', measuredQuantity: 'volume flow', unit: 'l/min', expectedMin: 40, expectedMax: 60 },
  { componentId: 'sensor-pressure-1', name: 'PressureSensor', parentId: 'filler-1', measuredQuantity: 'pressure', unit: 'bar', expectedMin: 1.5, expectedMax: 3.0 },
  { componentId: 'sensor-temperature-1', name: 'TemperatureSensor', parentId: 'filler-1', measuredQuantity: 'temperature', unit: 'degC', expectedMin: 4, expectedMax: 8 },
];

interface SensorState {
  spec: SimulatedSensorSpec;
  node: UAObject;
  value: UAVariable;
  broken: boolean;
  phase: number;
}

function str(value: string): { dataType: DataType; value: string } {
  return { dataType: DataType.String, value };
}

export async function startBottlingPlantSimulator(init: SimulatorInit): Promise<BottlingPlantSimulator> {
  const deviceName = init.deviceName ?? 'BottlingPlant';
  const maxBeltSpeed = init.maxBeltSpeed ?? 3.0;
  const security = init.security;
  // Clients are trusted only when configured: no auto-accept, the trust list is set exactly.
  const certificateManager = new OPCUACertificateManager({ rootFolder: init.pkiDir, automaticallyAcceptUnknownCertificate: false });
  if (security.mode === 'SignAndEncrypt') await trustExactly(certificateManager, security.trustedClientCertificates);
  const users = security.mode === 'SignAndEncrypt' ? security.users.map((u) => ({ username: u.username, password: digest(u.password) })) : [];
  const server = new OPCUAServer({
    port: init.port ?? 0,
    hostname: '127.0.0.1',
    alternateHostname: ['127.0.0.1'],
    serverCertificateManager: certificateManager,
    ...(security.mode === 'SignAndEncrypt'
      ? {
          securityModes: [MessageSecurityMode.SignAndEncrypt],
          securityPolicies: [SecurityPolicy[security.policy]],
          certificateFile: security.certificate.certificateFile,
          privateKeyFile: security.certificate.privateKeyFile,
          serverInfo: { applicationUri: security.certificate.applicationUri, productUri: 'urn:twinledger:bottling-plant-simulator' },
          allowAnonymous: false,
          userManager: {
            // Compared as digests in constant time: no early exit on the first wrong byte.
            isValidUser: (username: string, password: string) => users.some((u) => u.username === username && timingSafeEqual(u.password, digest(password))),
          },
        }
      : { securityModes: [MessageSecurityMode.None], securityPolicies: [SecurityPolicy.None], allowAnonymous: true }),
    buildInfo: { productName: 'TwinLedger bottling plant simulator', manufacturerName: 'TwinLedger' },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  if (!addressSpace) throw new Error('OPC UA server has no address space after initialize()');
  const ns: Namespace = addressSpace.getOwnNamespace();

  const plant = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: deviceName });
  let inventoryVersion = 1;
  ns.addVariable({
    componentOf: plant,
    browseName: 'InventoryVersion',
    dataType: 'UInt32',
    // Getter-backed values are polled by the server's sampling; keep exchange detection fast.
    minimumSamplingInterval: 50,
    value: { get: () => new Variant({ dataType: DataType.UInt32, value: inventoryVersion }) },
  });
  let flooding = false;
  ns.addVariable({
    componentOf: plant,
    browseName: 'Flooding',
    dataType: 'Boolean',
    minimumSamplingInterval: 50,
    value: { get: () => new Variant({ dataType: DataType.Boolean, value: flooding }) },
  });
  const componentsFolder = ns.addObject({ componentOf: plant, browseName: 'Components' });

  const meta = new Map<string, DeviceComponent>();
  const unreachable = new Set<string>();
  const addComponent = (c: DeviceComponent): UAObject => {
    const node = ns.addObject({ componentOf: componentsFolder, browseName: c.componentId });
    const prop = (name: string, v: { dataType: DataType; value: unknown }, dataType: string): void => {
      // Getter-backed so that an unreachable part fails its reads like a real one behind a dead bus coupler.
      const good = new Variant(v);
      ns.addVariable({
        propertyOf: node,
        browseName: name,
        dataType,
        minimumSamplingInterval: 1000,
        value: {
          timestamped_get: () =>
            unreachable.has(c.componentId) ? new DataValue({ statusCode: StatusCodes.BadCommunicationError }) : new DataValue({ value: good, statusCode: StatusCodes.Good }),
        },
      });
    };
    prop('ComponentId', str(c.componentId), 'String');
    prop('Kind', str(c.kind), 'String');
    prop('Name', str(c.name), 'String');
    prop('ParentId', str(c.parentId), 'String');
    if (c.measuredQuantity !== undefined) prop('MeasuredQuantity', str(c.measuredQuantity), 'String');
    if (c.unit !== undefined) prop('Unit', str(c.unit), 'String');
    if (c.expectedMin !== undefined) prop('ExpectedMin', { dataType: DataType.Double, value: c.expectedMin }, 'Double');
    if (c.expectedMax !== undefined) prop('ExpectedMax', { dataType: DataType.Double, value: c.expectedMax }, 'Double');
    if (c.manufacturer !== undefined) prop('Manufacturer', str(c.manufacturer), 'String');
    if (c.serialNumber !== undefined) prop('SerialNumber', str(c.serialNumber), 'String');
    if (c.instanceId !== undefined) prop('InstanceId', str(c.instanceId), 'String');
    meta.set(c.componentId, c);
    return node;
  };

  const sensors = new Map<string, SensorState>();
  const addSensor = (spec: SimulatedSensorSpec): void => {
    const node = addComponent({ kind: 'sensor', manufacturer: 'ACME Sensors', serialNumber: spec.serialNumber ?? `SN-${spec.componentId}`, ...spec });
    const value = ns.addVariable({ componentOf: node, browseName: 'Value', dataType: 'Double', value: { dataType: DataType.Double, value: (spec.expectedMin + spec.expectedMax) / 2 } });
    sensors.set(spec.componentId, { spec, node, value, broken: false, phase: sensors.size });
  };
  for (const s of BOTTLING_PLANT_SENSORS) addSensor(s);

  const invocations: ProgramInvocation[] = [];
  const listeners = new Set<(inv: ProgramInvocation) => void>();
  const record = (inv: ProgramInvocation): void => {
    invocations.push(inv);
    for (const l of listeners) l(inv);
  };

  // Conveyor with its speed and program.
  let speed = 1.2;
  const conveyor = addComponent({ componentId: 'conveyor-1', kind: 'actuator', name: 'Conveyor', parentId: 'plant-1' });
  ns.addVariable({ componentOf: conveyor, browseName: 'Speed', dataType: 'Double', minimumSamplingInterval: 50, value: { get: () => new Variant({ dataType: DataType.Double, value: speed }) } });
  const setSpeed = ns.addMethod(conveyor, {
    browseName: 'SetConveyorSpeed',
    inputArguments: [{ name: 'speed', dataType: DataType.Double, description: { text: 'target belt speed in m/s' } }],
    outputArguments: [],
  });
  setSpeed.bindMethod((inputArguments: Variant[], _ctx: ISessionContext, callback: CallbackT<CallMethodResultOptions>) => {
    const v = inputArguments[0]?.value as unknown;
    if (typeof v !== 'number' || !Number.isFinite(v)) return callback(null, { statusCode: StatusCodes.BadInvalidArgument });
    if (v < 0 || v > maxBeltSpeed) return callback(null, { statusCode: StatusCodes.BadOutOfRange });
    speed = v;
    record({ componentId: 'conveyor-1', method: 'SetConveyorSpeed', args: { speed: v }, at: Date.now() });
    callback(null, { statusCode: StatusCodes.Good, outputArguments: [] });
  });

  // Valves.
  const valves = new Map<string, boolean>();
  for (const [id, name] of [['valve-inlet-1', 'InletValve'], ['valve-outlet-1', 'OutletValve']] as const) {
    valves.set(id, false);
    const valve = addComponent({ componentId: id, kind: 'actuator', name, parentId: 'plant-1' });
    ns.addVariable({ componentOf: valve, browseName: 'Open', dataType: 'Boolean', minimumSamplingInterval: 50, value: { get: () => new Variant({ dataType: DataType.Boolean, value: valves.get(id) ?? false }) } });
    const m = ns.addMethod(valve, {
      browseName: 'SetValve',
      inputArguments: [{ name: 'open', dataType: DataType.Boolean, description: { text: 'true opens the valve' } }],
      outputArguments: [],
    });
    m.bindMethod((inputArguments: Variant[], _ctx: ISessionContext, callback: CallbackT<CallMethodResultOptions>) => {
      const v = inputArguments[0]?.value as unknown;
      if (typeof v !== 'boolean') return callback(null, { statusCode: StatusCodes.BadInvalidArgument });
      valves.set(id, v);
      record({ componentId: id, method: 'SetValve', args: { open: v }, at: Date.now() });
      callback(null, { statusCode: StatusCodes.Good, outputArguments: [] });
    });
  }

  let tick = 0;
  const timer = setInterval(() => {
    tick += 1;
    const now = new Date();
    for (const s of sensors.values()) {
      const mid = (s.spec.expectedMin + s.spec.expectedMax) / 2;
      const half = (s.spec.expectedMax - s.spec.expectedMin) / 2;
      if (unreachable.has(s.spec.componentId)) {
        s.value.setValueFromSource({ dataType: DataType.Double, value: 0 }, StatusCodes.BadCommunicationError, now);
      } else if (s.broken) {
        // A dead sensor reads its floor with a bad status; the filler, blind, keeps filling.
        s.value.setValueFromSource({ dataType: DataType.Double, value: 0 }, StatusCodes.BadSensorFailure, now);
      } else {
        const v = mid + half * 0.6 * Math.sin((tick + s.phase * 7) / 10);
        s.value.setValueFromSource({ dataType: DataType.Double, value: Math.round(v * 1000) / 1000 }, StatusCodes.Good, now);
      }
    }
  }, init.tickMs ?? 100);
  timer.unref();

  await server.start();
  const port = server.endpoints[0]?.port;
  if (port === undefined) throw new Error('OPC UA server started without an endpoint');

  return {
    endpointUrl: `opc.tcp://127.0.0.1:${port}`,
    port,
    components: () => [...meta.values()],
    get conveyorSpeed() {
      return speed;
    },
    valveOpen: (id) => valves.get(id) ?? false,
    get flooding() {
      return flooding;
    },
    breakSensor(componentId) {
      const s = sensors.get(componentId);
      if (!s) throw new Error(`no sensor ${componentId}`);
      s.broken = true;
      if (s.spec.measuredQuantity === 'fill level') flooding = true;
    },
    replaceSensor(oldId, replacement) {
      const old = sensors.get(oldId);
      if (!old) throw new Error(`no sensor ${oldId}`);
      if (meta.has(replacement.componentId)) throw new Error(`component ${replacement.componentId} already exists`);
      addressSpace.deleteNode(old.node);
      sensors.delete(oldId);
      meta.delete(oldId);
      addSensor({ ...old.spec, componentId: replacement.componentId, serialNumber: replacement.serialNumber ?? `SN-${replacement.componentId}` });
      if (old.spec.measuredQuantity === 'fill level') flooding = false;
      inventoryVersion += 1;
    },
    swapSensorPart(componentId, part) {
      const old = sensors.get(componentId);
      if (!old) throw new Error(`no sensor ${componentId}`);
      addressSpace.deleteNode(old.node);
      sensors.delete(componentId);
      meta.delete(componentId);
      const { instanceId: _oldInstance, ...spec } = old.spec;
      addSensor({ ...spec, serialNumber: part.serialNumber, ...(part.instanceId !== undefined ? { instanceId: part.instanceId } : {}) });
      if (old.spec.measuredQuantity === 'fill level') flooding = false;
      inventoryVersion += 1;
    },
    setUnreachable(componentId, down) {
      if (!meta.has(componentId)) throw new Error(`no component ${componentId}`);
      if (down) unreachable.add(componentId);
      else unreachable.delete(componentId);
    },
    invocations,
    onInvocation(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      clearInterval(timer);
      await server.shutdown(0);
    },
  };
}
