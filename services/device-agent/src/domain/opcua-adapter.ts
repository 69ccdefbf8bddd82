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
  UserTokenType,
  Variant,
  type ClientMonitoredItem,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  type ReferenceDescription,
} from 'node-opcua';
import type { Logger } from '@twinledger/observability';
import type { ConnectFailure, ConnectionState, DeviceAdapter, DeviceComponent, LinkSecurity, ParamValue, ProgramExecution, SensorSample } from './device.js';
import { DeviceAuthenticationError, DeviceMetadataInvalidError, DeviceNodeMissingError, DeviceOperationError, DeviceUnavailableError, DeviceUntrustedError } from './errors.js';
import { thumbprintOf, trustExactly, type ApplicationCertificate, type SecurePolicy, type UserCredentials } from '@twinledger/opcua';
export { SECURE_POLICIES, type SecurePolicy, type UserCredentials } from '@twinledger/opcua';


/**
 * How the agent secures its link to the device. `SignAndEncrypt` is the only secured mode:
 * `Sign` alone would let anyone on the plant network read the inventory and the calls.
 * `None` exists for a lab on loopback and only when the operator asked for it explicitly
 * (`OPCUA_ALLOW_INSECURE=true`, checked by config.ts).
 */
export type OpcUaClientSecurity =
  | {
      readonly mode: 'SignAndEncrypt';
      readonly policy: SecurePolicy;
      /** The agent's application instance certificate. */
      readonly certificate: ApplicationCertificate;
      /** The device certificates the agent trusts (PEM/DER files): exactly these, nothing else. */
      readonly trustedServerCertificates: readonly string[];
      /** User identity token presented on session activation. */
      readonly user: UserCredentials;
    }
  | { readonly mode: 'None' };

export interface OpcUaAdapterInit {
  /** `opc.tcp://host:port[/path]`. */
  readonly endpointUrl: string;
  /** Browse name of the device object under Objects (default BottlingPlant). */
  readonly deviceName?: string;
  /** The client's PKI folder (trust list in trusted/certs, refused certificates in rejected/). */
  readonly pkiDir: string;
  readonly security: OpcUaClientSecurity;
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
  readonly link: LinkSecurity;
  readonly client: OPCUAClient;
  readonly session: ClientSession;
  readonly subscription: ClientSubscription;
  readonly componentsFolder: string;
  /** Variables of the device object itself (InventoryVersion, Flooding ...) by browse name. */
  readonly deviceVariables: ReadonlyMap<string, string>;
  readonly lost: Promise<void>;
  items: ClientMonitoredItem[];
}

const PROPERTY_NAMES = ['ComponentId', 'Kind', 'Name', 'ParentId', 'MeasuredQuantity', 'Unit', 'ExpectedMin', 'ExpectedMax', 'Manufacturer', 'SerialNumber', 'InstanceId'] as const;

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

type CheckCertificate = (chain: Buffer | Buffer[]) => Promise<{ isNotGood(): boolean; name: string }>;

/**
 * Tells `onRefused` about every peer certificate the manager refuses. node-opcua only reports
 * a refusal as an Error message; recording it at the decision itself lets the adapter raise
 * DEVICE_UNTRUSTED without parsing messages.
 */
function recordRefusals(cm: OPCUACertificateManager, onRefused: (thumbprint: string, status: string) => void): void {
  const target = cm as unknown as { checkCertificate: CheckCertificate };
  const original = target.checkCertificate.bind(cm);
  const patched = (chain: Buffer | Buffer[], callback?: (err: Error | null, status?: unknown) => void): Promise<unknown> | undefined => {
    const p = original(chain).then((status) => {
      if (status.isNotGood()) {
        const leaf = Array.isArray(chain) ? chain[0] : chain;
        let thumbprint = 'unreadable';
        try {
          if (leaf) thumbprint = thumbprintOf(leaf);
        } catch {
          // a chain blob or garbage: the status still says why it was refused
        }
        onRefused(thumbprint, status.name);
      }
      return status;
    });
    if (!callback) return p;
    p.then((st) => callback(null, st), (err: Error) => callback(err));
    return undefined;
  };
  target.checkCertificate = patched as unknown as CheckCertificate;
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
  const security = init.security;
  // Never auto-accept: a device certificate is trusted only when the operator configured it.
  const certificateManager = new OPCUACertificateManager({ rootFolder: init.pkiDir, automaticallyAcceptUnknownCertificate: false });
  let refused: { thumbprint: string; status: string } | undefined;
  recordRefusals(certificateManager, (thumbprint, status) => (refused = { thumbprint, status }));
  let trustReady: Promise<string[]> | undefined;
  let lastFailure: ConnectFailure | undefined;

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
    if (security.mode === 'SignAndEncrypt') {
      trustReady ??= trustExactly(certificateManager, security.trustedServerCertificates).then((t) => {
        log.info({ trusted: t, policy: security.policy }, 'OPC UA trust list set');
        return t;
      });
      await trustReady;
    }
    refused = undefined;
    const client = OPCUAClient.create({
      applicationName: 'TwinLedger device agent',
      endpointMustExist: false,
      ...(security.mode === 'SignAndEncrypt'
        ? {
            securityMode: MessageSecurityMode.SignAndEncrypt,
            securityPolicy: SecurityPolicy[security.policy],
            applicationUri: security.certificate.applicationUri,
            certificateFile: security.certificate.certificateFile,
            privateKeyFile: security.certificate.privateKeyFile,
          }
        : { securityMode: MessageSecurityMode.None, securityPolicy: SecurityPolicy.None }),
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
      try {
        await client.connect(init.endpointUrl);
      } catch (err) {
        // Set by the certificate manager's check during connect (TS cannot see that write).
        const r = refused as { thumbprint: string; status: string } | undefined;
        if (r) {
          throw new DeviceUntrustedError(`the endpoint at ${init.endpointUrl} presented a certificate that is not in the trust list (${r.status}, thumbprint ${r.thumbprint})`, {
            cause: err,
            details: { endpoint: init.endpointUrl, thumbprint: r.thumbprint, status: r.status },
          });
        }
        throw err;
      }
      let session: ClientSession;
      try {
        session = await client.createSession(security.mode === 'SignAndEncrypt' ? { type: UserTokenType.UserName, userName: security.user.username, password: security.user.password } : undefined);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        if (/BadUserAccessDenied|BadIdentityToken/.test(msg)) {
          throw new DeviceAuthenticationError(`the device refused the agent's user ${security.mode === 'SignAndEncrypt' ? security.user.username : 'anonymous'}`, { cause: err, details: { endpoint: init.endpointUrl } });
        }
        throw err;
      }
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
      const serverCert = ([] as Buffer[]).concat(client.serverCertificate ?? [])[0];
      const policyUri = session.endpoint.securityPolicyUri ?? '';
      const link: LinkSecurity = {
        securityMode: MessageSecurityMode[session.endpoint.securityMode],
        securityPolicy: policyUri.split('#')[1] ?? policyUri,
        userIdentity: security.mode === 'SignAndEncrypt' ? `username:${security.user.username}` : 'anonymous',
        ...(serverCert && serverCert.length > 0 ? { serverThumbprint: thumbprintOf(serverCert) } : {}),
      };
      const deviceVariables = new Map((plantChildren ?? []).filter((r) => r.nodeClass === NodeClass.Variable).map((r) => [r.browseName.name ?? '', r.nodeId.toString()] as const));
      const c: Connection = { link, client, session, subscription, componentsFolder: folder.nodeId.toString(), deviceVariables, lost, items: [] };
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
        lastFailure = undefined;
        log.info({ link: c.link }, 'device connected');
        if (watched) await applyWatch(c, watched.ids, watched.listener).catch((err: unknown) => log.warn({ err }, 'could not re-create sensor monitoring'));
        firstConnected?.resolve();
        notifyInventory();
        await Promise.race([c.lost, new Promise<void>((resolve) => (wakeUp = resolve))]);
        if (!stopped) log.warn('device connection lost');
      } catch (err) {
        const code = typeof (err as { code?: unknown }).code === 'string' ? ((err as { code: string }).code) : 'DEVICE_UNAVAILABLE';
        lastFailure = { code, message: err instanceof Error ? err.message : String(err), at: new Date().toISOString() };
        // A refused certificate or user is a security event, not a flaky network: log it as an error.
        if (err instanceof DeviceUntrustedError || err instanceof DeviceAuthenticationError) log.error({ code, details: err.details, retryInMs: delay }, err.message);
        else log.warn({ err: lastFailure.message, retryInMs: delay }, 'device connect failed');
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
      const failed = new Set<string>();
      reads.forEach((r, i) => {
        const dv = values[i];
        const rec = props.get(r.component) ?? {};
        props.set(r.component, rec);
        // A part whose reads fail is unreachable (bus fault, powered off), not gone.
        if (!dv || dv.statusCode.isNotGood()) failed.add(r.component);
        else rec[r.prop] = dv.value.value as unknown;
      });
      const out: DeviceComponent[] = [];
      for (const [browseName, p] of props) {
        const s = (k: string): string | undefined => (typeof p[k] === 'string' ? (p[k] as string) : undefined);
        const n = (k: string): number | undefined => (typeof p[k] === 'number' && Number.isFinite(p[k]) ? (p[k] as number) : undefined);
        const componentId = s('ComponentId') ?? browseName;
        if (failed.has(browseName)) {
          out.push({ componentId: browseName, kind: s('Kind') ?? 'unknown', name: s('Name') ?? '', parentId: s('ParentId') ?? '', reachable: false });
          continue;
        }
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
          ...(s('InstanceId') !== undefined ? { instanceId: s('InstanceId') } : {}),
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
    get link() {
      return conn?.link;
    },
    get lastFailure() {
      return lastFailure;
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
      await certificateManager.dispose().catch(() => undefined);
    },
    inventory,
    onInventoryChange(listener) {
      inventoryListeners.add(listener);
    },
    async watchSensors(ids, listener) {
      watched = { ids: [...ids], listener };
      if (conn) await applyWatch(conn, ids, listener);
    },
    async readState(refs) {
      const c = current();
      const ids: (string | undefined)[] = [];
      for (const r of refs) {
        if (r.component === undefined) ids.push(c.deviceVariables.get(r.variable));
        else ids.push((await componentNodes(c, r.component).catch(() => undefined))?.variables.get(r.variable));
      }
      const present = ids.filter((x): x is string => x !== undefined);
      const values = await readValues(c, present);
      let k = 0;
      return ids.map((id) => {
        if (id === undefined) return undefined;
        const dv = values[k++];
        const v = dv?.value.value as unknown;
        return dv && dv.statusCode.isGood() && (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') ? v : undefined;
      });
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
