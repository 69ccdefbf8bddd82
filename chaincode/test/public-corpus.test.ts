import { readdirSync, readFileSync, statSync } from 'fs';
import { delimiter, join, relative, resolve } from 'path';
import { canonicalizeDocument } from '../src';
import { newWorld, who } from './support/world';

/**
 * Real AML files through createTwin and getSpecification: what a peer stores and serves is the
 * canonical form of the file. The files: packages/aas/test/fixtures/public (NOTICE.md there) and,
 * when `AML_CORPUS_DIR` names directories, every .aml/.xml file under them (an organization's own
 * files; one of those may be refused with a coded error, never otherwise). That the canonical
 * form says everything the file says is checked against a reference reader in
 * packages/aml/test/public-corpus.test.ts. Hand-written files of the kinds other tools write
 * (libraries only, AutomationML components) follow, as regressions of readers that refused them.
 */
const root = join(__dirname, '..', '..');
const outside = (process.env['AML_CORPUS_DIR'] ?? '').split(delimiter).filter((d) => d.trim() !== '').map((d) => resolve(d));

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : /\.(aml|xml)$/i.test(n) ? [join(dir, n)] : []));
}

const files = [
  ...walk(join(root, 'packages/aas/test/fixtures/public')).map((p) => [relative(root, p), p, false] as const),
  ...outside.flatMap(walk).map((p) => [p, p, true] as const),
];

/**
 * CAEX 2.15 types an Attribute's Value and DefaultValue as xs:anyType: element content (namespaces,
 * attributes) and mixed content, kept as written. The same content in 3.0 (xs:string) is refused.
 */
const VALUE_215 =
  '<CAEXFile FileName="Robot.aml" SchemaVersion="2.15" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
  '<InstanceHierarchy Name="Cell"><InternalElement Name="Robot" ID="r-1">' +
  '<Attribute Name="HomePose"><Value><k:Pose xmlns:k="urn:example:kin" k:frame="world"><k:J n="1">0.5</k:J><k:J n="2"/></k:Pose></Value></Attribute>' +
  '<Attribute Name="Note"><DefaultValue>none</DefaultValue><Value>Keep <b>clear</b> of the\u00a0fence, <i>always</i>. </Value></Attribute>' +
  '</InternalElement></InstanceHierarchy>' +
  '<SystemUnitClassLib Name="Units"><SystemUnitClass Name="Gripper"><Attribute Name="Doc"><Value>see <ref to="manual"/> p.<n>4</n></Value></Attribute></SystemUnitClass></SystemUnitClassLib>' +
  '</CAEXFile>';
const MIXED_NOTE = '<Value>Keep <b>clear</b> of the\u00a0fence, <i>always</i>. </Value>';
const FRAGMENT_215 = '<InternalElement Name="Tool" ID="t-1"><Attribute Name="Offset"><DefaultValue>x <v>1</v> y</DefaultValue></Attribute></InternalElement>';

/** Library and component files carry no InstanceHierarchy (CAEX allows it; 14 of 33 public files tried were such). */
const handWritten: readonly (readonly [string, string])[] = [
  [
    'CAEX 3.0 libraries only',
    '<?xml version="1.0" encoding="utf-8"?>\n<CAEXFile SchemaVersion="3.0" FileName="Libs.aml" xmlns="http://www.dke.de/CAEX" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
      '<SourceDocumentInformation OriginName="Some Editor" OriginID="x-1" OriginVersion="6.1" LastWritingDateTime="2026-01-01T00:00:00" />' +
      '<InterfaceClassLib Name="Ifaces"><Version>1.0</Version><InterfaceClass Name="Signal" RefBaseClassPath="AutomationMLInterfaceClassLib/AutomationMLBaseInterface"/></InterfaceClassLib>' +
      '<RoleClassLib Name="Roles"><RoleClass Name="Sensor" RefBaseClassPath="AutomationMLBaseRoleClassLib/AutomationMLBaseRole"><Attribute Name="Range" AttributeDataType="xs:double" Unit="mm"/></RoleClass></RoleClassLib>' +
      '<SystemUnitClassLib Name="Units"><SystemUnitClass Name="LevelSensor" ID="suc-1"><Attribute Name="Serial" AttributeDataType="xs:string"><Value>FLS\u00a0</Value></Attribute>' +
      '<ExternalInterface Name="Out" ID="ei-1" RefBaseClassPath="Ifaces/Signal"/><SupportedRoleClass RefRoleClassPath="Roles/Sensor"/></SystemUnitClass></SystemUnitClassLib>' +
      '</CAEXFile>',
  ],
  [
    'CAEX 2.15 component with a description mentioning <!DOCTYPE',
    '<CAEXFile FileName="Component.aml" SchemaVersion="2.15" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="CAEX_ClassModel_V2.15.xsd">' +
      '<AdditionalInformation AutomationMLVersion="2.0"/><!-- exported; not a <!DOCTYPE html> page -->' +
      '<SystemUnitClassLib Name="Component"><SystemUnitClass Name="Valve"><Description><![CDATA[<!DOCTYPE html><p>Datasheet</p>]]></Description>' +
      '<InternalElement Name="Body" ID="b-1"/></SystemUnitClass></SystemUnitClassLib></CAEXFile>',
  ],
  ['CAEX 2.15 values holding elements and mixed content', VALUE_215],
];

describe('CAEX 2.15 values with element content through createTwin, insertAML and the reads', () => {
  it('keeps them as written in what the ledger stores and serves', async () => {
    const w = newWorld();
    expect(await w.ledger.invoke(who.owner, w.spec, 'createTwin', 'robot', 'Robot', VALUE_215, '')).toMatchObject({ twinId: 'robot', schemaVersion: '2.15' });
    const spec = await w.ledger.invoke(who.outsider, w.spec, 'getSpecification', 'robot');
    expect(spec.aml).toBe(canonicalizeDocument(VALUE_215));
    expect(canonicalizeDocument(spec.aml)).toBe(spec.aml);
    expect(spec.aml).toContain(MIXED_NOTE);
    expect(spec.aml).toContain('<Value>see <ref to="manual"/> p.<n>4</n></Value>');
    expect(spec.aml).toContain('<k:Pose xmlns:k="urn:example:kin" k:frame="world">');
    const el = await w.ledger.invoke(who.owner, w.spec, 'getElement', 'robot', 'r-1');
    expect(el.aml).toContain(MIXED_NOTE);

    await w.ledger.invoke(who.owner, w.spec, 'insertAML', 'robot', FRAGMENT_215, 'r-1', '');
    expect((await w.ledger.invoke(who.owner, w.spec, 'getSpecification', 'robot')).aml).toContain('<DefaultValue>x <v>1</v> y</DefaultValue>');
  });

  it('takes no default for a program parameter from a DefaultValue holding elements', async () => {
    const w = newWorld();
    const program = (dflt: string) =>
      `<InternalElement Name="Jog" ID="p-1"><Attribute Name="mode" AttributeDataType="xs:string"><DefaultValue>${dflt}</DefaultValue></Attribute>` +
      '<RoleRequirements RefBaseRoleClassPath="TwinLedgerRoleClassLib/Program"/></InternalElement>';
    const twin = (dflt: string) => VALUE_215.replace('<InternalElement Name="Robot"', `${program(dflt)}<InternalElement Name="Robot"`);
    await expect(w.ledger.invoke(who.owner, w.spec, 'createTwin', 'robot', 'Robot', twin('slow <b>x</b>'), '')).rejects.toMatchObject({ code: 'AML_INVALID' });
    expect(await w.ledger.invoke(who.owner, w.spec, 'createTwin', 'robot', 'Robot', twin('slow'), '')).toMatchObject({ programs: [{ elementId: 'p-1', name: 'Jog' }] });
  });

  it('refuses them in CAEX 3.0, where a value is a string', async () => {
    const w = newWorld();
    const v30 = VALUE_215.replace('SchemaVersion="2.15"', 'SchemaVersion="3.0"');
    await expect(w.ledger.invoke(who.owner, w.spec, 'createTwin', 'robot', 'Robot', v30, '')).rejects.toMatchObject({ code: 'AML_INVALID' });
    const plain = v30.replace(/<Value>Keep.*?<\/Value>/, '<Value>Keep clear</Value>').replace(/<Value><k:Pose.*?<\/Value>/, '').replace(/<Value>see .*?<\/Value>/, '');
    expect(await w.ledger.invoke(who.owner, w.spec, 'createTwin', 'robot', 'Robot', plain, '')).toMatchObject({ schemaVersion: '3.0' });
    await expect(w.ledger.invoke(who.owner, w.spec, 'insertAML', 'robot', FRAGMENT_215, 'r-1', '')).rejects.toMatchObject({ code: 'AML_INVALID' });
  });
});

describe('createTwin with real public AML files', () => {
  it('has the corpus', () => {
    expect(files.filter(([, , ext]) => !ext).length).toBeGreaterThanOrEqual(3);
  });

  it.each(files)('%s', async (_name, path, external) => {
    const aml = readFileSync(path, 'utf8');
    const w = newWorld();
    const created = w.ledger.invoke(who.owner, w.spec, 'createTwin', 'corpus-twin', 'Corpus', aml, '');
    if (external) {
      const refused = await created.then(() => undefined, (e: unknown) => e as { code?: unknown });
      if (refused) {
        expect(typeof refused.code).toBe('string');
        return;
      }
    } else {
      expect(await created).toMatchObject({ twinId: 'corpus-twin', schemaVersion: expect.stringMatching(/^(3\.0|2\.15)$/) });
    }
    const spec = await w.ledger.invoke(who.outsider, w.spec, 'getSpecification', 'corpus-twin');
    expect(spec.aml).toBe(canonicalizeDocument(aml));
  });

  it.each(handWritten)('%s', async (_name, aml) => {
    const w = newWorld();
    expect(await w.ledger.invoke(who.owner, w.spec, 'createTwin', 'lib-twin', 'Library', aml, '')).toMatchObject({ twinId: 'lib-twin' });
    const spec = await w.ledger.invoke(who.outsider, w.spec, 'getSpecification', 'lib-twin');
    expect(spec.aml).toBe(canonicalizeDocument(aml));
    // A value's no-break space is content, not whitespace to trim.
    if (aml.includes('FLS\u00a0')) expect(spec.aml).toContain('<Value>FLS\u00a0</Value>');
  });
});
