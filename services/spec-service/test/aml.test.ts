import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { amlToTree, parseCanonicalAml, parseOrdered } from '../src/domain/aml.js';

const FIXTURE = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');

/** A plant in the chaincode's canonical layout: indented, attributes double-quoted, leaf text. */
function plant(devices: number): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', '<CAEXFile FileName="p.aml" SchemaVersion="3.0" xmlns="http://www.dke.de/CAEX">', '  <InstanceHierarchy ID="ih" Name="Plant">'];
  for (let d = 0; d < devices; d++) {
    out.push(`    <InternalElement ID="dev-${d}" Name="Device &amp; &lt;${d}&gt;">`);
    out.push(`      <Attribute AttributeDataType="xs:double" Name="Rating" Unit="kW">`);
    out.push(`        <Value>${d}.5</Value>`);
    out.push('      </Attribute>');
    out.push(`      <Description>line one &quot;quoted&quot; &apos;x&apos;</Description>`);
    out.push(`      <ExternalInterface ID="dev-${d}-s" Name="Signal" RefBaseClassPath="Lib/Signal"/>`);
    out.push('    </InternalElement>');
  }
  out.push('  </InstanceHierarchy>', '</CAEXFile>', '');
  return out.join('\n');
}

describe('AML to JSON tree', () => {
  it('the fast reader gives the general parser\'s tree for the fixture and a generated plant', () => {
    const fixture = FIXTURE.replace(/<!--[\s\S]*?-->/g, '');
    const fast = parseCanonicalAml(fixture);
    expect(fast).toBeDefined();
    expect(fast).toEqual(parseOrdered(fixture));
    const doc = plant(300);
    expect(parseCanonicalAml(doc)).toEqual(parseOrdered(doc));
    expect(amlToTree(doc).children[0]!.children).toHaveLength(300);
  });

  it('decodes entities and character references in text and attributes', () => {
    const tree = amlToTree('<a x="&lt;b&gt; &amp; &quot;c&quot;&#10;d">  &#x41;&#66; &apos;e&apos; <b/> f  </a>');
    expect(tree.attributes['x']).toBe('<b> & "c"\nd');
    // Text segments around children are trimmed each and joined, as the general parser does.
    expect(tree.text).toBe("AB 'e'f");
    expect(tree.children).toEqual([{ tag: 'b', attributes: {}, children: [] }]);
  });

  it.each([
    ['a comment', '<a><!-- c --><b/></a>'],
    ['CDATA', '<a><![CDATA[x]]></a>'],
    ['single-quoted attributes', "<a x='1'/>"],
    ['an unknown entity', '<a>&nbsp;</a>'],
    ['mismatched tags', '<a><b></a></b>'],
    ['an unclosed element', '<a><b/>'],
    ['text outside the root', 'x<a/>'],
  ])('leaves %s to the general parser', (_what, xml) => {
    expect(parseCanonicalAml(xml)).toBeUndefined();
  });

  it('still reads documents outside the canonical form (through the general parser)', () => {
    const tree = amlToTree(FIXTURE);
    expect(tree.tag).toBe('CAEXFile');
    expect(tree).toEqual(parseOrdered(FIXTURE)[0]);
  });
});
