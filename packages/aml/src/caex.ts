import { AmlInvalidError, AmlNotTextError, AmlTooLargeError, DuplicateIdError } from './errors.js';
import { AmlLimits } from './limits.js';
import { isTextNode, parseXml, type XmlElement } from './xml.js';

/**
 * CAEX (IEC 62714) validation with the chaincode's rules (`chaincode/src/aml/caex.ts`): the
 * same element and attribute rules, ID rules and limits, so what a service lets through the
 * ledger accepts, and what it refuses the ledger would refuse with the same code.
 */

export type SchemaVersion = '3.0' | '2.15';
export const SCHEMA_VERSIONS: readonly SchemaVersion[] = ['3.0', '2.15'];

export type FragmentKind = 'InstanceHierarchy' | 'InternalElement';

export interface AmlDocument {
  readonly schemaVersion: SchemaVersion;
  /** The CAEXFile element. */
  readonly root: XmlElement;
  /** InternalElements in the document. */
  readonly elementCount: number;
}

export interface AmlFragment {
  /** What the fragment holds: InternalElements (inserted under an element) or InstanceHierarchies (top level). */
  readonly kind: FragmentKind;
  readonly elements: readonly XmlElement[];
  /** InternalElements in the fragment, nested ones included. */
  readonly elementCount: number;
}

const HEADER = ['Description', 'Version', 'Revision', 'Copyright', 'AdditionalInformation'];

interface Rule {
  readonly required?: readonly string[];
  readonly required30?: readonly string[];
  /**
   * Allowed child element names; 'any' = child elements not validated (no mixed content);
   * 'anyType' = anything, mixed content included (xs:anyType); 'text' = text only.
   */
  readonly children: readonly string[] | 'any' | 'anyType' | 'text';
  /** What CAEX 2.15 allows instead (its `Value` and `DefaultValue` are xs:anyType, 3.0's xs:string). */
  readonly children215?: 'anyType';
}

const RULES: Readonly<Record<string, Rule>> = {
  CAEXFile: {
    required: ['FileName', 'SchemaVersion'],
    children: [...HEADER, 'SuperiorStandardVersion', 'SourceDocumentInformation', 'ExternalReference', 'InstanceHierarchy', 'InterfaceClassLib', 'RoleClassLib', 'SystemUnitClassLib', 'AttributeTypeLib'],
  },
  InstanceHierarchy: { required: ['Name'], children: [...HEADER, 'InternalElement'] },
  InternalElement: {
    required: ['Name', 'ID'],
    children: [...HEADER, 'Attribute', 'ExternalInterface', 'InternalElement', 'SupportedRoleClass', 'RoleRequirements', 'InternalLink', 'MappingObject'],
  },
  Attribute: { required: ['Name'], children: [...HEADER, 'DefaultValue', 'Value', 'RefSemantic', 'Constraint', 'Attribute'] },
  ExternalInterface: { required: ['Name'], required30: ['ID'], children: [...HEADER, 'Attribute', 'ExternalInterface'] },
  RoleRequirements: { required: ['RefBaseRoleClassPath'], children: [...HEADER, 'Attribute', 'ExternalInterface'] },
  SupportedRoleClass: { required: ['RefRoleClassPath'], children: [...HEADER, 'MappingObject'] },
  InternalLink: { required: ['Name', 'RefPartnerSideA', 'RefPartnerSideB'], children: HEADER },
  Constraint: { required: ['Name'], children: [...HEADER, 'OrdinalScaledType', 'NominalScaledType', 'UnknownType'] },
  OrdinalScaledType: { children: ['RequiredMaxValue', 'RequiredValue', 'RequiredMinValue'] },
  NominalScaledType: { children: ['RequiredValue'] },
  UnknownType: { children: ['Requirements'] },
  RefSemantic: { required: ['CorrespondingAttributePath'], children: [] },
  Description: { children: 'text' },
  Version: { children: 'text' },
  Copyright: { children: 'text' },
  DefaultValue: { children: 'text', children215: 'anyType' },
  Value: { children: 'text', children215: 'anyType' },
  RequiredMaxValue: { children: 'text' },
  RequiredMinValue: { children: 'text' },
  RequiredValue: { children: 'text' },
  Requirements: { children: 'text' },
  Revision: { children: 'any' },
  AdditionalInformation: { children: 'any' },
  MappingObject: { children: 'any' },
  SuperiorStandardVersion: { children: 'any' },
  SourceDocumentInformation: { children: 'any' },
  ExternalReference: { children: 'any' },
  InterfaceClassLib: { required: ['Name'], children: 'any' },
  RoleClassLib: { required: ['Name'], children: 'any' },
  SystemUnitClassLib: { required: ['Name'], children: 'any' },
  AttributeTypeLib: { required: ['Name'], children: 'any' },
};

// eslint-disable-next-line no-control-regex
const FORBIDDEN_IN_ID = /[\u0000-\u001f\u007f\u{10ffff}]/u;

interface WalkState {
  /** undefined: the version is not known here (a fragment before the twin is read); version-specific rules are left to the ledger. */
  readonly schemaVersion: SchemaVersion | undefined;
  readonly ids: Set<string>;
  elementCount: number;
  readonly maxElements: number;
}

/** InstanceHierarchies are addressed by their ID if they have one, else by their Name. */
export function nodeIdOf(el: XmlElement): string {
  return el.attrs['ID'] ?? el.attrs['Name'] ?? '';
}

/**
 * `depth` is the element depth of the nearest enclosing node (InstanceHierarchy = 0), so an
 * InternalElement chain is held to MAX_ELEMENT_DEPTH when it is read, as createTwin stores it;
 * a fragment's own chain is counted from depth 1, its shallowest possible place.
 */
function validateElement(el: XmlElement, st: WalkState, depth = 0): void {
  const rule = RULES[el.name];
  if (!rule) throw new AmlInvalidError(`unexpected element <${el.name}>`);
  const required = [...(rule.required ?? []), ...(st.schemaVersion === '3.0' ? (rule.required30 ?? []) : [])];
  for (const a of required) {
    if (el.attrs[a] === undefined || el.attrs[a] === '') throw new AmlInvalidError(`<${el.name}> lacks required attribute ${a}`);
  }
  const id = el.attrs['ID'];
  if (id !== undefined) {
    if (id.length === 0 || id.length > AmlLimits.MAX_ID_LENGTH || FORBIDDEN_IN_ID.test(id) || id.trim() !== id) {
      throw new AmlInvalidError(`<${el.name}> has an invalid ID (1..${AmlLimits.MAX_ID_LENGTH} characters, no controls)`);
    }
    if (st.ids.has(id)) throw new DuplicateIdError(`ID '${id}' occurs more than once`, { details: { id } });
    st.ids.add(id);
  }
  if (el.name === 'InstanceHierarchy' && id === undefined) {
    const key = nodeIdOf(el);
    if (st.ids.has(key)) throw new DuplicateIdError(`InstanceHierarchy '${key}' collides with another ID`, { details: { id: key } });
    st.ids.add(key);
  }
  if (el.name === 'InternalElement') {
    depth++;
    if (depth > AmlLimits.MAX_ELEMENT_DEPTH) throw new AmlTooLargeError(`elements nested deeper than ${AmlLimits.MAX_ELEMENT_DEPTH}`, { details: { limit: AmlLimits.MAX_ELEMENT_DEPTH } });
    st.elementCount++;
    if (st.elementCount > st.maxElements) throw new AmlTooLargeError(`more than ${st.maxElements} InternalElements`, { details: { limit: st.maxElements } });
  }
  const children = contentRule(rule, st);
  if (children === 'anyType') return;
  if (children === 'any') return refuseMixedContent(el, st);
  if (children === 'text') {
    if (el.children.length > 0) throw new AmlInvalidError(`<${el.name}> must contain text only`);
    return;
  }
  if (el.text !== undefined) throw new AmlInvalidError(`<${el.name}> must not contain text`);
  for (const c of el.children) {
    if (isTextNode(c)) throw mixedContent(el);
    if (!children.includes(c.name)) throw new AmlInvalidError(`<${c.name}> is not allowed in <${el.name}>`);
    validateElement(c, st, depth);
  }
}

const mixedContent = (el: XmlElement): AmlInvalidError => new AmlInvalidError(`element <${el.name}> has mixed content (text and elements)`);

// Without a schema version the 2.15 allowance stands: the ledger applies the twin's version.
const contentRule = (rule: Rule, st: WalkState): Rule['children'] => (st.schemaVersion !== '3.0' && rule.children215) || rule.children;

/**
 * Content that is not validated (libraries, AdditionalInformation) holds no mixed content either,
 * but for the xs:anyType values in it (a 2.15 SystemUnitClass's Attribute Values).
 */
function refuseMixedContent(el: XmlElement, st: WalkState): void {
  for (const c of el.children) {
    if (isTextNode(c)) throw mixedContent(el);
    const rule = RULES[c.name];
    if (rule === undefined || contentRule(rule, st) !== 'anyType') refuseMixedContent(c, st);
  }
}

function checkSize(xml: unknown, max: number, what: string): asserts xml is string {
  if (typeof xml !== 'string') throw new AmlNotTextError(`${what} must be a string`);
  if (xml.length > max || Buffer.byteLength(xml, 'utf8') > max) {
    throw new AmlTooLargeError(`${what} is larger than ${max} bytes`, { details: { limit: max } });
  }
}

/** A whole CAEX document, as createTwin takes it. */
export function readAmlDocument(xml: string): AmlDocument {
  checkSize(xml, AmlLimits.MAX_AML_BYTES, 'AML document');
  const root = parseXml(xml, AmlLimits.MAX_XML_DEPTH);
  if (root.name !== 'CAEXFile') throw new AmlInvalidError(`root element is <${root.name}>, expected <CAEXFile>`, { details: { rule: 'root' } });
  const sv = root.attrs['SchemaVersion'];
  if (sv !== '3.0' && sv !== '2.15') throw new AmlInvalidError(`unsupported CAEX SchemaVersion '${sv ?? ''}' (expected 3.0 or 2.15)`);
  const st: WalkState = { schemaVersion: sv, ids: new Set(), elementCount: 0, maxElements: AmlLimits.MAX_ELEMENTS_PER_TWIN };
  validateElement(root, st);
  // No InstanceHierarchy is valid CAEX, as on the ledger (library and AutomationML Component files).
  return { schemaVersion: sv, root, elementCount: st.elementCount };
}

const FRAGMENT_WRAPPER = 'TwinLedgerFragment';

/**
 * An insertAML fragment: one or more InternalElements or one or more InstanceHierarchies,
 * validated like a document of `schemaVersion`. Without it (the caller has not read the twin)
 * the one version-specific rule (ExternalInterface ID, 3.0) is left to the ledger.
 */
export function readAmlFragment(xml: string, schemaVersion?: SchemaVersion): AmlFragment {
  checkSize(xml, AmlLimits.MAX_FRAGMENT_BYTES, 'AML fragment');
  const body = xml.replace(/^\uFEFF?\s*<\?xml[^>]*\?>/, '');
  if (body.includes(FRAGMENT_WRAPPER)) throw new AmlInvalidError(`the fragment must not mention ${FRAGMENT_WRAPPER}`);
  const root = parseXml(`<${FRAGMENT_WRAPPER}>${body}</${FRAGMENT_WRAPPER}>`, AmlLimits.MAX_XML_DEPTH + 1);
  if (root.text !== undefined || root.children.some(isTextNode)) throw new AmlInvalidError('text outside the fragment elements');
  const first = root.children[0]?.name;
  if (first === undefined) throw new AmlInvalidError('the fragment contains no element');
  if (first !== 'InternalElement' && first !== 'InstanceHierarchy') throw new AmlInvalidError('a fragment consists of InternalElements or of InstanceHierarchies');
  const st: WalkState = { schemaVersion, ids: new Set(), elementCount: 0, maxElements: AmlLimits.MAX_ELEMENTS_PER_FRAGMENT };
  for (const c of root.children) {
    if (c.name !== first) throw new AmlInvalidError('a fragment must not mix InternalElements and InstanceHierarchies');
    validateElement(c, st);
  }
  return { kind: first, elements: root.children, elementCount: st.elementCount };
}

/**
 * A specification as the ledger assembles it (getSpecification, getTwinAsOf). The chaincode
 * guarantees its XML nesting stays within the limit at every insert; its InternalElement count
 * and byte size are not capped (each write is bounded by the document and fragment limits, but
 * a total per twin would serialize concurrent edits: chaincode src/spec/whole-spec.ts), and IDs
 * other than element IDs may repeat across fragments, so only the nesting is checked here.
 */
export function readSpecification(xml: string): XmlElement {
  if (typeof xml !== 'string') throw new AmlNotTextError('the specification must be a string');
  const root = parseXml(xml, AmlLimits.MAX_XML_DEPTH);
  if (root.name !== 'CAEXFile') throw new AmlInvalidError(`root element is <${root.name}>, expected <CAEXFile>`);
  return root;
}
