import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { canonicalizeDocument } from '../../../chaincode/src/aml/caex';
import {
  AmlInvalidError,
  AmlLimits,
  AmlTooLargeError,
  DoctypeForbiddenError,
  DuplicateIdError,
  readAmlDocument,
  readAmlFragment,
  readElementTree,
  readSpecification,
  readSpecificationTree,
  TEXT_NODE,
  toAmlNode,
} from '../src/index.js';
import { readCanonicalTree } from '../src/tree.js';
import { doc, doc215, ie, MIXED_VALUE, nestedAttributes, nestedElements, VALUE_CONTENT, valueOf } from './corpus.js';

const FIXTURE = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

/** A plant of n devices in the chaincode's canonical form, with every escape it writes. */
function plant(devices: number): string {
  const body = Array.from(
    { length: devices },
    (_, d) =>
      `<InternalElement ID="dev-${d}" Name=" Device &amp; &lt;${d}&gt;&#9;"><Attribute AttributeDataType="xs:double" Name="Rating" Unit="kW"><Value>${d}.5</Value></Attribute>` +
      `<Description>line one "quoted" 'x' &#13;</Description><ExternalInterface ID="dev-${d}-s" Name="Signal" RefBaseClassPath="Lib/Signal"/></InternalElement>`,
  ).join('');
  return canonicalizeDocument(`<CAEXFile FileName="p.aml" SchemaVersion="3.0" xmlns="http://www.dke.de/CAEX"><InstanceHierarchy ID="ih" Name="Plant">${body}</InstanceHierarchy></CAEXFile>`);
}

describe('reading AML', () => {
  it('refuses with one error class per failure mode, each with its code and status', () => {
    expect(() => readAmlDocument(doc(nestedElements(5000)))).toThrow(expect.objectContaining({ name: AmlInvalidError.name, code: 'AML_INVALID', httpStatus: 400 }));
    expect(() => readAmlDocument('<!DOCTYPE x><CAEXFile/>')).toThrow(expect.objectContaining({ name: DoctypeForbiddenError.name, code: 'DOCTYPE_FORBIDDEN', httpStatus: 400 }));
    expect(() => readAmlDocument(doc(ie('a') + ie('a')))).toThrow(expect.objectContaining({ name: DuplicateIdError.name, code: 'DUPLICATE_ID', details: { id: 'a' } }));
    expect(() => readAmlFragment(ie('a', `<Description>${'x'.repeat(AmlLimits.MAX_FRAGMENT_BYTES)}</Description>`))).toThrow(
      expect.objectContaining({ name: AmlTooLargeError.name, code: 'TOO_LARGE', httpStatus: 413, details: { limit: AmlLimits.MAX_FRAGMENT_BYTES } }),
    );
    // Bytes, not characters: 3 bytes per character here.
    expect(() => readAmlFragment(ie('a', `<Description>${'€'.repeat(AmlLimits.MAX_FRAGMENT_BYTES / 3)}</Description>`))).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(() => readAmlDocument(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('reads a document and counts its InternalElements', () => {
    const d = readAmlDocument(FIXTURE);
    expect(d.schemaVersion).toBe('3.0');
    expect(d.root.name).toBe('CAEXFile');
    expect(d.elementCount).toBeGreaterThan(10);
  });

  it('leaves the one version-specific rule to the ledger when the schema version is not known', () => {
    const frag = '<InternalElement Name="s" ID="s"><ExternalInterface Name="Signal"/></InternalElement>';
    expect(() => readAmlFragment(frag, '3.0')).toThrow(expect.objectContaining({ code: 'AML_INVALID' }));
    expect(readAmlFragment(frag, '2.15').kind).toBe('InternalElement');
    expect(readAmlFragment(frag).elementCount).toBe(1);
  });
});

describe('reading the ledger\'s specification', () => {
  it('holds it to what the chaincode guarantees: nesting, not element count, bytes or fragment-wide IDs', () => {
    expect(() => readSpecification(doc(ie('a', nestedAttributes(126))))).toThrow(expect.objectContaining({ code: 'AML_INVALID' }));
    expect(readSpecification(doc(ie('a', nestedAttributes(125)))).name).toBe('CAEXFile');
    const many = doc(Array.from({ length: AmlLimits.MAX_ELEMENTS_PER_TWIN + 1 }, (_, i) => `<InternalElement Name="n" ID="e${i}"/>`).join(''));
    // A twin grows past a document's element count by inserts: the ledger serves it all the same.
    expect(readSpecification(many).name).toBe('CAEXFile');
    expect(readSpecificationTree(many).tag).toBe('CAEXFile');
    // Two fragments may each hold an ExternalInterface ID "sig": the assembled spec repeats it.
    const sig = (id: string) => ie(id, '<ExternalInterface Name="S" ID="sig"/>');
    expect(readSpecification(doc(sig('a') + sig('b'))).children).toHaveLength(1);
    // Many fragments add up past the document limit; the ledger serves it all the same.
    const big = doc(ie('a', `<Description>${'x'.repeat(AmlLimits.MAX_AML_BYTES)}</Description>`));
    expect(readSpecification(big).name).toBe('CAEXFile');
  });

  it('the fast reader gives the general reader\'s tree for the canonical fixture and a generated plant', () => {
    for (const xml of [canonicalizeDocument(FIXTURE), plant(300)]) {
      const fast = readCanonicalTree(xml);
      expect(fast).toBeDefined();
      expect(fast).toEqual(toAmlNode(readSpecification(xml)));
      expect(readSpecificationTree(xml)).toEqual(fast);
    }
    const tree = readSpecificationTree(plant(2));
    const dev = tree.children[0]!.children[0]!;
    expect(dev.attributes['Name']).toBe(' Device & <0>\t');
    expect(dev.children.find((c) => c.tag === 'Description')!.text).toBe('line one "quoted" \'x\'');
  });

  it.each([
    ['a comment', doc('<!-- c -->')],
    ['CDATA', doc(ie('a', '<Description><![CDATA[x]]></Description>'))],
    ['single-quoted attributes', "<CAEXFile x='1'/>"],
    ['an unknown entity', doc(ie('a', '<Description>&nbsp;</Description>'))],
    ['mismatched tags', '<CAEXFile><b></CAEXFile></b>'],
    ['an unclosed element', '<CAEXFile><b/>'],
    ['text outside the root', 'x<CAEXFile/>'],
    ['nesting beyond the limit', doc(ie('a', nestedAttributes(126)))],
    ['a tab in an attribute', '<CAEXFile x="a\tb"/>'],
  ])('leaves %s to the general reader', (_what, xml) => {
    expect(readCanonicalTree(xml)).toBeUndefined();
  });

  it('reads documents outside the canonical form through the general reader, and one element', () => {
    expect(readSpecificationTree(FIXTURE)).toEqual(toAmlNode(readSpecification(FIXTURE)));
    expect(readElementTree(ie('a', ie('b'))).children[0]).toEqual({ tag: 'InternalElement', attributes: { Name: 'Nb', ID: 'b' }, children: [] });
    expect(() => readElementTree('<Attribute Name="x"/>')).toThrow(expect.objectContaining({ code: 'AML_INVALID' }));
    expect(() => readElementTree(ie('a', nestedAttributes(200)))).toThrow(expect.objectContaining({ code: 'AML_INVALID' }));
  });
});

describe('CAEX 2.15 values with element content (xs:anyType)', () => {
  const text = (t: string) => ({ tag: TEXT_NODE, attributes: {}, text: t, children: [] });

  it('stores mixed content as written: every run in its place, spaces included, no indentation added', () => {
    const canonical = canonicalizeDocument(doc215(ie('a', valueOf(MIXED_VALUE) + valueOf(VALUE_CONTENT))));
    expect(canonical).toContain('<Value> Set to <b>12</b>\u00a0bar, <i kind="max">not</i> more &amp; &lt;never&gt; less. </Value>');
    // Element-only content is laid out like any other; a nested mixed element stays inline.
    expect(canonical).toContain(
      '<Value>\n          <p:Pose xmlns:p="urn:example:pose" p:frame="base" unit="mm">\n            <p:X>1.5</p:X>\n            <p:Y/>\n            <p:Note lang="en">top <b>and</b> <i>left</i> </p:Note>\n          </p:Pose>\n        </Value>',
    );
  });

  it('serves the content in the JSON tree, runs of text as #text nodes, the same through both readers', () => {
    const canonical = canonicalizeDocument(doc215(ie('a', valueOf('a <b x="1">c</b> d'))));
    const tree = readSpecificationTree(canonical);
    expect(tree).toEqual(toAmlNode(readSpecification(canonical)));
    const value = tree.children[0]!.children[0]!.children[0]!.children[0]!;
    expect(value).toEqual({ tag: 'Value', attributes: {}, children: [text('a '), { tag: 'b', attributes: { x: '1' }, text: 'c', children: [] }, text(' d')] });
    expect(readElementTree(ie('a', valueOf('a <b x="1">c</b> d'))).children[0]!.children[0]).toEqual(value);
  });

  it('holds a fragment to the twin\'s version, and leaves the rule to the ledger without one', () => {
    const frag = ie('f', valueOf('one <x/> two', 'DefaultValue'));
    expect(() => readAmlFragment(frag, '3.0')).toThrow(expect.objectContaining({ name: AmlInvalidError.name, code: 'AML_INVALID' }));
    expect(readAmlFragment(frag, '2.15').elements[0]!.children[0]!.children[0]!.children.map((c) => c.name)).toEqual([TEXT_NODE, 'x', TEXT_NODE]);
    expect(readAmlFragment(frag).elementCount).toBe(1);
    // Text beside the fragment's elements is no value of anything.
    expect(() => readAmlFragment(`text${frag}`, '2.15')).toThrow(expect.objectContaining({ code: 'AML_INVALID' }));
  });
});
