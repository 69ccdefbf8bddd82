import { AmlLimits } from './limits.js';
import { readSpecification } from './caex.js';
import { AmlInvalidError } from './errors.js';
import { parseXml, serializeXml, type XmlElement } from './xml.js';

/** One XML element of a specification as JSON (spec-service's `format=json`): attributes, text and child elements in order. */
export interface AmlNode {
  readonly tag: string;
  readonly attributes: Record<string, string>;
  readonly text?: string;
  readonly children: AmlNode[];
}

/** The canonical model as the JSON tree; iterative, so no nesting can exhaust the stack. */
export function toAmlNode(root: XmlElement): AmlNode {
  const out: AmlNode = { tag: root.name, attributes: { ...root.attrs }, ...(root.text !== undefined ? { text: root.text } : {}), children: [] };
  const stack: [XmlElement, AmlNode][] = [[root, out]];
  while (stack.length > 0) {
    const [el, node] = stack.pop()!;
    for (const c of el.children) {
      const n: AmlNode = { tag: c.name, attributes: { ...c.attrs }, ...(c.text !== undefined ? { text: c.text } : {}), children: [] };
      node.children.push(n);
      stack.push([c, n]);
    }
  }
  return out;
}

/** A JSON tree node as the chaincode's canonical XML (the inverse of toAmlNode); nesting is bounded by the reader that built it. */
export function serializeAmlNode(node: AmlNode): string {
  const toXml = (n: AmlNode): XmlElement => ({ name: n.tag, attrs: n.attributes, children: n.children.map(toXml), ...(n.text !== undefined ? { text: n.text } : {}) });
  return serializeXml(toXml(node));
}

const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const ENTITY = /&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]+);/g;

/** Entity and character references decoded; undefined for anything the general reader must judge. */
function decode(s: string): string | undefined {
  if (!s.includes('&')) return s;
  if (s.replace(ENTITY, '').includes('&')) return undefined;
  let bad = false;
  const out = s.replace(ENTITY, (_m, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!(cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff))) bad = true;
      return bad ? '' : String.fromCodePoint(cp);
    }
    const e = ENTITIES[ref];
    if (e === undefined) bad = true;
    return e ?? '';
  });
  return bad ? undefined : out;
}

interface Open {
  readonly tag: string;
  readonly attributes: Record<string, string>;
  text: string;
  readonly children: AmlNode[];
}

const NAME_END = /[\s/>]/g;
// Anything the canonical form never holds: then the general reader decides.
// eslint-disable-next-line no-control-regex
const NOT_CANONICAL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\t\r]/;

/**
 * A single-pass reader for exactly the XML the chaincode writes (its canonical form: elements,
 * double-quoted attributes, text, the five entities and character references, an XML
 * declaration, two-space indentation): several times faster than the general reader on a
 * 2 MB specification, which matters because spec-service builds the tree of a 5,000-element
 * twin on every new revision. It answers undefined for anything outside that form, for nesting
 * beyond MAX_XML_DEPTH; the general reader
 * then decides (and refuses what it must).
 */
export function readCanonicalTree(xml: string): AmlNode | undefined {
  if (NOT_CANONICAL.test(xml)) return undefined;
  const roots: AmlNode[] = [];
  const stack: Open[] = [];
  let pos = 0;
  const n = xml.length;
  const attach = (node: AmlNode): void => void (stack.length > 0 ? stack[stack.length - 1]!.children : roots).push(node);
  while (pos < n) {
    const lt = xml.indexOf('<', pos);
    const raw = xml.slice(pos, lt < 0 ? n : lt).trim();
    if (raw !== '') {
      const top = stack[stack.length - 1];
      const text = top ? decode(raw) : undefined;
      if (top === undefined || text === undefined || top.children.length > 0) return undefined;
      top.text += text;
    }
    if (lt < 0) break;
    const c = xml.charCodeAt(lt + 1);
    if (c === 47 /* / */) {
      const gt = xml.indexOf('>', lt);
      const top = stack.pop();
      if (gt < 0 || !top || xml.slice(lt + 2, gt) !== top.tag) return undefined;
      attach({ tag: top.tag, attributes: top.attributes, ...(top.text ? { text: top.text } : {}), children: top.children });
      pos = gt + 1;
      continue;
    }
    if (c === 63 /* ? */) {
      if (stack.length > 0 || roots.length > 0) return undefined;
      const end = xml.indexOf('?>', lt);
      if (end < 0) return undefined;
      pos = end + 2;
      continue;
    }
    if (c === 33 /* ! */) return undefined;
    NAME_END.lastIndex = lt + 1;
    const m = NAME_END.exec(xml);
    if (!m || m.index === lt + 1) return undefined;
    const tag = xml.slice(lt + 1, m.index);
    if (!/^[A-Za-z_][A-Za-z0-9._:-]*$/.test(tag) || tag === '__proto__' || tag === 'constructor' || tag === 'prototype') return undefined;
    const attributes: Record<string, string> = {};
    let p = m.index;
    let selfClosing = false;
    for (;;) {
      while (p < n && (xml.charCodeAt(p) === 32 || xml.charCodeAt(p) === 10)) p++;
      if (xml.startsWith('/>', p)) {
        selfClosing = true;
        p += 2;
        break;
      }
      if (xml.charCodeAt(p) === 62 /* > */) {
        p += 1;
        break;
      }
      const eq = xml.indexOf('="', p);
      if (eq < 0) return undefined;
      const name = xml.slice(p, eq);
      if (!/^[A-Za-z_][A-Za-z0-9._:-]*$/.test(name) || name === '__proto__' || name === 'constructor' || name === 'prototype') return undefined;
      const close = xml.indexOf('"', eq + 2);
      if (close < 0) return undefined;
      const rawValue = xml.slice(eq + 2, close);
      // Literal LF in a value is normalized to a space by a conforming reader; leave it to the general one.
      if (rawValue.includes('<') || rawValue.includes('\n')) return undefined;
      const value = decode(rawValue);
      if (value === undefined || Object.prototype.hasOwnProperty.call(attributes, name)) return undefined;
      attributes[name] = value;
      p = close + 1;
    }
    if (stack.length > 0 && stack[stack.length - 1]!.text !== '') return undefined;
    if (stack.length + 1 > AmlLimits.MAX_XML_DEPTH) return undefined;
    if (stack.length === 0 && roots.length > 0) return undefined;
    if (selfClosing) attach({ tag, attributes, children: [] });
    else stack.push({ tag, attributes, text: '', children: [] });
    pos = p;
  }
  return stack.length === 0 && roots.length === 1 ? roots[0] : undefined;
}

/**
 * The ledger's specification as a JSON tree: the canonical form through the fast reader,
 * anything else through readSpecification (which refuses with the package's errors).
 */
export function readSpecificationTree(xml: string): AmlNode {
  const fast = readCanonicalTree(xml);
  return fast?.tag === 'CAEXFile' ? fast : toAmlNode(readSpecification(xml));
}

/**
 * One element as getElement returns it (an InternalElement or InstanceHierarchy with its
 * subtree) as a JSON tree, within the same nesting limit.
 */
export function readElementTree(xml: string): AmlNode {
  const fast = readCanonicalTree(xml);
  if (fast?.tag === 'InternalElement' || fast?.tag === 'InstanceHierarchy') return fast;
  const root = parseXml(xml, AmlLimits.MAX_XML_DEPTH);
  if (root.name !== 'InternalElement' && root.name !== 'InstanceHierarchy') throw new AmlInvalidError(`root element is <${root.name}>, expected an InternalElement or InstanceHierarchy`);
  return toAmlNode(root);
}
