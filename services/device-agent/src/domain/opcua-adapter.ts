import {
  AttributeIds,
  BrowseDirection,
  DataType,
  MessageSecurityMode,
  NodeClass,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  StatusCodes,
  TimestampsToReturn,
  Variant,
  type ClientMonitoredItem,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  type ReferenceDescription,
} from 'node-opcua';
import type { Logger } from '@twinledger/observability';
import type { ConnectionState, DeviceAdapter, DeviceComponent, ParamValue, ProgramExecution, SensorSample } from './device.js';
import { DeviceMetadataInvalidError, DeviceNodeMissingError, DeviceOperationError, DeviceUnavailableError } from './errors.js';

export interface OpcUaAdapterInit {
  /** `opc.tcp://host:port[/path]`. */
  readonly endpointUrl: string;
  /** Browse name of the device object under Objects (default BottlingPlant). */
  readonly deviceName?: string;
  /** Folder for the client's application certificate. */
  readonly pkiDir: string;
  readonly logger: Logger;
  /** Sampling interval of sensor values (ms); also the publishing interval. */
  readonly samplingIntervalMs?: number;
  /** Reconnect backoff: first delay and ceiling (ms). */
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
}

interface ComponentNodes {
  readonly nodeId: string;
  /** Properties and variables by browse name. */
  readonly variables: Map<string, string>;
  readonly methods: Map<string, string>;
}

interface Connection {
  readonly client: OPCUAClient;
  readonly session: ClientSession;
  readonly subscription: ClientSubscription;
  readonly componentsFolder: string;
  readonly lost: Promise<void>;
  items: ClientMonitoredItem[];
}

const PROPERTY_NAMES = ['ComponentId', 'Kind', 'Name', 'ParentId', 'MeasuredQuantity', 'Unit', 'ExpectedMin', 'ExpectedMax', 'Manufacturer', 'SerialNumber'] as const;

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * The OPC UA client adapter (node-opcua). It owns one connection at a time; when the
 * connection or session is lost it tears everything down and reconnects with exponential
 * backoff, then re-creates the sensor monitored items and tells inventory listeners to re-sync
 * (the device may have changed while we were away).
 */
export function createOpcUaAdapter(init: OpcUaAdapterInit): DeviceAdapter {
  const log = init.logger.child({ component: 'opcua-adapter', endpoint: init.endpointUrl });
  const deviceName = init.deviceName ?? 'BottlingPlant';
  const samplingMs = init.samplingIntervalMs ?? 100;
  const initialDelay = init.reconnectInitialMs ?? 200;
  const maxDelay = init.reconnectMaxMs ?? 5_000;
  const certificateManager = new OPCUACertificateManager({ rootFolder: init.pkiDir, automaticallyAcceptUnknownCertificate: true });

  let state: ConnectionState = 'closed';
  let conn: Connection | undefined;
  let stopped = false;
  let loop: Promise<void> | undefined;
  let nodes = new Map<string, ComponentNodes>();
  const inventoryListeners = new Set<() => void>();
  let watched: { ids: readonly string[]; listener: (s: SensorSample) => void } | undefined;
  let firstConnected: { resolve: () => void; promise: Promise<void> } | undefined;
  let wakeUp: (() => void) | undefined;

  const notifyInventory = (): void => {
    for (const l of inventoryListeners) {
      try {
        l();
      } catch (err) {
        log.error({ err }, 'inventory listener failed');
      }
    }
  };

  async function browseChildren(session: ClientSession, nodeIds: readonly string[]): Promise<ReferenceDescription[][]> {
    if (nodeIds.length === 0) return [];
    const results = await session.browse(
      nodeIds.map((nodeId) => ({
        nodeId,
        referenceTypeId: 'HierarchicalReferences',
        includeSubtypes: true,
        browseDirection: BrowseDirection.Forward,
        nodeClassMask: 0,
        resultMask: 63,
      })),
    );
    return results.map((r, i) => {
      if (r.statusCode.isNotGood()) throw new DeviceOperationError(`browse of ${nodeIds[i]} failed: ${r.statusCode.name}`, { details: { nodeId: nodeIds[i], status: r.statusCode.name } });
      return r.references ?? [];
    });
  }

  async function connectOnce(): Promise<Connection> {
    const client = OPCUAClient.create({
      applicationName: 'TwinLedger device agent',
      endpointMustExist: false,
      securityMode: MessageSecurityMode.None,
      securityPolicy: SecurityPolicy.None,
      clientCertificateManager: certificateManager,
      // We reconnect ourselves (fresh session, fresh subscriptions): one attempt per connect.
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      keepSessionAlive: true,
      requestedSessionTimeout: 30_000,
    });
    let markLost: () => void = () => undefined;
    const lost = new Promise<void>((resolve) => {
      markLost = resolve;
    });
    client.on('connection_lost', () => markLost());
    client.on('close', () => markLost());
    try {
      await client.connect(init.endpointUrl);
      const session = await client.createSession();
      session.on('session_closed', () => markLost());
      session.on('keepalive_failure', () => markLost());
      const [objects] = await browseChildren(session, ['i=85']);
      const plant = objects?.find((r) => r.browseName.name === deviceName);
      if (!plant) throw new DeviceNodeMissingError(`no object ${deviceName} under Objects`, { details: { deviceName } });
      const [plantChildren] = await browseChildren(session, [plant.nodeId.toString()]);
      const folder = plantChildren?.find((r) => r.browseName.name === 'Components');
      const version = plantChildren?.find((r) => r.browseName.name === 'InventoryVersion');
      if (!folder) throw new DeviceNodeMissingError(`device ${deviceName} has no Components folder`, { details: { deviceName } });
      const subscription = await session.createSubscription2({
        requestedPublishingInterval: samplingMs,
        requestedLifetimeCount: 600,
        requestedMaxKeepAliveCount: 20,
        maxNotificationsPerPublish: 2000,
        publishingEnabled: true,
        priority: 1,
      });
      const c: Connection = { client, session, subscription, componentsFolder: folder.nodeId.toString(), lost, items: [] };
      if (version) {
        const item = await subscription.monitor(
          { nodeId: version.nodeId.toString(), attributeId: AttributeIds.Value },
          { samplingInterval: samplingMs, discardOldest: true, queueSize: 1 },
          TimestampsToReturn.Neither,
        );
        let last: unknown;
        item.on('changed', (dv: DataValue) => {
          const v = dv.value.value as unknown;
          // The first notification is the current value: the reconnect already triggers a sync.
          if (last !== undefined && v !== last) notifyInventory();
          last = v;
        });
      }
      return c;
    } catch (err) {
      await client.disconnect().catch(() => undefined);
      throw err;
    }
  }

  async function teardown(c: Connection): Promise<void> {
    await c.subscription.terminate().catch(() => undefined);
    await c.session.close().catch(() => undefined);
    await c.client.disconnect().catch(() => undefined);
  }

  async function run(): Promise<void> {
    let delay = initialDelay;
    while (!stopped) {
      try {
        state = conn === undefined && delay === initialDelay ? 'connecting' : 'reconnecting';
        const c = await connectOnce();
        if (stopped) {
          await teardown(c);
          break;
        }
        conn = c;
        nodes = new Map();
        state = 'connected';
        delay = initialDelay;
        log.info('device connected');
        if (watched) await applyWatch(c, watched.ids, watched.listener).catch((err: unknown) => log.warn({ err }, 'could not re-create sensor monitoring'));
        firstConnected?.resolve();
        notifyInventory();
        await Promise.race([c.lost, new Promise<void>((resolve) => (wakeUp = resolve))]);
        if (!stopped) log.warn('device connection lost');
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'device connect failed');
      }
      const old = conn;
      conn = undefined;
      if (old) await teardown(old);
      if (stopped) break;
      state = 'reconnecting';
      await Promise.race([sleep(delay), new Promise<void>((resolve) => (wakeUp = resolve))]);
      delay = Math.min(delay * 2, maxDelay);
    }
    state = 'closed';
  }

  function current(): Connection {
    if (!conn) throw new DeviceUnavailableError(`device ${init.endpointUrl} is not connected`, { retryAfterSeconds: 1, details: { state } });
    return conn;
  }

  async function loadNodes(c: Connection): Promise<Map<string, ComponentNodes>> {
    const [children] = await browseChildren(c.session, [c.componentsFolder]);
    const objects = (children ?? []).filter((r) => r.nodeClass === NodeClass.Object);
    const grand = await browseChildren(c.session, objects.map((o) => o.nodeId.toString()));
    const map = new Map<string, ComponentNodes>();
    objects.forEach((o, i) => {
      const variables = new Map<string, string>();
      const methods = new Map<string, string>();
      for (const r of grand[i] ?? []) {
        if (r.nodeClass === NodeClass.Variable) variables.set(r.browseName.name ?? '', r.nodeId.toString());
        else if (r.nodeClass === NodeClass.Method) methods.set(r.browseName.name ?? '', r.nodeId.toString());
      }
      map.set(o.browseName.name ?? '', { nodeId: o.nodeId.toString(), variables, methods });
    });
    return map;
  }

  async function readValues(c: Connection, nodeIds: readonly string[]): Promise<DataValue[]> {
    if (nodeIds.length === 0) return [];
    return c.session.read(nodeIds.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })));
  }

  async function inventory(): Promise<DeviceComponent[]> {
    const c = current();
    try {
      const map = await loadNodes(c);
      nodes = map;
      const reads: { component: string; prop: string; nodeId: string }[] = [];
      for (const [component, n] of map) {
        for (const prop of PROPERTY_NAMES) {
          const id = n.variables.get(prop);
          if (id) reads.push({ component, prop, nodeId: id });
        }
      }
      const values = await readValues(c, reads.map((r) => r.nodeId));
      const props = new Map<string, Record<string, unknown>>();
      reads.forEach((r, i) => {
        const dv = values[i];
        if (!dv || dv.statusCode.isNotGood()) return;
        const rec = props.get(r.component) ?? {};
        rec[r.prop] = dv.value.value as unknown;
        props.set(r.component, rec);
      });
      const out: DeviceComponent[] = [];
      for (const [browseName, p] of props) {
        const s = (k: string): string | undefined => (typeof p[k] === 'string' ? (p[k] as string) : undefined);
        const n = (k: string): number | undefined => (typeof p[k] === 'number' && Number.isFinite(p[k]) ? (p[k] as number) : undefined);
        const componentId = s('ComponentId') ?? browseName;
        const kind = s('Kind');
        const name = s('Name');
        const parentId = s('ParentId');
        if (kind === undefined || name === undefined || parentId === undefined) {
          throw new DeviceMetadataInvalidError(`component ${componentId} lacks Kind, Name or ParentId`, { details: { componentId } });
        }
        out.push({
          componentId,
          kind,
          name,
          parentId,
          ...(s('MeasuredQuantity') !== undefined ? { measuredQuantity: s('MeasuredQuantity') } : {}),
          ...(s('Unit') !== undefined ? { unit: s('Unit') } : {}),
          ...(n('ExpectedMin') !== undefined ? { expectedMin: n('ExpectedMin') } : {}),
          ...(n('ExpectedMax') !== undefined ? { expectedMax: n('ExpectedMax') } : {}),
          ...(s('Manufacturer') !== undefined ? { manufacturer: s('Manufacturer') } : {}),
          ...(s('SerialNumber') !== undefined ? { serialNumber: s('SerialNumber') } : {}),
        });
      }
      return out.sort((a, b) => a.componentId.localeCompare(b.componentId));
    } catch (err) {
      if (conn !== c) throw new DeviceUnavailableError('device connection lost during inventory read', { cause: err, retryAfterSeconds: 1 });
      throw err;
    }
  }

  async function componentNodes(c: Connection, componentId: string): Promise<ComponentNodes> {
    let n = nodes.get(componentId);
    if (!n) {
      nodes = await loadNodes(c);
      n = nodes.get(componentId);
    }
    if (!n) throw new DeviceNodeMissingError(`device has no component ${componentId}`, { details: { componentId } });
    return n;
  }

  async function applyWatch(c: Connection, ids: readonly string[], listener: (s: SensorSample) => void): Promise<void> {
    const old = c.items;
    c.items = [];
    await Promise.all(old.map((i) => i.terminate().catch(() => undefined)));
    nodes = await loadNodes(c);
    for (const componentId of ids) {
      const valueId = nodes.get(componentId)?.variables.get('Value');
      if (!valueId) {
        log.warn({ componentId }, 'sensor has no Value variable on the device; not streamed');
        continue;
      }
      const item = await c.subscription.monitor(
        { nodeId: valueId, attributeId: AttributeIds.Value },
        { samplingInterval: samplingMs, discardOldest: true, queueSize: 100 },
        TimestampsToReturn.Both,
      );
      item.on('changed', (dv: DataValue) => {
        const v = dv.value.value as unknown;
        if (typeof v !== 'number') return;
        const ts = (dv.sourceTimestamp ?? dv.serverTimestamp ?? new Date()).getTime();
        listener({ componentId, ts, value: v, good: dv.statusCode.isGood() });
      });
      c.items.push(item);
    }
  }

  return {
    endpoint: init.endpointUrl,
    get state() {
      return state;
    },
    start() {
      if (!loop) {
        stopped = false;
        let resolve: () => void = () => undefined;
        const promise = new Promise<void>((r) => (resolve = r));
        firstConnected = { resolve, promise };
        loop = run();
      }
      return firstConnected?.promise ?? Promise.resolve();
    },
    async stop() {
      stopped = true;
      wakeUp?.();
      await loop;
      loop = undefined;
    },
    inventory,
    onInventoryChange(listener) {
      inventoryListeners.add(listener);
    },
    async watchSensors(ids, listener) {
      watched = { ids: [...ids], listener };
      if (conn) await applyWatch(conn, ids, listener);
    },
    async callProgram(componentId, programName, parameters): Promise<ProgramExecution> {
      const c = current();
      const n = await componentNodes(c, componentId);
      const methodId = n.methods.get(programName);
      if (!methodId) throw new DeviceNodeMissingError(`component ${componentId} has no program ${programName}`, { details: { componentId, programName } });
      const def = await c.session.getArgumentDefinition(methodId);
      const inputArguments = (def.inputArguments ?? []).map((arg) => {
        const name = arg.name ?? '';
        const value = parameters[name];
        if (value === undefined) throw new DeviceOperationError(`program ${programName} needs argument ${name}`, { details: { programName, argument: name } });
        return new Variant({ dataType: Number(arg.dataType.value) as DataType, value });
      });
      const result = await c.session.call({ objectId: n.nodeId, methodId, inputArguments });
      if (result.statusCode !== StatusCodes.Good) {
        throw new DeviceOperationError(`device refused ${programName}: ${result.statusCode.name}`, { details: { programName, status: result.statusCode.name } });
      }
      const names = Object.keys(parameters);
      const ids = names.map((p) => n.variables.get(capitalize(p)));
      const readable = names.filter((_p, i) => ids[i] !== undefined);
      const values = await readValues(c, ids.filter((x): x is string => x !== undefined));
      const readBack: Record<string, ParamValue> = {};
      readable.forEach((p, i) => {
        const dv = values[i];
        if (dv && dv.statusCode.isGood()) readBack[p] = dv.value.value as ParamValue;
      });
      return { readBack };
    },
  };
}
