import { XMLParser } from 'fast-xml-parser';
import type { DeviceComponent } from './device.js';
import { DeviceMetadataInvalidError } from './errors.js';

/** One InternalElement of the twin's AML, without its subtree. */
export interface TwinElement {
  readonly id: string;
  readonly name: string;
  /** '' for elements directly under an InstanceHierarchy. */
  readonly parentId: string;
  readonly roles: readonly string[];
  /** Attribute name -> its Value text. */
  readonly attributes: Readonly<Record<string, string>>;
  /** IDs of the nested InternalElements, in document order. */
  readonly childIds: readonly string[];
}

export interface TwinModel {
  readonly elements: ReadonlyMap<string, TwinElement>;
}

export const SENSOR_ROLE = 'AutomationMLBaseRoleClassLib/AutomationMLBaseRole/Sensor';
const SIGNAL_INTERFACE = 'AutomationMLInterfaceClassLib/AutomationMLBaseInterface/Communication/SignalInterface';
const ARRAYS = new Set(['InstanceHierarchy', 'InternalElement', 'Attribute', 'RoleRequirements', 'SupportedRoleClass', 'ExternalInterface']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => ARRAYS.has(name),
});

type Node = Record<string, unknown>;

function nodes(v: unknown): Node[] {
  return Array.isArray(v) ? (v.filter((x) => typeof x === 'object' && x !== null) as Node[]) : [];
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && v !== null && '#text' in v) return text((v as Node)['#text']);
  return undefined;
}

/** Reads the element tree of a CAEX document (the canonical form getSpecification returns). */
export function parseTwinAml(aml: string): TwinModel {
  const doc = parser.parse(aml) as Node;
  const root = doc['CAEXFile'] as Node | undefined;
  const elements = new Map<string, TwinElement>();
  const walk = (ie: Node, parentId: string): string => {
    const id = String(ie['@_ID'] ?? '');
    const childIds = nodes(ie['InternalElement']).map((c) => walk(c, id));
    const attributes: Record<string, string> = {};
    for (const a of nodes(ie['Attribute'])) {
      const name = a['@_Name'];
      const value = text(a['Value']);
      if (typeof name === 'string' && value !== undefined) attributes[name] = value;
    }
    const roles = [
      ...nodes(ie['RoleRequirements']).map((r) => String(r['@_RefBaseRoleClassPath'] ?? '')),
      ...nodes(ie['SupportedRoleClass']).map((r) => String(r['@_RefRoleClassPath'] ?? '')),
    ];
    elements.set(id, { id, name: String(ie['@_Name'] ?? ''), parentId, roles, attributes, childIds });
    return id;
  };
  for (const ih of nodes(root?.['InstanceHierarchy'])) for (const ie of nodes(ih['InternalElement'])) walk(ie, '');
  return { elements };
}

export function isSensor(el: TwinElement): boolean {
  return el.roles.some((r) => r === SENSOR_ROLE || r.endsWith('/Sensor'));
}

export function twinSensors(model: TwinModel): TwinElement[] {
  return [...model.elements.values()].filter(isSensor);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(n: number): string {
  return Number.isInteger(n) ? String(n) : String(n);
}

/**
 * The AML of a sensor the device reports (the same shape as the fixture's sensors), built only
 * from the device's metadata so that what the twin says about the part is what the part says.
 */
export function sensorFragment(c: DeviceComponent): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,200}$/.test(c.componentId)) {
    throw new DeviceMetadataInvalidError(`component ID ${JSON.stringify(c.componentId)} is not a usable AML ID`, { details: { componentId: c.componentId } });
  }
  const unitAttr = c.unit !== undefined && c.unit !== '' ? ` Unit="${esc(c.unit)}"` : '';
  const lines = [`<InternalElement Name="${esc(c.name)}" ID="${esc(c.componentId)}">`];
  const str = (name: string, v: string | undefined): void => {
    if (v !== undefined) lines.push(`  <Attribute Name="${name}" AttributeDataType="xs:string"><Value>${esc(v)}</Value></Attribute>`);
  };
  const dbl = (name: string, v: number | undefined): void => {
    if (v !== undefined) lines.push(`  <Attribute Name="${name}" AttributeDataType="xs:double"${unitAttr}><Value>${num(v)}</Value></Attribute>`);
  };
  str('MeasuredQuantity', c.measuredQuantity);
  str('Unit', c.unit);
  dbl('ExpectedMin', c.expectedMin);
  dbl('ExpectedMax', c.expectedMax);
  str('Manufacturer', c.manufacturer);
  str('SerialNumber', c.serialNumber);
  str('InstanceId', c.instanceId);
  lines.push(`  <ExternalInterface Name="Signal" ID="${esc(c.componentId)}-signal" RefBaseClassPath="${SIGNAL_INTERFACE}"/>`);
  lines.push(`  <RoleRequirements RefBaseRoleClassPath="${SENSOR_ROLE}"/>`);
  lines.push('</InternalElement>');
  return lines.join('\n');
}

/**
 * The physical identity the twin records for a sensor differs from the part the device has under
 * the same tag: a same-tag exchange. Only a recorded identity counts (a twin element without a
 * serial number or instance ID cannot tell parts apart; that is drift for a person).
 */
export function identityChange(el: TwinElement, c: DeviceComponent): { attribute: string; twin: string; device: string } | undefined {
  for (const [attribute, device] of [['SerialNumber', c.serialNumber], ['InstanceId', c.instanceId]] as const) {
    const twin = el.attributes[attribute];
    if (twin !== undefined && twin !== '' && device !== undefined && device !== '' && twin !== device) return { attribute, twin, device };
  }
  return undefined;
}

/** Differences between what the twin records about a sensor and what the device reports. */
export function attributeMismatches(el: TwinElement, c: DeviceComponent): { attribute: string; twin: string | undefined; device: string | undefined }[] {
  const out: { attribute: string; twin: string | undefined; device: string | undefined }[] = [];
  const cmpStr = (attribute: string, device: string | undefined): void => {
    const twin = el.attributes[attribute];
    if (device !== undefined && twin !== device) out.push({ attribute, twin, device });
  };
  const cmpNum = (attribute: string, device: number | undefined): void => {
    const twin = el.attributes[attribute];
    if (device !== undefined && (twin === undefined || Number(twin) !== device)) out.push({ attribute, twin, device: String(device) });
  };
  if (el.name !== c.name) out.push({ attribute: 'Name', twin: el.name, device: c.name });
  if (el.parentId !== c.parentId) out.push({ attribute: 'parent', twin: el.parentId, device: c.parentId });
  cmpStr('MeasuredQuantity', c.measuredQuantity);
  cmpStr('Unit', c.unit);
  cmpNum('ExpectedMin', c.expectedMin);
  cmpNum('ExpectedMax', c.expectedMax);
  return out;
}
