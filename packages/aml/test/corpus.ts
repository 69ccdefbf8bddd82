/**
 * Good and bad AML for every reader of the project: the package's tests, the drift test
 * against the chaincode and the services' route tests use the same inputs. `code` is what
 * the chaincode answers (undefined: accepted). Inputs are built lazily: some are megabytes.
 */
export interface AmlCase {
  readonly name: string;
  readonly kind: 'document' | 'fragment';
  readonly xml: () => string;
  readonly code: 'AML_INVALID' | 'DOCTYPE_FORBIDDEN' | 'DUPLICATE_ID' | 'TOO_LARGE' | undefined;
}

export const doc = (hierarchy: string, header = ''): string =>
  `<?xml version="1.0" encoding="UTF-8"?><CAEXFile SchemaVersion="3.0" FileName="t.aml">${header}<InstanceHierarchy Name="IH" ID="ih">${hierarchy}</InstanceHierarchy></CAEXFile>`;

/** The same document in CAEX 2.15, whose `Value` and `DefaultValue` are xs:anyType (element and mixed content). */
export const doc215 = (hierarchy: string, header = ''): string => doc(hierarchy, header).replace('SchemaVersion="3.0"', 'SchemaVersion="2.15"');

/** An Attribute whose Value holds `content` as written. */
export const valueOf = (content: string, tag = 'Value'): string => `<Attribute Name="v"><${tag}>${content}</${tag}></Attribute>`;

/** n elements nested in one another, with text at the bottom. */
export const nestedContent = (n: number): string => `${'<x>'.repeat(n)}deep${'</x>'.repeat(n)}`;

/** Element and mixed content as 2.15 files carry it in a Value: namespaces, attributes, text beside elements, edge spaces. */
export const VALUE_CONTENT =
  '<p:Pose xmlns:p="urn:example:pose" p:frame="base" unit="mm"><p:X>1.5</p:X><p:Y/><p:Note lang="en">top <b>and</b> <i>left</i> </p:Note></p:Pose>';
export const MIXED_VALUE = ' Set to <b>12</b>\u00a0bar, <i kind="max">not</i> more &amp; <![CDATA[<never>]]><!-- c --> less. ';

export const ie = (id: string, inner = ''): string => `<InternalElement Name="N${id}" ID="${id}">${inner}</InternalElement>`;

/**
 * `xml` with every element name carrying `prefix`, bound to the CAEX namespace on the root
 * (as `<caex:CAEXFile xmlns:caex=...>` or Python ElementTree's `ns0:` write it).
 */
export const prefixed = (xml: string, prefix: string): string =>
  xml
    .replace(/<(\/?)([A-Za-z]\w*)/g, `<$1${prefix}:$2`)
    .replace(`<${prefix}:CAEXFile `, `<${prefix}:CAEXFile xmlns:${prefix}="http://www.dke.de/CAEX" `);

/** n InternalElements nested in one another (n + 2 XML levels in a document). */
export function nestedElements(n: number, prefix = 'd'): string {
  return `${Array.from({ length: n }, (_, i) => `<InternalElement Name="E" ID="${prefix}${i}">`).join('')}${'</InternalElement>'.repeat(n)}`;
}

/** n Attributes nested in one another inside one element. */
export function nestedAttributes(n: number): string {
  return `${'<Attribute Name="a">'.repeat(n)}${'</Attribute>'.repeat(n)}`;
}

const billionLaughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><CAEXFile SchemaVersion="3.0" FileName="x"><InstanceHierarchy Name="IH"><InternalElement Name="&lol2;" ID="x"/></InstanceHierarchy></CAEXFile>`;

export const AML_CASES: readonly AmlCase[] = [
  // Accepted.
  { name: 'a small document', kind: 'document', code: undefined, xml: () => doc(ie('a', ie('b'))) },
  { name: 'a document with a byte order mark', kind: 'document', code: undefined, xml: () => `\uFEFF${doc(ie('a'))}` },
  { name: 'a document 126 XML levels deep (the limit)', kind: 'document', code: undefined, xml: () => doc(ie('a', nestedAttributes(125))) },
  { name: 'a document with 10^5 Attribute elements', kind: 'document', code: undefined, xml: () => doc(ie('a', '<Attribute Name="x"/>'.repeat(100_000))) },
  { name: 'a document with 10^5 XML attributes on one element', kind: 'document', code: undefined, xml: () => doc(`<InternalElement Name="n" ID="a" ${Array.from({ length: 100_000 }, (_, i) => `x${i}="v"`).join(' ')}/>`) },
  { name: 'a document with 1 MB of text', kind: 'document', code: undefined, xml: () => doc(ie('a', `<Description>${'t'.repeat(1024 * 1024)}</Description>`)) },
  { name: 'a document with CDATA, comments and character references', kind: 'document', code: undefined, xml: () => doc(ie('a', '<!-- c --><Description><![CDATA[a<b]]> &#x41;&amp;</Description>')) },
  // Prefixed CAEX element names name the same elements (XML Namespaces): read as the default namespace.
  { name: 'CAEX elements with the caex: prefix', kind: 'document', code: undefined, xml: () => prefixed(doc(ie('a', '<Attribute Name="x"><Value>1</Value></Attribute>' + ie('b'))), 'caex') },
  { name: "CAEX elements with ElementTree's ns0: prefix", kind: 'document', code: undefined, xml: () => prefixed(doc(ie('a')), 'ns0') },
  { name: 'a fragment 128 XML levels deep (the limit)', kind: 'fragment', code: undefined, xml: () => ie('a', nestedAttributes(127)) },
  { name: 'a document with elements nested 64 deep (the limit)', kind: 'document', code: undefined, xml: () => doc(nestedElements(64)) },
  { name: 'a fragment with elements nested 64 deep (the limit)', kind: 'fragment', code: undefined, xml: () => nestedElements(64) },
  { name: 'a fragment of two elements', kind: 'fragment', code: undefined, xml: () => ie('f1') + ie('f2') },
  { name: 'a fragment with a byte order mark', kind: 'fragment', code: undefined, xml: () => `\uFEFF${ie('f1')}` },
  { name: 'a fragment with a byte order mark and an XML declaration', kind: 'fragment', code: undefined, xml: () => `\uFEFF<?xml version="1.0"?>${ie('f1')}` },
  // Dropped, as processing instructions and whitespace are (JavaScript's trim takes U+FEFF).
  { name: 'a processing instruction after a fragment', kind: 'fragment', code: undefined, xml: () => `${ie('f1')}<?xml version="1.0"?>` },
  { name: 'a byte order mark between elements', kind: 'document', code: undefined, xml: () => doc(ie('a', '<Description>x</Description>\uFEFF<Attribute Name="x"/>')) },
  { name: 'a fragment with an XML declaration', kind: 'fragment', code: undefined, xml: () => `<?xml version="1.0"?>${ie('f1')}` },
  // CAEX allows a file without InstanceHierarchy (a library, an AutomationML Component).
  { name: 'no InstanceHierarchy', kind: 'document', code: undefined, xml: () => '<CAEXFile SchemaVersion="3.0" FileName="x"/>' },
  { name: 'a SystemUnitClassLib only', kind: 'document', code: undefined, xml: () => '<CAEXFile SchemaVersion="3.0" FileName="c.aml"><SystemUnitClassLib Name="L"><SystemUnitClass Name="Motor" ID="m"/></SystemUnitClassLib></CAEXFile>' },
  // "<!DOCTYPE" inside a comment or CDATA section declares nothing.
  { name: 'a comment mentioning <!DOCTYPE', kind: 'document', code: undefined, xml: () => doc(ie('a', '<!-- see <!DOCTYPE html> --><Attribute Name="x"/>')) },
  { name: 'a CDATA section holding an HTML page', kind: 'document', code: undefined, xml: () => doc(ie('a', '<Description><![CDATA[<!DOCTYPE html><!ENTITY x><p>Motor</p>]]></Description>')) },
  // Only XML whitespace is trimmed: a value's no-break space is content.
  { name: 'a value ending in a no-break space', kind: 'document', code: undefined, xml: () => doc(ie('a', '<Attribute Name="x"><Value>10\u00a0</Value></Attribute>')) },
  // Linear trimming: a regular expression for trailing spaces is quadratic on a long inner run.
  { name: 'a value with 1 MB of inner spaces', kind: 'document', code: undefined, xml: () => doc(ie('a', `<Attribute Name="x"><Value>x${' '.repeat(1024 * 1024)}x</Value></Attribute>`)) },
  // CAEX 2.15: Value and DefaultValue are xs:anyType; their element and mixed content is kept as written.
  { name: 'a 2.15 Value holding elements with attributes and namespaces', kind: 'document', code: undefined, xml: () => doc215(ie('a', valueOf(VALUE_CONTENT))) },
  { name: 'a 2.15 Value with mixed content', kind: 'document', code: undefined, xml: () => doc215(ie('a', valueOf(MIXED_VALUE))) },
  { name: 'a 2.15 DefaultValue with mixed content beside a text Value', kind: 'document', code: undefined, xml: () => doc215(ie('a', `<Attribute Name="v"><DefaultValue>a<x/>b</DefaultValue><Value>plain</Value></Attribute>`)) },
  { name: 'a 2.15 Value holding elements in a library', kind: 'document', code: undefined, xml: () => doc215(ie('a')).replace('</CAEXFile>', `<AttributeTypeLib Name="L"><AttributeType Name="T">${valueOf(VALUE_CONTENT)}</AttributeType></AttributeTypeLib></CAEXFile>`) },
  // The XML parser renames these (to `__toString`, ...) to protect its own objects: given back.
  { name: 'a 2.15 Value holding elements named like Object methods', kind: 'document', code: undefined, xml: () => doc215(ie('a', valueOf('<toString valueOf="1">a</toString> b <hasOwnProperty/><__toString/>'))) },
  { name: 'a 2.15 Value 128 XML levels deep (the limit)', kind: 'document', code: undefined, xml: () => doc215(ie('a', valueOf(nestedContent(123)))) },
  { name: 'a 2.15 Value with 10^5 elements', kind: 'document', code: undefined, xml: () => doc215(ie('a', valueOf('<x a="1">t</x>'.repeat(100_000)))) },
  { name: 'a fragment of 2,000 elements (the limit)', kind: 'fragment', code: undefined, xml: () => Array.from({ length: 2000 }, (_, i) => `<InternalElement Name="n" ID="f${i}"/>`).join('') },
  // Refused.
  { name: 'elements nested 5,000 deep', kind: 'document', code: 'AML_INVALID', xml: () => doc(nestedElements(5000)) },
  { name: 'elements nested 100,000 deep', kind: 'document', code: 'AML_INVALID', xml: () => doc(nestedElements(100_000)) },
  { name: 'attributes nested 5,000 deep', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a', nestedAttributes(5000))) },
  { name: 'a document 129 XML levels deep', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a', nestedAttributes(126))) },
  { name: 'a fragment nested 5,000 deep', kind: 'fragment', code: 'AML_INVALID', xml: () => nestedElements(5000) },
  // Deeper than this, a fragment is over its byte limit before its depth counts.
  { name: 'a fragment nested 100,000 deep', kind: 'fragment', code: 'TOO_LARGE', xml: () => nestedElements(100_000) },
  { name: 'a fragment 129 XML levels deep', kind: 'fragment', code: 'AML_INVALID', xml: () => ie('a', nestedAttributes(128)) },
  { name: 'a document with elements nested 65 deep', kind: 'document', code: 'TOO_LARGE', xml: () => doc(nestedElements(65)) },
  { name: 'a fragment with elements nested 65 deep', kind: 'fragment', code: 'TOO_LARGE', xml: () => nestedElements(65) },
  { name: 'a DOCTYPE (billion laughs)', kind: 'document', code: 'DOCTYPE_FORBIDDEN', xml: () => billionLaughs },
  { name: 'an external entity (XXE)', kind: 'document', code: 'DOCTYPE_FORBIDDEN', xml: () => `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${doc(ie('a'))}` },
  { name: 'a DOCTYPE after a comment', kind: 'document', code: 'DOCTYPE_FORBIDDEN', xml: () => `<!-- c --><!DOCTYPE x [<!ENTITY e "x">]>${doc(ie('a'))}` },
  { name: 'a DOCTYPE after a CDATA section', kind: 'document', code: 'DOCTYPE_FORBIDDEN', xml: () => doc(ie('a', '<Description><![CDATA[x]]></Description>')).replace('<InstanceHierarchy', '<!DOCTYPE x><InstanceHierarchy') },
  { name: 'a DOCTYPE behind an unterminated comment', kind: 'document', code: 'DOCTYPE_FORBIDDEN', xml: () => `<!-- <!DOCTYPE x [<!ENTITY e "x">]>${doc(ie('a'))}` },
  { name: 'an ENTITY declaration in a fragment', kind: 'fragment', code: 'DOCTYPE_FORBIDDEN', xml: () => `<!ENTITY e "x">${ie('a')}` },
  { name: 'an undefined entity', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a', '<Description>&e;</Description>')) },
  { name: 'a control character', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a', '<Description>\u0001</Description>')) },
  { name: 'a character reference to a non-XML character', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a', '<Description>&#0;</Description>')) },
  { name: 'a truncated document', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a')).slice(0, -20) },
  { name: 'a truncated fragment', kind: 'fragment', code: 'AML_INVALID', xml: () => '<InternalElement Name="a" ID="a"' },
  { name: 'not XML at all', kind: 'document', code: 'AML_INVALID', xml: () => 'hello, world' },
  { name: 'JSON', kind: 'fragment', code: 'AML_INVALID', xml: () => '{"InternalElement":{}}' },
  { name: 'a wrong root', kind: 'document', code: 'AML_INVALID', xml: () => '<Other SchemaVersion="3.0"/>' },
  { name: 'two roots', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a')) + doc(ie('b')) },
  { name: 'an unsupported schema version', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a')).replace('SchemaVersion="3.0"', 'SchemaVersion="9"') },
  { name: 'a prefix declared on the root and again inside', kind: 'document', code: 'AML_INVALID', xml: () => prefixed(doc(ie('a')), 'c').replace('<c:InternalElement ', '<c:InternalElement xmlns:c="urn:other" ') },
  { name: 'a prefix bound to no namespace', kind: 'document', code: 'AML_INVALID', xml: () => prefixed(doc(ie('a')), 'c').replace(' xmlns:c="http://www.dke.de/CAEX"', '') },
  { name: 'an unknown element', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a', '<Script/>')) },
  { name: 'a __proto__ element', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a', '<__proto__/>')) },
  { name: 'mixed content', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a', 'text<Attribute Name="x"/>')) },
  // Only a 2.15 Value or DefaultValue may hold elements or mixed content: 3.0 types them xs:string.
  { name: 'a 3.0 Value holding elements', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a', valueOf(VALUE_CONTENT))) },
  { name: 'a 3.0 Value with mixed content', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a', valueOf(MIXED_VALUE))) },
  { name: 'a 3.0 DefaultValue holding an element', kind: 'document', code: 'AML_INVALID', xml: () => doc(ie('a', valueOf('<x/>', 'DefaultValue'))) },
  { name: 'mixed content in 2.15 outside a Value', kind: 'document', code: 'AML_INVALID', xml: () => doc215(ie('a', 'text<Attribute Name="x"/>')) },
  { name: 'mixed content in a 2.15 AdditionalInformation', kind: 'document', code: 'AML_INVALID', xml: () => doc215(ie('a', '<AdditionalInformation><x>a<y/></x></AdditionalInformation>')) },
  { name: 'a 2.15 Description holding an element', kind: 'document', code: 'AML_INVALID', xml: () => doc215(ie('a', '<Description>a<b>c</b></Description>')) },
  // Inside a 2.15 Value the limits and refusals are those of everywhere else.
  { name: 'a 2.15 Value 129 XML levels deep', kind: 'document', code: 'AML_INVALID', xml: () => doc215(ie('a', valueOf(nestedContent(124)))) },
  { name: 'a 2.15 Value nested 100,000 deep', kind: 'document', code: 'AML_INVALID', xml: () => doc215(ie('a', valueOf(nestedContent(100_000)))) },
  { name: 'a 2.15 Value using an entity a DOCTYPE declares', kind: 'document', code: 'DOCTYPE_FORBIDDEN', xml: () => `<!DOCTYPE x [<!ENTITY e "&#38;e;&#38;e;">]>${doc215(ie('a', valueOf('<x>&e;</x>')))}` },
  { name: 'a 2.15 Value using an undefined entity', kind: 'document', code: 'AML_INVALID', xml: () => doc215(ie('a', valueOf('<x>a &lol; b<y/></x>'))) },
  { name: 'a 2.15 Value with a control character', kind: 'document', code: 'AML_INVALID', xml: () => doc215(ie('a', valueOf('<x>\u0001</x>'))) },
  { name: 'a 2.15 Value holding a __proto__ element', kind: 'document', code: 'AML_INVALID', xml: () => doc215(ie('a', valueOf('a<__proto__/>'))) },
  { name: 'a 2.15 Value that is not well-formed', kind: 'document', code: 'AML_INVALID', xml: () => doc215(ie('a', valueOf('<x><y></x></y>'))) },
  { name: 'a 2.15 Value over 8 MiB of text', kind: 'document', code: 'TOO_LARGE', xml: () => doc215(ie('a', valueOf(`<x>${'t'.repeat(8 * 1024 * 1024)}</x> and more`))) },
  { name: 'an element without ID', kind: 'fragment', code: 'AML_INVALID', xml: () => '<InternalElement Name="a"/>' },
  { name: 'an ID of 257 characters', kind: 'fragment', code: 'AML_INVALID', xml: () => ie('i'.repeat(257)) },
  { name: 'a fragment of Attributes', kind: 'fragment', code: 'AML_INVALID', xml: () => '<Attribute Name="a"/>' },
  { name: 'a fragment mixing elements and hierarchies', kind: 'fragment', code: 'AML_INVALID', xml: () => ie('a') + '<InstanceHierarchy Name="h"/>' },
  { name: 'an empty fragment', kind: 'fragment', code: 'AML_INVALID', xml: () => '<!-- nothing -->' },
  { name: 'a fragment naming the wrapper', kind: 'fragment', code: 'AML_INVALID', xml: () => '</TwinLedgerFragment><TwinLedgerFragment>' },
  { name: 'a duplicate ID', kind: 'document', code: 'DUPLICATE_ID', xml: () => doc(ie('a') + ie('a')) },
  { name: 'a duplicate ID in a fragment', kind: 'fragment', code: 'DUPLICATE_ID', xml: () => ie('a', ie('a')) },
  { name: 'a fragment of 2,001 elements', kind: 'fragment', code: 'TOO_LARGE', xml: () => Array.from({ length: 2001 }, (_, i) => `<InternalElement Name="n" ID="f${i}"/>`).join('') },
  { name: 'a document of 20,001 elements', kind: 'document', code: 'TOO_LARGE', xml: () => doc(Array.from({ length: 20_001 }, (_, i) => `<InternalElement Name="n" ID="e${i}"/>`).join('')) },
  { name: 'a document over 8 MiB of text', kind: 'document', code: 'TOO_LARGE', xml: () => doc(ie('a', `<Description>${'t'.repeat(8 * 1024 * 1024)}</Description>`)) },
  { name: 'a fragment over 512 KiB', kind: 'fragment', code: 'TOO_LARGE', xml: () => ie('a', `<Description>${'t'.repeat(512 * 1024)}</Description>`) },
];
