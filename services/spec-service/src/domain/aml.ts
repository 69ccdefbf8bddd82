import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AmlInvalidError, DoctypeForbiddenError } from './errors.js';

/** One XML element of the specification as JSON: attributes, text and child elements in order. */
export interface AmlNode {
  readonly tag: string;
  readonly attributes: Record<string, string>;
  readonly text?: string;
  readonly children: AmlNode[];
}

const DECLARATION = /<!\s*(DOCTYPE|ENTITY)/i;
const FRAGMENT_ROOTS = new Set(['InternalElement', 'InstanceHierarchy']);

function validate(xml: string, what: string): void {
  if (DECLARATION.test(xml)) throw new DoctypeForbiddenError(`${what} contains a DOCTYPE or ENTITY declaration`);
  const result = XMLValidator.validate(xml, { allowBooleanAttributes: false });
  if (result !== true) {
    throw new AmlInvalidError(`${what} is not well-formed XML: ${result.err.msg}`, { details: { line: result.err.line, column: result.err.col, reason: result.err.code } });
  }
}

function rootTags(xml: string): string[] {
  const tree = parseOrdered(xml);
  return tree.map((n) => n.tag);
}

/**
 * Cheap structural checks of a whole AML document before it is sent to the ledger (which
 * validates fully): well-formed XML, no DOCTYPE, one CAEXFile root. A malformed upload then
 * costs no endorsement.
 */
export function checkAmlDocument(xml: string): void {
  validate(xml, 'the AML document');
  const roots = rootTags(xml);
  if (roots.length !== 1 || roots[0] !== 'CAEXFile') {
    throw new AmlInvalidError(`the AML document's root must be one CAEXFile element (found ${roots.join(', ') || 'none'})`);
  }
}

/** The same for an insertAML fragment: one or more InternalElements or InstanceHierarchies. */
export function checkAmlFragment(xml: string): void {
  if (DECLARATION.test(xml)) throw new DoctypeForbiddenError('the AML fragment contains a DOCTYPE or ENTITY declaration');
  const body = xml.replace(/^\s*<\?xml[^?]*\?>/, '');
  validate(`<fragment>${body}</fragment>`, 'the AML fragment');
  const roots = parseOrdered(`<fragment>${body}</fragment>`)[0]?.children.map((c) => c.tag) ?? [];
  if (roots.length === 0 || !roots.every((t) => FRAGMENT_ROOTS.has(t))) {
    throw new AmlInvalidError(`an AML fragment holds InternalElement or InstanceHierarchy elements only (found ${roots.join(', ') || 'none'})`);
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
});

type Ordered = Record<string, unknown>;

function convert(items: Ordered[]): AmlNode[] {
  const out: AmlNode[] = [];
  for (const item of items) {
    const tag = Object.keys(item).find((k) => k !== ':@');
    if (tag === undefined || tag === '#text') continue;
    const attrs = (item[':@'] as Record<string, string> | undefined) ?? {};
    const content = (item[tag] as Ordered[] | undefined) ?? [];
    const text = content
      .filter((c) => '#text' in c)
      .map((c) => String(c['#text']))
      .join('');
    out.push({ tag, attributes: { ...attrs }, ...(text ? { text } : {}), children: convert(content) });
  }
  return out;
}

function parseOrdered(xml: string): AmlNode[] {
  return convert(parser.parse(xml) as Ordered[]);
}

/** The specification as a JSON tree (the ledger's canonical AML, parsed). */
export function amlToTree(xml: string): AmlNode {
  const roots = parseOrdered(xml);
  if (roots.length !== 1) throw new AmlInvalidError('the specification has no single root element');
  return roots[0]!;
}
