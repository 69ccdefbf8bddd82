import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AmlInvalidError, DoctypeForbiddenError } from './errors.js';
import { AmlLimits } from './limits.js';

/**
 * The canonical XML model, as the chaincode has it (`chaincode/src/aml/xml.ts`): an element has
 * text (trimmed of XML whitespace) or child elements; comments and processing instructions are
 * dropped, entities are decoded. Mixed content (text beside elements, which CAEX 2.15 allows in
 * an xs:anyType `Value`) is kept in order: each run of text as written, as a child named
 * TEXT_NODE (a name no XML element can have); the CAEX rules decide where it is allowed.
 */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  readonly text?: string;
}

/** The name of a run of text among an element's children (mixed content); its `text` holds the run. */
export const TEXT_NODE = '#text';

export const isTextNode = (el: XmlElement): boolean => el.name === TEXT_NODE;

const RENAMED = '#renamed:';
const originalName = (key: string): string => (key.startsWith(RENAMED) ? key.slice(RENAMED.length) : key);

// The same options as the chaincode's parser: its verdicts are the ones to reproduce.
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // Entities are decoded by decodeEntities below: only the five predefined ones and character
  // references, never anything a document declares.
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  allowBooleanAttributes: false,
  removeNSPrefix: false,
  // fast-xml-parser 5 stops at 100 levels by default, below the documented MAX_XML_DEPTH (128):
  // the parser's cap sits above it (a fragment adds one wrapper level) and convert() enforces
  // the limit itself, with its own message.
  maxNestedTags: AmlLimits.MAX_XML_DEPTH + 2,
  // It renames elements and attributes called toString, valueOf, hasOwnProperty, ... to
  // `__toString` (a name a document may use itself); a mark no XML name can carry instead lets
  // convert() give them back their names: element content is kept as written.
  onDangerousProperty: (name: string) => `${RENAMED}${name}`,
});

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const ENTITY = /&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z_][A-Za-z0-9._-]*);/y;
// Characters XML 1.0 forbids literally (tab, LF and CR are allowed).
// eslint-disable-next-line no-control-regex
const ILLEGAL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;
const DOCTYPE = /<!\s*(DOCTYPE|ENTITY)/i;
// Markup that starts with '<!': a comment or CDATA section (skipped whole: its text may mention
// "<!DOCTYPE", as an HTML snippet in a Description does) or a declaration (refused).
const MARKUP_DECLARATION = /<!(--|\[CDATA\[|\s*(?:[Dd][Oo][Cc][Tt][Yy][Pp][Ee]|[Ee][Nn][Tt][Ii][Tt][Yy]))/g;

/**
 * Cuts whitespace as XML defines it (space, tab, CR, LF) from both ends; String.prototype.trim
 * would also take U+00A0, U+FEFF and more. A loop, not a regular expression: /\s+$/ tried at
 * every position of a long inner run of spaces is quadratic.
 */
function trimXmlSpace(s: string): string {
  const space = (c: number): boolean => c === 0x20 || c === 0x9 || c === 0xa || c === 0xd;
  let start = 0;
  let end = s.length;
  while (start < end && space(s.charCodeAt(start))) start++;
  while (end > start && space(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

/**
 * Whether the input declares a DOCTYPE or an ENTITY anywhere outside comments and CDATA
 * sections. An unterminated comment or CDATA section hides nothing: the rest is scanned as
 * text, as the plain pattern always did.
 */
function declaresDoctype(xml: string): boolean {
  MARKUP_DECLARATION.lastIndex = 0;
  for (let m = MARKUP_DECLARATION.exec(xml); m !== null; m = MARKUP_DECLARATION.exec(xml)) {
    const close = m[1] === '--' ? '-->' : m[1] === '[CDATA[' ? ']]>' : undefined;
    if (close === undefined) return true;
    const end = xml.indexOf(close, MARKUP_DECLARATION.lastIndex);
    if (end < 0) return DOCTYPE.test(xml.slice(MARKUP_DECLARATION.lastIndex));
    MARKUP_DECLARATION.lastIndex = end + close.length;
  }
  return false;
}
// Names that would reach Object prototypes through the parser's plain-object output.
const UNSAFE_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** Decodes the five predefined entities and character references; anything else is refused. */
export function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw;
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const amp = raw.indexOf('&', i);
    if (amp < 0) {
      out += raw.slice(i);
      break;
    }
    out += raw.slice(i, amp);
    ENTITY.lastIndex = amp;
    const m = ENTITY.exec(raw);
    if (!m || m[1] === undefined) throw new AmlInvalidError('bare "&" or malformed entity reference');
    const ref = m[1];
    if (ref.startsWith('#')) {
      const cp = ref.startsWith('#x') ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!isXmlChar(cp)) throw new AmlInvalidError(`character reference &${ref}; is not an XML character`);
      out += String.fromCodePoint(cp);
    } else {
      const v = PREDEFINED[ref];
      if (v === undefined) throw new AmlInvalidError(`undefined entity &${ref}; (no DTD is allowed)`);
      out += v;
    }
    i = amp + m[0].length;
  }
  return out;
}

type Ordered = Record<string, unknown>;

/** A text or CDATA node's text (line ends normalized, entities decoded); undefined for an element. */
function textOf(c: Ordered): string | undefined {
  if ('#text' in c) return decodeEntities(String(c['#text']).replace(/\r\n?/g, '\n'));
  if (!('#cdata' in c)) return undefined;
  let out = '';
  for (const p of c['#cdata'] as Ordered[]) out += String(p['#text'] ?? '').replace(/\r\n?/g, '\n');
  return out;
}

/**
 * Mixed content in document order: the runs of text (as written) between the converted child
 * elements. A second pass over the raw nodes, so the common case (text or elements) keeps no
 * runs at all.
 */
function interleave(rawChildren: readonly Ordered[], children: readonly XmlElement[]): XmlElement[] {
  const out: XmlElement[] = [];
  let run = '';
  let k = 0;
  const flush = (): void => {
    if (run !== '') out.push({ name: TEXT_NODE, attrs: {}, children: [], text: run });
    run = '';
  };
  for (const c of rawChildren) {
    const t = textOf(c);
    if (t !== undefined) {
      run += t;
    } else {
      flush();
      out.push(children[k++]!);
    }
  }
  flush();
  return out;
}

function convert(node: Ordered, depth: number, maxDepth: number): XmlElement {
  if (depth > maxDepth) throw new AmlInvalidError(`XML nesting deeper than ${maxDepth}`, { details: { limit: maxDepth } });
  const key = Object.keys(node).find((k) => k !== ':@');
  if (key === undefined) throw new AmlInvalidError('empty XML node');
  const name = originalName(key);
  if (UNSAFE_NAMES.has(name)) throw new AmlInvalidError(`element name '${name}' is not allowed`);
  const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
  const rawAttrs = node[':@'];
  if (rawAttrs !== undefined) {
    for (const [rawKey, v] of Object.entries(rawAttrs as Record<string, unknown>)) {
      const k = originalName(rawKey);
      if (UNSAFE_NAMES.has(k)) throw new AmlInvalidError(`attribute name '${k}' is not allowed`);
      if (typeof v !== 'string') throw new AmlInvalidError(`attribute '${k}' has no value`);
      if (v.includes('<')) throw new AmlInvalidError(`attribute '${k}' contains '<'`);
      // XML attribute-value normalization: literal whitespace characters become spaces.
      attrs[k] = decodeEntities(v.replace(/\r\n?/g, '\n').replace(/[\t\n]/g, ' '));
    }
  }
  const rawChildren = (node[key] ?? []) as Ordered[];
  const children: XmlElement[] = [];
  let text = '';
  for (const c of rawChildren) {
    const t = textOf(c);
    if (t !== undefined) text += t;
    else children.push(convert(c, depth + 1, maxDepth));
  }
  if (children.length === 0) {
    // Only XML whitespace is cut from a value (a trailing U+00A0 is content).
    const trimmed = trimXmlSpace(text);
    return trimmed.length > 0 ? { name, attrs: { ...attrs }, children, text: trimmed } : { name, attrs: { ...attrs }, children };
  }
  // Text between child elements that is whitespace in JavaScript's sense (a stray U+FEFF too) is layout.
  if (text.trim().length === 0) return { name, attrs: { ...attrs }, children };
  // Mixed content: every run as written, spaces included (they separate words), in place.
  return { name, attrs: { ...attrs }, children: interleave(rawChildren, children) };
}

/**
 * Parses an XML document into the canonical model, refusing what the chaincode refuses with the
 * same code: a DOCTYPE/ENTITY declaration before the parser sees the input (no entity expansion
 * of any kind), characters XML forbids, malformed XML, nesting deeper than `maxDepth`. The
 * parser's own failures (stack exhaustion on absurd nesting included) are bad input, never a 500.
 */
export function parseXml(input: string, maxDepth: number): XmlElement {
  const xml = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  if (declaresDoctype(xml)) throw new DoctypeForbiddenError('DOCTYPE and ENTITY declarations are not accepted');
  if (ILLEGAL_CHARS.test(xml)) throw new AmlInvalidError('input contains characters XML does not allow');
  let ordered: Ordered[];
  try {
    const valid = XMLValidator.validate(xml, { allowBooleanAttributes: false });
    if (valid !== true) {
      throw new AmlInvalidError(`malformed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`, {
        details: { line: valid.err.line, column: valid.err.col },
      });
    }
    ordered = parser.parse(xml) as Ordered[];
  } catch (e) {
    if (e instanceof AmlInvalidError) throw e;
    throw new AmlInvalidError(`XML parser error: ${(e as Error).message}`, { cause: e });
  }
  const roots: Ordered[] = [];
  for (const n of ordered) {
    if ('#text' in n) {
      if (String(n['#text']).trim() !== '') throw new AmlInvalidError('text outside the root element');
    } else {
      roots.push(n);
    }
  }
  if (roots.length !== 1 || roots[0] === undefined) throw new AmlInvalidError(`expected exactly one root element, found ${roots.length}`, { details: { rule: 'root' } });
  try {
    return defaultRootPrefix(convert(roots[0], 1, maxDepth));
  } catch (e) {
    // convert recurses once per level, bounded by maxDepth; a RangeError can only come from a
    // caller passing an absurd maxDepth, and it is still the input's fault.
    if (e instanceof RangeError) throw new AmlInvalidError('XML nesting too deep', { cause: e });
    throw e;
  }
}

/**
 * A document whose elements carry a prefix bound on the root (`<caex:CAEXFile
 * xmlns:caex="http://www.dke.de/CAEX">`, or the `ns0:` Python's ElementTree writes) names the
 * same elements as one in the default namespace (XML Namespaces: equal expanded names), so it
 * is read as that: the prefix is dropped from every element that carries it and the root
 * declares the namespace as its default. Left as written (and then refused as unknown elements)
 * when a descendant declares the prefix or a default namespace itself, or the root already has
 * another default namespace. The declaration of the prefix stays when an attribute uses it.
 */
function defaultRootPrefix(root: XmlElement): XmlElement {
  const colon = root.name.indexOf(':');
  if (colon <= 0) return root;
  const prefix = root.name.slice(0, colon);
  const ns = root.attrs[`xmlns:${prefix}`];
  if (ns === undefined || ns === '' || (root.attrs['xmlns'] !== undefined && root.attrs['xmlns'] !== ns)) return root;
  const p = `${prefix}:`;
  let attributeUses = false;
  const redeclared = (el: XmlElement): boolean =>
    el.children.some((c) => {
      if (Object.keys(c.attrs).some((k) => k === 'xmlns' || k === `xmlns:${prefix}`)) return true;
      return redeclared(c);
    });
  if (redeclared(root)) return root;
  const strip = (el: XmlElement): XmlElement => {
    if (Object.keys(el.attrs).some((k) => k.startsWith(p))) attributeUses = true;
    return { ...el, name: el.name.startsWith(p) ? el.name.slice(p.length) : el.name, children: el.children.map(strip) };
  };
  const out = strip(root);
  const attrs: Record<string, string> = { ...out.attrs, xmlns: ns };
  if (!attributeUses) delete attrs[`xmlns:${prefix}`];
  return { ...out, attrs };
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

function escapeAttr(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

/** Namespace declarations first (as in C14N), then the rest, each group by code unit order. */
function attrOrder(a: string, b: string): number {
  const na = a === 'xmlns' || a.startsWith('xmlns:') ? 0 : 1;
  const nb = b === 'xmlns' || b.startsWith('xmlns:') ? 0 : 1;
  if (na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The chaincode's canonical serialization (`chaincode/src/aml/xml.ts` serializeElement), so a
 * piece cut here reads on the ledger as the same model it was cut from.
 */
export function serializeXml(el: XmlElement, indent = 0): string {
  const pad = ' '.repeat(indent);
  const attrs = Object.keys(el.attrs)
    .sort(attrOrder)
    .map((k) => ` ${k}="${escapeAttr(el.attrs[k] ?? '')}"`)
    .join('');
  if (el.children.length === 0) {
    if (el.text === undefined || el.text === '') return `${pad}<${el.name}${attrs}/>`;
    return `${pad}<${el.name}${attrs}>${escapeText(el.text)}</${el.name}>`;
  }
  if (el.children.some(isTextNode)) {
    // Mixed content is written as it was read: indentation here would be text of its own.
    const inline = el.children.map((c) => (isTextNode(c) ? escapeText(c.text ?? '') : serializeXml(c))).join('');
    return `${pad}<${el.name}${attrs}>${inline}</${el.name}>`;
  }
  const inner = el.children.map((c) => serializeXml(c, indent + 2)).join('\n');
  return `${pad}<${el.name}${attrs}>\n${inner}\n${pad}</${el.name}>`;
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
