import fc from 'fast-check';
import { ChaincodeError, ErrorCodes, canonicalizeDocument } from '../src';
import { parseXml, type XmlElement } from '../src/aml/xml';
import { FIXTURE, TWIN, newWorld, who, worldWithTwin } from './support/world';

/* Property tests of the AML paths: generated CAEX, mutated input, random edit sequences. */

const CODES = new Set<string>(Object.values(ErrorCodes));
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARS = ['a', 'b', 'Z', '0', ' ', '&', '<', '>', '"', "'", '\t', '\n', 'é', 'ß', '💧', ';', '#', ']]>', '&amp;'];
const text = fc.array(fc.constantFrom(...CHARS), { maxLength: 12 }).map((a) => a.join(''));
const nonEmptyText = text.map((t) => t.trim()).filter((t) => t.length > 0);

const attribute = fc.record({ name: nonEmptyText, value: fc.option(nonEmptyText, { nil: undefined }), unit: fc.option(text, { nil: undefined }) });

interface GenIE {
  id: string;
  name: string;
  desc?: string;
  attrs: Array<{ name: string; value?: string; unit?: string }>;
  children: GenIE[];
  role?: string;
}

const ie: fc.Memo<GenIE> = fc.memo((n) =>
  fc.record({
    id: fc.uuid(),
    name: nonEmptyText,
    desc: fc.option(nonEmptyText, { nil: undefined }),
    attrs: fc.array(attribute, { maxLength: 3 }),
    children: n <= 1 ? fc.constant([]) : fc.array(ie(n - 1), { maxLength: 3 }),
    role: fc.option(fc.constantFrom('AutomationMLBaseRoleClassLib/AutomationMLBaseRole/Sensor', 'R/x'), { nil: undefined }),
  }),
);

function ieToXml(g: GenIE): XmlElement {
  const children: XmlElement[] = [];
  if (g.desc !== undefined) children.push({ name: 'Description', attrs: {}, children: [], text: g.desc });
  for (const a of g.attrs) {
    const attrs: Record<string, string> = { Name: a.name, AttributeDataType: 'xs:string' };
    if (a.unit !== undefined) attrs.Unit = a.unit;
    children.push({ name: 'Attribute', attrs, children: a.value !== undefined ? [{ name: 'Value', attrs: {}, children: [], text: a.value }] : [] });
  }
  children.push(...g.children.map(ieToXml));
  if (g.role !== undefined) children.push({ name: 'RoleRequirements', attrs: { RefBaseRoleClassPath: g.role }, children: [] });
  return { name: 'InternalElement', attrs: { ID: g.id, Name: g.name }, children };
}

function docOf(forest: GenIE[]): XmlElement {
  return {
    name: 'CAEXFile',
    attrs: { xmlns: 'http://www.dke.de/CAEX', SchemaVersion: '3.0', FileName: 'gen.aml' },
    children: [
      { name: 'SourceDocumentInformation', attrs: { OriginName: 'fuzz', OriginID: 'f' }, children: [] },
      { name: 'InstanceHierarchy', attrs: { Name: 'IH', ID: 'ih-root' }, children: forest.map(ieToXml) },
    ],
  };
}

/** Serializes with random formatting: attribute order, whitespace, quotes, entities, CDATA, comments. */
function noisy(el: XmlElement, rnd: () => number, depth = 0): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const ws = () => pick(['', ' ', '\n', '\n    ', '\t', '\r\n']);
  const escAttr = (v: string, q: string) =>
    v
      .replace(/&/g, () => pick(['&amp;', '&#38;', '&#x26;']))
      .replace(/</g, '&lt;')
      .replace(/>/g, () => pick(['>', '&gt;']))
      .replace(/"/g, q === '"' ? '&quot;' : '"')
      .replace(/'/g, q === "'" ? '&apos;' : "'")
      .replace(/\t/g, '&#9;')
      .replace(/\n/g, '&#10;');
  const escText = (v: string) => {
    if (!v.includes(']]>') && rnd() < 0.3) return `<![CDATA[${v}]]>`;
    return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, () => pick(['>', '&gt;']));
  };
  const keys = Object.keys(el.attrs).sort(() => rnd() - 0.5);
  const attrs = keys.map((k) => {
    const q = pick(['"', "'"]);
    return ` ${k}${pick(['', ' '])}=${pick(['', ' '])}${q}${escAttr(el.attrs[k] as string, q)}${q}`;
  });
  const open = `<${el.name}${attrs.join('')}${ws().replace('\r\n', ' ')}`;
  const comment = rnd() < 0.1 ? '<!-- note -->' : '';
  if (el.children.length === 0 && el.text === undefined) return rnd() < 0.5 ? `${open}/>` : `${open}>${comment}</${el.name}>`;
  if (el.text !== undefined) return `${open}>${pick(['', ' ', '\n '])}${escText(el.text)}${pick(['', '\n'])}</${el.name}>`;
  const inner = el.children.map((c) => ws() + noisy(c, rnd, depth + 1)).join('');
  return `${open}>${comment}${inner}${ws()}</${el.name}>`;
}

function expectCoded(e: unknown): void {
  if (!(e instanceof ChaincodeError) || !CODES.has(e.code) || !e.message.startsWith(`${e.code}: `)) {
    throw new Error(`uncoded failure: ${String(e)}`);
  }
}

describe('AML round trip', () => {
  it('parse -> store -> reassemble -> parse gives the same document', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ie(4), { minLength: 1, maxLength: 4 }), fc.integer(), async (forest, seed) => {
        const doc = docOf(forest);
        const xml = `<?xml version="1.0" encoding="UTF-8"?>\n${noisy(doc, mulberry32(seed))}`;
        let parsed: XmlElement;
        try {
          parsed = parseXml(xml, 128);
        } catch (e) {
          // fc.uuid() can repeat within one forest only by chance; names are free text.
          expectCoded(e);
          return;
        }
        expect(parsed).toEqual(doc);
        const w = newWorld();
        await w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'gen', xml, '');
        const { aml } = await w.ledger.invoke(who.owner, w.spec, 'getSpecification', TWIN);
        expect(parseXml(aml, 128)).toEqual(doc);
        expect(aml).toBe(canonicalizeDocument(xml));
        expect(canonicalizeDocument(aml)).toBe(aml);
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated input fails only with a coded error and leaves state unchanged', async () => {
    const tokens = ['<', '>', '&', '"', '<!DOCTYPE a>', '<!ENTITY x "y">', ']]>', '&#0;', '&#xD800;', '&bogus;', '</InternalElement>',
      '<InternalElement Name="d" ID="plant-1"/>', '<InternalElement Name="e"/>', '<Attribute/>', '\u0001', '<?pi?>', '<![CDATA[', 'ID="x"',
      'xmlns:a="b"', '<a:b/>', '<InstanceHierarchy/>', '<__proto__/>', '<Attribute Name="x" __proto__="y"/>'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.nat(40), fc.oneof(fc.constantFrom(...tokens), fc.string({ maxLength: 5 }))), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (edits, asFragment) => {
          let s = asFragment
            ? '<InternalElement Name="n" ID="n1"><Attribute Name="a" AttributeDataType="xs:string"><Value>v</Value></Attribute></InternalElement>'
            : FIXTURE;
          for (const [pos, del, ins] of edits) {
            const p = pos % (s.length + 1);
            s = s.slice(0, p) + ins + s.slice(p + del);
          }
          const w = asFragment ? await worldWithTwin() : newWorld();
          const ledger = w.ledger;
          const before = ledger.snapshot();
          try {
            if (asFragment) await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, s, 'filler-1', '');
            else await ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'm', s, '');
          } catch (e) {
            expectCoded(e);
            expect(ledger.lastTx.writeCalls).toBe(0);
            expect(ledger.snapshot()).toEqual(before);
            return;
          }
          // Accepted: the result reassembles to a canonical fixed point.
          const { aml } = await ledger.invoke(who.owner, w.spec, 'getSpecification', TWIN);
          expect(canonicalizeDocument(aml)).toBe(aml);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('insert/remove sequences', () => {
  it('keep the same child order as a list model', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.record({ op: fc.constant('ins' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 3 }) }), fc.record({ op: fc.constant('rm' as const), at: fc.nat() })), {
          minLength: 1,
          maxLength: 25,
        }),
        async (ops) => {
          const w = await worldWithTwin();
          const model = ['sensor-fill-level-1', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1'];
          let next = 0;
          for (const o of ops) {
            if (o.op === 'ins') {
              const at = o.at % (model.length + 1);
              const ids = Array.from({ length: o.n }, () => `g${next++}`);
              const frag = ids.map((id) => `<InternalElement Name="${id}" ID="${id}"/>`).join('');
              await w.ledger.invoke(who.maintainer, w.spec, 'insertAML', TWIN, frag, 'filler-1', at === 0 ? '' : (model[at - 1] as string));
              model.splice(at, 0, ...ids);
            } else if (model.length > 0) {
              const at = o.at % model.length;
              await w.ledger.invoke(who.maintainer, w.spec, 'removeAML', TWIN, model[at] as string);
              model.splice(at, 1);
            }
          }
          const el = await w.ledger.invoke(who.owner, w.spec, 'getElement', TWIN, 'filler-1');
          const ids = [...(el.aml as string).matchAll(/^  <InternalElement ID="([^"]+)"/gm)].map((m) => m[1]);
          expect(ids).toEqual(model);
        },
      ),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
});
