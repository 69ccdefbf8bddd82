/**
 * A second, deliberately small XML reader for tests: the oracle the product's reader (built on
 * fast-xml-parser) is held to on real AML files. It shares no code with either reader, so a
 * parser quirk in the product shows up as a difference instead of being agreed with.
 *
 * It reads well-formed XML 1.0 without a DTD: elements, attributes (normalized as XML 1.0
 * section 3.3.3 says for CDATA attributes), text and CDATA (concatenated), comments and
 * processing instructions (skipped), the five predefined entities and character references.
 * Anything else throws.
 */
export interface RefElement {
  readonly name: string;
  /** In document order. */
  readonly attrs: ReadonlyArray<readonly [string, string]>;
  readonly children: readonly RefElement[];
  /** All character data directly inside the element, untrimmed. */
  readonly text: string;
  /** The same, as the runs before each child element and after the last (children.length + 1 runs). */
  readonly runs: readonly string[];
}

interface Open {
  name: string;
  attrs: Array<[string, string]>;
  children: RefElement[];
  text: string;
  runs: string[];
}

const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescape(s: string): string {
  return s.replace(/&([^;&]*);/g, (_m, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    const v = NAMED[ref];
    if (v === undefined) throw new Error(`reference reader: unknown entity &${ref};`);
    return v;
  });
}

const NAME = /[^\s/>=]+/y;

function append(el: Open, text: string): void {
  el.text += text;
  el.runs[el.runs.length - 1] += text;
}
const ATTR = /\s*([^\s/>=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;

export function readReferenceXml(input: string): RefElement {
  // XML 1.0 section 2.11: line ends are normalized before anything else is read.
  const xml = (input.startsWith('\uFEFF') ? input.slice(1) : input).replace(/\r\n?/g, '\n');
  const stack: Open[] = [];
  let root: RefElement | undefined;
  let i = 0;
  const until = (end: string): string => {
    const at = xml.indexOf(end, i);
    if (at < 0) throw new Error(`reference reader: unterminated construct at ${i}`);
    const body = xml.slice(i, at);
    i = at + end.length;
    return body;
  };
  const close = (el: Open): void => {
    const done: RefElement = { name: el.name, attrs: el.attrs, children: el.children, text: el.text, runs: el.runs };
    const parent = stack.at(-1);
    if (parent) {
      parent.children.push(done);
      parent.runs.push('');
    } else if (root === undefined) root = done;
    else throw new Error('reference reader: two roots');
  };
  while (i < xml.length) {
    if (xml.startsWith('<?', i)) {
      i += 2;
      until('?>');
    } else if (xml.startsWith('<!--', i)) {
      i += 4;
      until('-->');
    } else if (xml.startsWith('<![CDATA[', i)) {
      i += 9;
      const data = until(']]>');
      const top = stack.at(-1);
      if (!top) throw new Error('reference reader: CDATA outside the root');
      append(top, data);
    } else if (xml.startsWith('<!', i)) {
      throw new Error('reference reader: declarations are not read');
    } else if (xml.startsWith('</', i)) {
      i += 2;
      const name = until('>').trim();
      const top = stack.pop();
      if (!top || top.name !== name) throw new Error(`reference reader: </${name}> closes nothing open`);
      close(top);
    } else if (xml[i] === '<') {
      NAME.lastIndex = i + 1;
      const m = NAME.exec(xml);
      if (!m) throw new Error(`reference reader: bad tag at ${i}`);
      const el: Open = { name: m[0], attrs: [], children: [], text: '', runs: [''] };
      i = NAME.lastIndex;
      for (;;) {
        ATTR.lastIndex = i;
        const a = ATTR.exec(xml);
        if (!a) break;
        const raw = a[2] ?? a[3] ?? '';
        // Literal whitespace becomes a space; character references keep what they name.
        el.attrs.push([a[1] as string, unescape(raw.replace(/[\t\n]/g, ' '))]);
        i = ATTR.lastIndex;
      }
      while (xml[i] === ' ' || xml[i] === '\t' || xml[i] === '\n') i++;
      if (xml.startsWith('/>', i)) {
        i += 2;
        close(el);
      } else if (xml[i] === '>') {
        i += 1;
        stack.push(el);
      } else {
        throw new Error(`reference reader: bad tag <${el.name}> at ${i}`);
      }
    } else {
      const at = xml.indexOf('<', i);
      const end = at < 0 ? xml.length : at;
      const chunk = xml.slice(i, end);
      const top = stack.at(-1);
      if (top) append(top, unescape(chunk));
      else if (chunk.trim() !== '') throw new Error('reference reader: text outside the root');
      i = end;
    }
  }
  if (stack.length > 0 || root === undefined) throw new Error('reference reader: unclosed elements');
  return root;
}

/** Trims XML whitespace (space, tab, CR, LF) only: JavaScript's trim also takes U+00A0, U+FEFF and more. */
export function xmlTrim(s: string): string {
  return s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

/**
 * Where `b` says less than `a`, as paths: elements (names, order), attributes (names, values)
 * and text, and in mixed content each run of text in its place. Differences the canonical form
 * documents are not reported: attribute order, text trimmed at both ends (chaincode README,
 * "Canonical form"), whitespace-only text between child elements, CDATA versus escaped text,
 * comments and processing instructions.
 */
export function semanticDifferences(a: RefElement, b: RefElement, path = '', out: string[] = [], max = 20): string[] {
  const here = `${path}/${a.name}`;
  if (out.length >= max) return out;
  if (a.name !== b.name) {
    out.push(`${here}: element <${a.name}> became <${b.name}>`);
    return out;
  }
  const am = new Map(a.attrs);
  const bm = new Map(b.attrs);
  for (const [k, v] of am) {
    if (!bm.has(k)) out.push(`${here}: attribute ${k} lost`);
    else if (bm.get(k) !== v) out.push(`${here}: attribute ${k} ${JSON.stringify(v)} became ${JSON.stringify(bm.get(k))}`);
  }
  for (const k of bm.keys()) if (!am.has(k)) out.push(`${here}: attribute ${k} added`);
  const at = xmlTrim(a.text);
  const bt = xmlTrim(b.text);
  if (at !== bt) out.push(`${here}: text ${JSON.stringify(at.slice(0, 80))} became ${JSON.stringify(bt.slice(0, 80))}`);
  // Mixed content (a CAEX 2.15 xs:anyType value): every run of text in its place, spaces included.
  else if (a.children.length > 0 && a.text.trim() !== '' && JSON.stringify(a.runs) !== JSON.stringify(b.runs)) {
    out.push(`${here}: mixed content ${JSON.stringify(a.runs).slice(0, 120)} became ${JSON.stringify(b.runs).slice(0, 120)}`);
  }
  if (a.children.length !== b.children.length) {
    out.push(`${here}: ${a.children.length} child elements became ${b.children.length} (${a.children.map((c) => c.name).join(',')} vs ${b.children.map((c) => c.name).join(',')})`);
    return out;
  }
  a.children.forEach((c, k) => semanticDifferences(c, b.children[k] as RefElement, `${here}[${k}]`, out, max));
  return out;
}

/** Counts for the report: elements, attributes and characters of text the file carries. */
export function measure(el: RefElement): { elements: number; attributes: number; textChars: number } {
  let elements = 1;
  let attributes = el.attrs.length;
  let textChars = xmlTrim(el.text).length;
  for (const c of el.children) {
    const m = measure(c);
    elements += m.elements;
    attributes += m.attributes;
    textChars += m.textChars;
  }
  return { elements, attributes, textChars };
}
