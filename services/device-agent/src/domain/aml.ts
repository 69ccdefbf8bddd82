import { isAmlError, readAmlFragment, readSpecification, type XmlElement } from '@twinledger/aml';
import type { DeviceComponent } from './device.js';
import { DeviceMetadataInvalidError } from './errors.js';

/** One InternalElement of the twin's AML, without its subtree. */
export interface TwinElement {
  readonly id: string;
  readonly name: string;
  /** '' for elements directly under an InstanceHierarchy. */
  readonly parentId: string;
  readonly roles: readonly string[];
  /**
   * Attribute name -> its Value text. An attribute whose Value holds elements (CAEX 2.15
   * xs:anyType) is left out: it has no text to compare with what a device reports, so a device's
   * value for it shows as a difference rather than matching a guessed '' (Number('') is 0).
   */
  readonly attributes: Readonly<Record<string, string>>;
  /** IDs of the nested InternalElements, in document order. */
  readonly childIds: readonly string[];
}

export interface TwinModel {
  readonly elements: ReadonlyMap<string, TwinElement>;
}

export const SENSOR_ROLE = 'AutomationMLBaseRoleClassLib/AutomationMLBaseRole/Sensor';
const SIGNAL_INTERFACE = 'AutomationMLInterfaceClassLib/AutomationMLBaseInterface/Communication/SignalInterface';
/**
 * Reads the element tree of the twin's specification (the canonical form getSpecification
 * returns) with the project's one AML reader, within exactly the limits the chaincode keeps for
 * an assembled specification; anything else is an AmlInvalidError or AmlTooLargeError (4xx),
 * never a parser crash.
 */
export function parseTwinAml(aml: string): TwinModel {
  const root = readSpecification(aml);
  const elements = new Map<string, TwinElement>();
  const named = (el: XmlElement, name: string): XmlElement[] => el.children.filter((c) => c.name === name);
  // Nesting is bounded by MAX_XML_DEPTH (the reader refused deeper), so recursion is safe.
  const walk = (ie: XmlElement, parentId: string): string => {
    const id = ie.attrs['ID'] ?? '';
    const childIds = named(ie, 'InternalElement').map((c) => walk(c, id));
    const attributes: Record<string, string> = {};
    for (const a of named(ie, 'Attribute')) {
      const name = a.attrs['Name'];
      const value = named(a, 'Value')[0];
      if (name !== undefined && value !== undefined && value.children.length === 0) attributes[name] = value.text ?? '';
    }
    const roles = [
      ...named(ie, 'RoleRequirements').map((r) => r.attrs['RefBaseRoleClassPath'] ?? ''),
      ...named(ie, 'SupportedRoleClass').map((r) => r.attrs['RefRoleClassPath'] ?? ''),
    ];
    elements.set(id, { id, name: ie.attrs['Name'] ?? '', parentId, roles, attributes, childIds });
    return id;
  };
  for (const ih of named(root, 'InstanceHierarchy')) for (const ie of named(ih, 'InternalElement')) walk(ie, '');
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
  const fragment = lines.join('\n');
  // Read back with the ledger's rules before any transaction: device metadata the chaincode
  // would refuse (control characters, an over-long ID, ...) is the device's fault, said here.
  try {
    readAmlFragment(fragment, '3.0');
  } catch (e) {
    if (!isAmlError(e)) throw e;
    throw new DeviceMetadataInvalidError(`the device's metadata for ${c.componentId} makes AML the ledger refuses: ${e.message}`, { cause: e, details: { componentId: c.componentId, reason: e.code } });
  }
  return fragment;
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
