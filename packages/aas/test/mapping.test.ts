import { describe, expect, it } from '@jest/globals';
import { readAmlDocument } from '@twinledger/aml';
import { aas, environmentFromJson, findElement, LINKED_SEGMENT_SEMANTIC_ID, mapTwin, PROGRAM_ROLE, toJson, valueOnly, verificationErrors, type AasTwin, type Submodel } from '../src/index.js';
import { BOTTLING, bottlingSource, instantiate, PUBLIC_FILES, publicAml, TX } from './support.js';

const T = aas.types;

/** Every environment the mapping makes passes the library's verification, also after a JSON round trip. */
function expectValid(t: AasTwin): void {
  expect(verificationErrors(t.environment)).toEqual([]);
  const back = environmentFromJson(JSON.parse(JSON.stringify(toJson(t.environment))));
  expect(verificationErrors(back)).toEqual([]);
  expect(toJson(back)).toEqual(toJson(t.environment));
}

const extensions = (x: { extensions: InstanceType<typeof T.Extension>[] | null }): Record<string, string | null> =>
  Object.fromEntries((x.extensions ?? []).map((e) => [e.name, e.value]));

const el = (sm: Submodel, path: string) => {
  const e = findElement(sm, path.split('.'));
  if (!e) throw new Error(`no element ${path}`);
  return e;
};

describe('AML → AAS mapping: the bottling plant', () => {
  const twin = mapTwin(bottlingSource());
  const plant = twin.submodels[0]!;

  it('passes the AAS library verification with zero errors', () => expectValid(twin));

  it('makes one shell with stable identifiers, the device as the asset and the ledger provenance', () => {
    expect(twin.shell.id).toBe('urn:twinledger:plant-1');
    expect(twin.shell.idShort).toBe('Bottling_plant');
    expect(twin.shell.displayName?.[0]?.text).toBe('Bottling plant');
    expect(twin.shell.assetInformation.assetKind).toBe(T.AssetKind.Instance);
    expect(twin.shell.assetInformation.globalAssetId).toBe('urn:twinledger:device:plant-1');
    expect(twin.shell.assetInformation.specificAssetIds?.map((s) => [s.name, s.value])).toEqual([['deviceId', 'plant-1'], ['amlRootElementId', 'plant-1']]);
    expect(extensions(twin.shell)).toMatchObject({ 'twinledger:txId': TX, 'twinledger:block': '42', 'twinledger:twinId': 'plant-1', 'aml:Name': 'Bottling plant' });
    expect(twin.shell.submodels?.map((r) => r.keys[0]!.value)).toEqual(twin.submodels.map((s) => s.id));
    for (const sm of twin.submodels) expect(extensions(sm)).toMatchObject({ 'twinledger:txId': TX, 'twinledger:block': '42' });
  });

  it('makes a submodel per top-level component and collections for nested ones, keeping the AML ID', () => {
    expect(plant.id).toBe('urn:twinledger:plant-1/submodels/plant-1');
    expect(plant.idShort).toBe('Plant');
    expect(extensions(plant)['aml:ID']).toBe('plant-1');
    expect(plant.description?.[0]?.text).toBe('Bottling plant: filler, conveyor and valves');
    const filler = el(plant, 'Filler');
    expect(filler).toBeInstanceOf(T.SubmodelElementCollection);
    expect(extensions(filler as InstanceType<typeof T.SubmodelElementCollection>)['aml:ID']).toBe('filler-1');
    expect(filler.semanticId?.keys[0]?.value).toBe('AutomationMLBaseRoleClassLib/AutomationMLBaseRole/Resource');
    expect(el(plant, 'Filler.FillLevelSensor.ExpectedMax')).toBeInstanceOf(T.Property);
  });

  it('maps attributes to typed properties with the unit as an AML:Unit qualifier', () => {
    const p = el(plant, 'Filler.NominalThroughput') as InstanceType<typeof T.Property>;
    expect([p.valueType, p.value]).toEqual([T.DataTypeDefXsd.Double, '12000']);
    expect(p.qualifiers?.map((q) => [q.type, q.value, q.kind])).toEqual([['AML:Unit', 'bottles/h', T.QualifierKind.ConceptQualifier]]);
    const open = el(plant, 'InletValve.Open') as InstanceType<typeof T.Property>;
    expect([open.valueType, open.value]).toEqual([T.DataTypeDefXsd.Boolean, 'false']);
    expect((el(plant, 'SerialNumber') as InstanceType<typeof T.Property>).valueType).toBe(T.DataTypeDefXsd.String);
    expect(valueOnly(el(plant, 'Filler.FillLevelSensor'))).toMatchObject({ ExpectedMin: 180, ExpectedMax: 195, Unit: 'mm' });
  });

  it('maps programs to read-only Operations whose inputs are their parameters, with constraints as qualifiers', () => {
    const op = el(plant, 'Conveyor.SetConveyorSpeed') as InstanceType<typeof T.Operation>;
    expect(op).toBeInstanceOf(T.Operation);
    expect(op.semanticId?.keys[0]?.value).toBe(PROGRAM_ROLE);
    expect(op.description?.[0]?.text).toBe('Sets the conveyor belt speed');
    const speed = op.inputVariables?.[0]?.value as InstanceType<typeof T.Property>;
    expect([speed.idShort, speed.valueType, speed.value]).toEqual(['speed', T.DataTypeDefXsd.Double, null]);
    expect(Object.fromEntries((speed.qualifiers ?? []).map((q) => [q.type, q.value]))).toEqual({ 'AML:Unit': 'm/s', 'AML:RequiredMaxValue': '2.5', 'AML:RequiredMinValue': '0' });
    expect(op.outputVariables).toBeNull();
    // Two programs named SetValve live in different components: both keep their name.
    expect(el(plant, 'InletValve.SetValve')).toBeInstanceOf(T.Operation);
    expect(el(plant, 'OutletValve.SetValve')).toBeInstanceOf(T.Operation);
  });

  it('maps documents to File elements pointing at the verified download, on their component', () => {
    const f = el(plant, 'Filler.Filler_manual__EN_') as InstanceType<typeof T.File>;
    expect(f).toBeInstanceOf(T.File);
    expect(f.value).toBe(`/twins/plant-1/documents/${'1'.repeat(64)}/content`);
    expect(f.description?.[0]?.text).toBe('Operating manual');
    expect(extensions(f)).toMatchObject({ 'twinledger:sha256': '1'.repeat(64), 'twinledger:confidentiality': 'public', 'twinledger:title': 'Filler manual (EN)', 'twinledger:txId': 'd1' });
    // The newest version's hash, the original's in its own extension.
    expect(extensions(el(plant, 'Plant_layout') as InstanceType<typeof T.File>)).toMatchObject({ 'twinledger:sha256': '3'.repeat(64), 'twinledger:originalSha256': '2'.repeat(64) });
  });

  it('maps a feed to a LinkedSegment collection on its component', () => {
    const feed = el(plant, 'Filler.FlowSensor.SensorFeed') as InstanceType<typeof T.SubmodelElementCollection>;
    expect(feed.semanticId?.keys[0]?.value).toBe(LINKED_SEGMENT_SEMANTIC_ID);
    expect(valueOnly(feed)).toEqual({ Endpoint: 'feed-flow-1' });
  });

  it('puts what is attached to no component in an Attachments submodel', () => {
    const rest = twin.submodels[1]!;
    expect([rest.id, rest.idShort]).toEqual(['urn:twinledger:plant-1/attachments', 'Attachments']);
    expect(rest.submodelElements?.map((e) => e.idShort)).toEqual(['Certificate', 'SensorFeed']);
    expect(mapTwin(bottlingSource({ documents: [], feeds: [] })).submodels).toHaveLength(1);
  });

  it('is deterministic', () => {
    expect(JSON.stringify(toJson(mapTwin(bottlingSource()).environment))).toBe(JSON.stringify(toJson(twin.environment)));
  });

  it('omits the block when the service does not know it', () => {
    const t = mapTwin(bottlingSource({ blockNumber: undefined }));
    expect(extensions(t.shell)['twinledger:block']).toBeUndefined();
    expectValid(t);
  });
});

describe('AML → AAS mapping: public AutomationML files', () => {
  it.each(PUBLIC_FILES)('%s, instantiated as a twin, maps to an environment with zero verification errors', (file) => {
    const aml = instantiate(publicAml(file));
    // A specification the ledger's own rules accept.
    expect(readAmlDocument(aml).schemaVersion).toBe('3.0');
    const t = mapTwin({ twinId: 'public-1', deviceId: 'public-1', deviceName: file, aml, txId: TX, documentLink: () => '/x' });
    expectValid(t);
    expect(t.submodels).toHaveLength(1);
    expect(t.shell.assetInformation.assetType).toMatch(/^TestSystemUnitClassLib\//);
    expect(t.submodels[0]!.semanticId?.keys[0]?.value).toBe('AutomationMLComponentStandardRCL/AutomationComponent');
  });

  it('keeps structured attributes as collections (IdentificationData)', () => {
    const t = mapTwin({ twinId: 'p', deviceId: 'p', deviceName: 'p', aml: instantiate(publicAml('minimal_IdentificationData.aml')), txId: TX, documentLink: () => '/x' });
    expect(valueOnly(el(t.submodels[0]!, 'IdentificationData'))).toEqual({ Manufacturer: 'TestManufacturer', ManufacturerURI: 'http://www.example.com/manufacturerURI', Model: 'TestModel' });
  });

  it('maps ExternalDataReference interfaces to File elements with their MIME type and URI', () => {
    const t = mapTwin({ twinId: 'p', deviceId: 'p', deviceName: 'p', aml: instantiate(publicAml('minimal_AutomationMLComponent_WithDocuments.aml')), txId: TX, documentLink: () => '/x' });
    const f = el(t.submodels[0]!, 'TestOtherFilesCollection.TestOnlinePDFFile.ExternalDataReference') as InstanceType<typeof T.File>;
    expect([f.contentType, f.value]).toEqual(['application/pdf', '/files/TestPDFDeviceManual.pdf']);
  });

  it('maps the uninstantiated files (no InstanceHierarchy) to a shell without submodels', () => {
    for (const file of PUBLIC_FILES) {
      const t = mapTwin({ twinId: 'p', deviceId: 'p', deviceName: 'p', aml: publicAml(file), txId: TX, documentLink: () => '/x' });
      expect(t.submodels).toHaveLength(0);
      expectValid(t);
    }
  });
});

describe('AML → AAS mapping: what AAS does not allow as is', () => {
  const doc = (inner: string): string =>
    `<?xml version="1.0" encoding="UTF-8"?><CAEXFile SchemaVersion="3.0" FileName="t.aml"><InstanceHierarchy Name="IH" ID="ih"><InternalElement Name="Root" ID="root">${inner}</InternalElement></InstanceHierarchy></CAEXFile>`;
  const map = (inner: string) => mapTwin({ twinId: 't', deviceId: 't', deviceName: '1 device', aml: doc(inner), txId: TX, documentLink: () => '/x' });

  it('keeps a value that is not of its AML type as text, recording the type', () => {
    const t = map('<Attribute Name="Speed" AttributeDataType="xs:double"><Value>fast</Value></Attribute><Attribute Name="N" AttributeDataType="xs:unknownType"><Value>1</Value></Attribute><Attribute Name="I" AttributeDataType="xsd:int"><Value>7</Value></Attribute>');
    expectValid(t);
    const speed = el(t.submodels[0]!, 'Speed') as InstanceType<typeof T.Property>;
    expect([speed.valueType, speed.value, extensions(speed)['aml:AttributeDataType']]).toEqual([T.DataTypeDefXsd.String, 'fast', 'xs:double']);
    expect((el(t.submodels[0]!, 'N') as InstanceType<typeof T.Property>).valueType).toBe(T.DataTypeDefXsd.String);
    expect((el(t.submodels[0]!, 'I') as InstanceType<typeof T.Property>).valueType).toBe(T.DataTypeDefXsd.Int);
  });

  it('sanitizes names into unique idShorts and records the AML names', () => {
    const t = map(
      '<Attribute Name="a b"/><Attribute Name="a_b"/><Attribute Name="A-B"/><Attribute Name="9lives"/><Attribute Name=""/><Attribute Name="Ventil ö"/>' +
        '<InternalElement Name="a b" ID="x1"/><InternalElement Name="a b" ID="x2"/>',
    );
    expectValid(t);
    const sm = t.submodels[0]!;
    expect(sm.submodelElements?.map((e) => e.idShort)).toEqual(['a_b', 'a_b_2', 'A_B_3', 'X9lives', 'X', 'Ventil__', 'a_b_4', 'a_b_5']);
    expect(extensions(el(sm, 'a_b_4') as InstanceType<typeof T.SubmodelElementCollection>)).toEqual({ 'aml:ID': 'x1', 'aml:Name': 'a b' });
    expect(extensions(el(sm, 'Ventil__') as InstanceType<typeof T.Property>)).toEqual({ 'aml:Name': 'Ventil ö' });
    expect(t.shell.idShort).toBe('X1_device');
  });

  it('truncates descriptions and names to the lengths AAS allows', () => {
    const long = 'x'.repeat(5000);
    const t = map(`<Description>${long}</Description><Attribute Name="${long}"><Description>${long}</Description></Attribute>`);
    expectValid(t);
    expect(t.submodels[0]!.description?.[0]?.text).toHaveLength(1023);
    expect(t.submodels[0]!.submodelElements?.[0]?.idShort).toHaveLength(128);
  });

  it('maps a value and nested attributes of one attribute into a collection', () => {
    const t = map('<Attribute Name="Pos" AttributeDataType="xs:string"><Value>home</Value><Attribute Name="X" AttributeDataType="xs:double" Unit="mm"><Value>1.5</Value></Attribute><Attribute Name="Value"/></Attribute>');
    expectValid(t);
    expect(valueOnly(el(t.submodels[0]!, 'Pos'))).toEqual({ Value: 'home', X: 1.5, Value_2: null });
  });

  it('keeps a CAEX 2.15 value held as element content in aml:Value, giving the Property no value', () => {
    const content = '<Value>up to <b unit="mm">5</b> when <i>idle</i></Value>';
    const t = mapTwin({ twinId: 't', deviceId: 't', deviceName: 'd', aml: doc(`<Attribute Name="Stroke" AttributeDataType="xs:double">${content}</Attribute><Attribute Name="Pose"><Value><p:Pose xmlns:p="urn:x"><p:X>1</p:X></p:Pose></Value><Attribute Name="Z"><Value>2</Value></Attribute></Attribute>`).replace('SchemaVersion="3.0"', 'SchemaVersion="2.15"'), txId: TX, documentLink: () => '/x' });
    expectValid(t);
    const stroke = el(t.submodels[0]!, 'Stroke') as InstanceType<typeof T.Property>;
    expect([stroke.valueType, stroke.value, extensions(stroke)['aml:Value']]).toEqual([T.DataTypeDefXsd.Double, null, content]);
    // With nested Attributes: the collection carries it, and there is no own Property `Value`.
    const pose = el(t.submodels[0]!, 'Pose');
    expect(extensions(pose as never)['aml:Value']).toBe('<Value>\n  <p:Pose xmlns:p="urn:x">\n    <p:X>1</p:X>\n  </p:Pose>\n</Value>');
    expect(valueOnly(pose)).toEqual({ Z: '2' });
  });

  it('answers the AML reader\'s refusal for a specification it refuses', () => {
    expect(() => mapTwin({ twinId: 't', deviceId: 't', deviceName: 't', aml: '<!DOCTYPE x><CAEXFile/>', txId: TX, documentLink: () => '/x' })).toThrow(expect.objectContaining({ code: 'DOCTYPE_FORBIDDEN' }));
  });

  it('is the bottling plant the chaincode fixture holds', () => expect(BOTTLING).toContain('TwinLedgerRoleClassLib/Program'));
});
