import { ErrorCodes, fail } from '../errors';
import { Limits } from '../limits';
import { isTextNode, parseXml, serializeDocument, type XmlElement } from './xml';

/**
 * CAEX (IEC 62714) validation and the split of a document into addressable nodes
 * (InstanceHierarchy and InternalElement), each stored under its own key.
 */

export type SchemaVersion = '3.0' | '2.15';
export const SCHEMA_VERSIONS: readonly SchemaVersion[] = ['3.0', '2.15'];

export type NodeKind = 'InstanceHierarchy' | 'InternalElement';

/** An addressable node: its own element (without nested InternalElements) and its child nodes. */
export interface CaexNode {
  id: string;
  kind: NodeKind;
  own: XmlElement;
  children: CaexNode[];
}

export interface CaexDocument {
  schemaVersion: SchemaVersion;
  /** The CAEXFile element without its InstanceHierarchies. */
  header: XmlElement;
  hierarchies: CaexNode[];
}

const HEADER = ['Description', 'Version', 'Revision', 'Copyright', 'AdditionalInformation'];

interface Rule {
  required?: string[];
  required30?: string[];
  /**
   * Allowed child element names; 'any' = child elements not validated (no mixed content);
   * 'anyType' = anything, mixed content included (xs:anyType); 'text' = text only.
   */
  children: string[] | 'any' | 'anyType' | 'text';
  /** What CAEX 2.15 allows instead (its `Value` and `DefaultValue` are xs:anyType, 3.0's xs:string). */
  children215?: 'anyType';
}

const RULES: Record<string, Rule> = {
  CAEXFile: {
    required: ['FileName', 'SchemaVersion'],
    children: [
      ...HEADER,
      'SuperiorStandardVersion',
      'SourceDocumentInformation',
      'ExternalReference',
      'InstanceHierarchy',
      'InterfaceClassLib',
      'RoleClassLib',
      'SystemUnitClassLib',
      'AttributeTypeLib',
    ],
  },
  InstanceHierarchy: { required: ['Name'], children: [...HEADER, 'InternalElement'] },
  InternalElement: {
    required: ['Name', 'ID'],
    children: [
      ...HEADER,
      'Attribute',
      'ExternalInterface',
      'InternalElement',
      'SupportedRoleClass',
      'RoleRequirements',
      'InternalLink',
      'MappingObject',
    ],
  },
  Attribute: {
    required: ['Name'],
    children: [...HEADER, 'DefaultValue', 'Value', 'RefSemantic', 'Constraint', 'Attribute'],
  },
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

/**
 * Own children that CAEX places after nested InternalElements (the schema sequence is
 * ... Attribute, ExternalInterface, InternalElement, SupportedRoleClass, InternalLink,
 * RoleRequirements, MappingObject); nested nodes are re-inserted before the first of these.
 */
const AFTER_NODES = new Set([
  'SupportedRoleClass',
  'InternalLink',
  'RoleRequirements',
  'MappingObject',
  'InterfaceClassLib',
  'RoleClassLib',
  'SystemUnitClassLib',
  'AttributeTypeLib',
]);

const FORBIDDEN_IN_ID = /[\u0000-\u001f\u007f\u{10ffff}]/u;

interface WalkState {
  schemaVersion: SchemaVersion;
  ids: Set<string>;
  elementCount: number;
  maxElements: number;
}

/**
 * `depth` is the element depth of the nearest enclosing node (InstanceHierarchy = 0), so an
 * InternalElement chain is held to MAX_ELEMENT_DEPTH when it is read, as createTwin stores it;
 * a fragment's own chain is counted from depth 1, its shallowest possible place.
 */
function validateElement(el: XmlElement, st: WalkState, depth = 0): void {
  const rule = RULES[el.name];
  if (!rule) fail(ErrorCodes.AML_INVALID, `unexpected element <${el.name}>`);
  const required = [...(rule.required ?? []), ...(st.schemaVersion === '3.0' ? (rule.required30 ?? []) : [])];
  for (const a of required) {
    if (el.attrs[a] === undefined || el.attrs[a] === '') {
      fail(ErrorCodes.AML_INVALID, `<${el.name}> lacks required attribute ${a}`);
    }
  }
  const id = el.attrs.ID;
  if (id !== undefined) {
    if (id.length === 0 || id.length > Limits.MAX_ID_LENGTH || FORBIDDEN_IN_ID.test(id) || id.trim() !== id) {
      fail(ErrorCodes.AML_INVALID, `<${el.name}> has an invalid ID (1..${Limits.MAX_ID_LENGTH} characters, no controls)`);
    }
    if (st.ids.has(id)) fail(ErrorCodes.DUPLICATE_ID, `ID '${id}' occurs more than once`);
    st.ids.add(id);
  }
  if (el.name === 'InstanceHierarchy') {
    const key = nodeIdOf(el);
    if (id === undefined) {
      if (st.ids.has(key)) fail(ErrorCodes.DUPLICATE_ID, `InstanceHierarchy '${key}' collides with another ID`);
      st.ids.add(key);
    }
  }
  if (el.name === 'InternalElement') {
    depth++;
    if (depth > Limits.MAX_ELEMENT_DEPTH) fail(ErrorCodes.TOO_LARGE, `elements nested deeper than ${Limits.MAX_ELEMENT_DEPTH}`);
    st.elementCount++;
    if (st.elementCount > st.maxElements) {
      fail(ErrorCodes.TOO_LARGE, `more than ${st.maxElements} InternalElements`);
    }
  }
  const children = contentRule(rule, st);
  if (children === 'anyType') return;
  if (children === 'any') return refuseMixedContent(el, st);
  if (children === 'text') {
    if (el.children.length > 0) fail(ErrorCodes.AML_INVALID, `<${el.name}> must contain text only`);
    return;
  }
  if (el.text !== undefined) fail(ErrorCodes.AML_INVALID, `<${el.name}> must not contain text`);
  for (const c of el.children) {
    if (isTextNode(c)) failMixedContent(el);
    if (!children.includes(c.name)) fail(ErrorCodes.AML_INVALID, `<${c.name}> is not allowed in <${el.name}>`);
    validateElement(c, st, depth);
  }
}

function failMixedContent(el: XmlElement): never {
  fail(ErrorCodes.AML_INVALID, `element <${el.name}> has mixed content (text and elements)`);
}

const contentRule = (rule: Rule, st: WalkState): Rule['children'] => (st.schemaVersion === '2.15' && rule.children215) || rule.children;

/**
 * Content that is not validated (libraries, AdditionalInformation) holds no mixed content either,
 * but for the xs:anyType values in it (a 2.15 SystemUnitClass's Attribute Values).
 */
function refuseMixedContent(el: XmlElement, st: WalkState): void {
  for (const c of el.children) {
    if (isTextNode(c)) failMixedContent(el);
    const rule = RULES[c.name];
    if (rule === undefined || contentRule(rule, st) !== 'anyType') refuseMixedContent(c, st);
  }
}

/** InstanceHierarchies are addressed by their ID if they have one, else by their Name. */
export function nodeIdOf(el: XmlElement): string {
  return el.attrs.ID ?? el.attrs.Name ?? '';
}

function toNode(el: XmlElement): CaexNode {
  const own: XmlElement = { name: el.name, attrs: el.attrs, children: [] };
  if (el.text !== undefined) own.text = el.text;
  const children: CaexNode[] = [];
  for (const c of el.children) {
    if (c.name === 'InternalElement') children.push(toNode(c));
    else own.children.push(c);
  }
  return { id: nodeIdOf(el), kind: el.name as NodeKind, own, children };
}

/** Inverse of the split: puts nested nodes back at their canonical position. */
export function joinChildren(own: XmlElement, nested: XmlElement[]): XmlElement {
  if (nested.length === 0) return own;
  let at = own.children.findIndex((c) => AFTER_NODES.has(c.name));
  if (at < 0) at = own.children.length;
  return {
    name: own.name,
    attrs: own.attrs,
    children: [...own.children.slice(0, at), ...nested, ...own.children.slice(at)],
  };
}

export function nodeToXml(node: CaexNode): XmlElement {
  return joinChildren(node.own, node.children.map(nodeToXml));
}

function checkSize(xml: string, max: number, what: string): void {
  if (typeof xml !== 'string') fail(ErrorCodes.VALIDATION_FAILED, `${what} must be a string`);
  if (xml.length > max || Buffer.byteLength(xml, 'utf8') > max) {
    fail(ErrorCodes.TOO_LARGE, `${what} is larger than ${max} bytes`);
  }
}

export function parseCaexDocument(xml: string): CaexDocument {
  checkSize(xml, Limits.MAX_AML_BYTES, 'AML document');
  const root = parseXml(xml, Limits.MAX_XML_DEPTH);
  if (root.name !== 'CAEXFile') fail(ErrorCodes.AML_INVALID, `root element is <${root.name}>, expected <CAEXFile>`);
  const sv = root.attrs.SchemaVersion;
  if (sv !== '3.0' && sv !== '2.15') {
    fail(ErrorCodes.AML_INVALID, `unsupported CAEX SchemaVersion '${sv ?? ''}' (expected 3.0 or 2.15)`);
  }
  const st: WalkState = { schemaVersion: sv, ids: new Set(), elementCount: 0, maxElements: Limits.MAX_ELEMENTS_PER_TWIN };
  validateElement(root, st);
  const header: XmlElement = { name: root.name, attrs: root.attrs, children: [] };
  const hierarchies: CaexNode[] = [];
  for (const c of root.children) {
    if (c.name === 'InstanceHierarchy') hierarchies.push(toNode(c));
    else header.children.push(c);
  }
  // No InstanceHierarchy is valid CAEX (minOccurs 0): library files and AutomationML
  // Component files (a SystemUnitClassLib only) are real specifications; hierarchies can be
  // inserted later (insertAML with parentID "").
  return { schemaVersion: sv, header, hierarchies };
}

const FRAGMENT_WRAPPER = 'TwinLedgerFragment';

/**
 * A fragment is one or more InternalElements (to insert under an element or hierarchy) or
 * one or more InstanceHierarchies (to insert at the top level), validated like a document
 * of the twin's schema version.
 */
export function parseCaexFragment(xml: string, schemaVersion: SchemaVersion): { kind: NodeKind; nodes: CaexNode[] } {
  checkSize(xml, Limits.MAX_FRAGMENT_BYTES, 'AML fragment');
  const body = xml.replace(/^\uFEFF?\s*<\?xml[^>]*\?>/, '');
  if (body.includes(FRAGMENT_WRAPPER)) fail(ErrorCodes.AML_INVALID, `the fragment must not mention ${FRAGMENT_WRAPPER}`);
  const root = parseXml(`<${FRAGMENT_WRAPPER}>${body}</${FRAGMENT_WRAPPER}>`, Limits.MAX_XML_DEPTH + 1);
  if (root.text !== undefined || root.children.some(isTextNode)) fail(ErrorCodes.AML_INVALID, 'text outside the fragment elements');
  if (root.children.length === 0) fail(ErrorCodes.AML_INVALID, 'the fragment contains no element');
  const first = root.children[0]?.name;
  if (first !== 'InternalElement' && first !== 'InstanceHierarchy') {
    fail(ErrorCodes.AML_INVALID, 'a fragment consists of InternalElements or of InstanceHierarchies');
  }
  const st: WalkState = { schemaVersion, ids: new Set(), elementCount: 0, maxElements: Limits.MAX_ELEMENTS_PER_FRAGMENT };
  for (const c of root.children) {
    if (c.name !== first) fail(ErrorCodes.AML_INVALID, 'a fragment must not mix InternalElements and InstanceHierarchies');
    validateElement(c, st);
  }
  return { kind: first, nodes: root.children.map(toNode) };
}

/** All node IDs (hierarchies and InternalElements) of a forest, depth first. */
export function collectNodeIds(nodes: CaexNode[], out: string[] = []): string[] {
  for (const n of nodes) {
    out.push(n.id);
    collectNodeIds(n.children, out);
  }
  return out;
}

/** The canonical text of a document: what getSpecification returns for the same content. */
export function canonicalizeDocument(xml: string): string {
  const doc = parseCaexDocument(xml);
  return assembleDocument(doc.header, doc.hierarchies.map(nodeToXml));
}

export function assembleDocument(header: XmlElement, hierarchies: XmlElement[]): string {
  return serializeDocument(joinChildren(header, hierarchies));
}
