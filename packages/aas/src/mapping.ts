import { readSpecificationTree, serializeAmlNode, type AmlNode } from '@twinledger/aml';
import { aas, type AssetAdministrationShell, type Environment, type Reference, type Submodel, type SubmodelElement } from './core.js';
import { createIdShortScope, sanitizeIdShort, type IdShortScope } from './id-short.js';
import { attachmentsSubmodelId, globalAssetId, shellId, submodelId } from './identifiers.js';

const T = aas.types;

/** A document of the twin as the ledger records it (DocumentRecord's fields the mapping reads). */
export interface TwinDocument {
  readonly hash: string;
  readonly title: string;
  readonly description?: string;
  readonly componentId?: string;
  readonly confidentiality: string;
  readonly txId: string;
  /** The newest version (the one served by default); absent: the original is the newest. */
  readonly latest?: { readonly version: number; readonly hash: string };
}

/** A sensor feed registered on a component (SensorFeed's fields the mapping reads). */
export interface TwinFeed {
  readonly componentId: string;
  readonly feedRef: string;
  readonly txId: string;
}

/** What one twin's shell is derived from: the ledger's state at one transaction. */
export interface TwinSource {
  readonly twinId: string;
  readonly deviceId: string;
  readonly deviceName: string;
  /** The specification (CAEX 3.0 or 2.15 XML; the chaincode's canonical form or any other). */
  readonly aml: string;
  /** The transaction the state was read at: the specification's revision, or an as-of read's last change. */
  readonly txId: string;
  /** That transaction's block, where the service knows it (its journal of relayed events). */
  readonly blockNumber?: number;
  /** Documents to list (only those the reader may read). */
  readonly documents?: readonly TwinDocument[];
  readonly feeds?: readonly TwinFeed[];
  /** Where a File element points: spec-service's verified download, or the document's part in an AASX. */
  readonly documentLink: (doc: TwinDocument) => string;
}

/** One twin as AAS: its shell and its submodels, in the shell's order. */
export interface AasTwin {
  readonly twinId: string;
  readonly shell: AssetAdministrationShell;
  readonly submodels: readonly Submodel[];
  readonly environment: Environment;
}

/** The AML role that makes an InternalElement a program (chaincode/README.md). */
export const PROGRAM_ROLE = 'TwinLedgerRoleClassLib/Program';
/** IDTA-02008 (Time Series Data) LinkedSegment: a segment whose records live elsewhere. */
export const LINKED_SEGMENT_SEMANTIC_ID = 'https://admin-shell.io/idta/TimeSeries/Segments/LinkedSegment/1/1';
/** The content type of a document: the ledger records none, the download serves octet-stream. */
export const DOCUMENT_CONTENT_TYPE = 'application/octet-stream';

/** LangStringTextType holds at most 1023 characters, NameType 128 (IDTA-01001). */
const MAX_TEXT = 1023;
const MAX_NAME = 128;

const local = (tag: string): string => tag.slice(tag.indexOf(':') + 1);
const childrenNamed = (n: AmlNode, name: string): AmlNode[] => n.children.filter((c) => local(c.tag) === name);
const textOf = (n: AmlNode | undefined): string | undefined => (n?.text !== undefined && n.text.trim() !== '' ? n.text : undefined);
const nonEmpty = <T>(xs: T[]): T[] | null => (xs.length > 0 ? xs : null);

/** An extension in the `aml:` (what the AML said) or `twinledger:` (where it came from) namespace. */
function ext(name: string, value: string, type = T.DataTypeDefXsd.String): InstanceType<typeof T.Extension> {
  return new T.Extension(name, null, null, type, value);
}

function globalRef(value: string): Reference {
  return new T.Reference(T.ReferenceTypes.ExternalReference, [new T.Key(T.KeyTypes.GlobalReference, value)]);
}

function describe(text: string | undefined): InstanceType<typeof T.LangStringTextType>[] | null {
  // The AML carries no language; English is assumed (documented in docs/aas.md).
  return text === undefined ? null : [new T.LangStringTextType('en', text.slice(0, MAX_TEXT))];
}

/** RoleRequirements (CAEX 3.0) or SupportedRoleClass paths: the first is the semanticId, the rest supplemental. */
function semantics(n: AmlNode): { semanticId: Reference | null; supplemental: Reference[] | null } {
  const paths = [
    ...childrenNamed(n, 'RoleRequirements').map((r) => r.attributes['RefBaseRoleClassPath']),
    ...childrenNamed(n, 'SupportedRoleClass').map((r) => r.attributes['RefRoleClassPath']),
  ]
    .filter((p): p is string => p !== undefined && p !== '' && p.length <= 2000);
  return { semanticId: paths[0] === undefined ? null : globalRef(paths[0]), supplemental: nonEmpty(paths.slice(1).map(globalRef)) };
}

const isDataReference = (n: AmlNode): boolean => (n.attributes['RefBaseClassPath'] ?? '').endsWith('ExternalDataReference');

const isProgram = (n: AmlNode): boolean => childrenNamed(n, 'RoleRequirements').some((r) => r.attributes['RefBaseRoleClassPath'] === PROGRAM_ROLE);

/** AML's AttributeDataType (`xs:double`, `xsd:double`, `double`) as the AAS value type; null when AAS has none. */
export function xsdTypeOf(dataType: string | undefined): number | null {
  if (dataType === undefined || dataType.trim() === '') return T.DataTypeDefXsd.String;
  const name = dataType.trim();
  return aas.stringification.dataTypeDefXsdFromString(`xs:${name.slice(name.indexOf(':') + 1)}`);
}

/** Names that the idShort does not keep are recorded as they were. */
function nameExtensions(name: string, idShort: string): InstanceType<typeof T.Extension>[] {
  return name === idShort ? [] : [ext('aml:Name', name)];
}

class Mapper {
  private readonly docsByComponent = new Map<string, TwinDocument[]>();
  private readonly feedByComponent = new Map<string, TwinFeed>();
  private readonly seenComponents = new Set<string>();

  constructor(private readonly src: TwinSource) {
    for (const d of src.documents ?? []) this.docsByComponent.set(d.componentId ?? '', [...(this.docsByComponent.get(d.componentId ?? '') ?? []), d]);
    for (const f of src.feeds ?? []) this.feedByComponent.set(f.componentId, f);
  }

  /** The provenance every shell and submodel carries. */
  provenance(): InstanceType<typeof T.Extension>[] {
    const out = [ext('twinledger:twinId', this.src.twinId), ext('twinledger:txId', this.src.txId)];
    if (this.src.blockNumber !== undefined) out.push(ext('twinledger:block', String(this.src.blockNumber), T.DataTypeDefXsd.NonNegativeInteger));
    return out;
  }

  /** An Attribute: a Property, or a collection when it has nested Attributes. */
  attribute(n: AmlNode, scope: IdShortScope): SubmodelElement {
    const name = n.attributes['Name'] ?? '';
    const idShort = scope.next(name);
    const description = describe(textOf(childrenNamed(n, 'Description')[0]));
    const valueNode = childrenNamed(n, 'Value')[0];
    // A CAEX 2.15 Value holding elements (xs:anyType) is no value of any AAS type: no value, and
    // the Value element as the specification holds it in the extension `aml:Value`.
    const structured = valueNode !== undefined && valueNode.children.length > 0 ? valueNode : undefined;
    const raw = structured ? undefined : valueNode?.text;
    const value = raw === '' ? undefined : raw;
    const nested = childrenNamed(n, 'Attribute');
    const extensions = nameExtensions(name, idShort);
    if (structured) extensions.push(ext('aml:Value', serializeAmlNode(structured)));
    const dataType = n.attributes['AttributeDataType'];
    let valueType = xsdTypeOf(dataType);
    if (valueType === null || (value !== undefined && !aas.verification.valueConsistentWithXsdType(value, valueType))) {
      // A type AAS does not know, or a value not of its type: kept as text, the AML type recorded.
      extensions.push(ext('aml:AttributeDataType', dataType ?? ''));
      valueType = T.DataTypeDefXsd.String;
    }
    const qualifiers = this.qualifiers(n, valueType);
    if (nested.length > 0) {
      const inner = createIdShortScope();
      // The attribute's own value first, under `Value` (a nested attribute of that name then gets `Value_2`).
      const own = value === undefined ? [] : [new T.Property(valueType, null, null, inner.next('Value'), null, null, null, null, null, null, value)];
      const elements = [...own, ...nested.map((c) => this.attribute(c, inner))];
      return new T.SubmodelElementCollection(nonEmpty(extensions), null, idShort, null, description, null, null, nonEmpty(qualifiers), null, elements);
    }
    return new T.Property(valueType, nonEmpty(extensions), null, idShort, null, description, null, null, nonEmpty(qualifiers), null, value ?? null);
  }

  /**
   * The unit (decision, docs/aas.md): a ConceptQualifier of type `AML:Unit` holding AML's Unit
   * text, because AML units are free text and an IEC 61360 data specification would need a
   * concept description per attribute. An ordinal constraint's bounds become `AML:RequiredMinValue`,
   * `AML:RequiredMaxValue` and `AML:RequiredValue` qualifiers of the attribute's type.
   */
  qualifiers(n: AmlNode, valueType: number): InstanceType<typeof T.Qualifier>[] {
    const out: InstanceType<typeof T.Qualifier>[] = [];
    const seen = new Set<string>();
    const add = (type: string, value: string, vt: number): void => {
      if (seen.has(type)) return;
      const consistent = aas.verification.valueConsistentWithXsdType(value, vt);
      seen.add(type);
      out.push(new T.Qualifier(type, consistent ? vt : T.DataTypeDefXsd.String, null, null, T.QualifierKind.ConceptQualifier, value));
    };
    const unit = n.attributes['Unit'];
    if (unit !== undefined && unit !== '') add('AML:Unit', unit, T.DataTypeDefXsd.String);
    for (const c of childrenNamed(n, 'Constraint')) {
      for (const o of childrenNamed(c, 'OrdinalScaledType')) {
        for (const bound of ['RequiredMinValue', 'RequiredMaxValue', 'RequiredValue']) {
          const v = textOf(childrenNamed(o, bound)[0]);
          if (v !== undefined) add(`AML:${bound}`, v.trim(), valueType);
        }
      }
    }
    return out;
  }

  /** What an InternalElement (a submodel or a collection) holds, in document order, then its documents and feed. */
  content(n: AmlNode): SubmodelElement[] {
    const scope = createIdShortScope();
    const out: SubmodelElement[] = [];
    for (const c of n.children) {
      const tag = local(c.tag);
      if (tag === 'Attribute') out.push(this.attribute(c, scope));
      else if (tag === 'InternalElement') out.push(isProgram(c) ? this.program(c, scope) : this.component(c, scope));
      else if (tag === 'ExternalInterface' && isDataReference(c)) out.push(this.dataReference(c, scope));
    }
    const id = n.attributes['ID'];
    if (id !== undefined) {
      this.seenComponents.add(id);
      out.push(...this.attachments(id, scope));
    }
    return out;
  }

  attachments(componentId: string, scope: IdShortScope): SubmodelElement[] {
    const out: SubmodelElement[] = (this.docsByComponent.get(componentId) ?? []).map((d) => this.document(d, scope));
    const feed = this.feedByComponent.get(componentId);
    if (feed) out.push(this.feed(feed, scope));
    return out;
  }

  identity(n: AmlNode, idShort: string): InstanceType<typeof T.Extension>[] {
    const name = n.attributes['Name'] ?? '';
    const id = n.attributes['ID'];
    return [...(id === undefined || id === '' ? [] : [ext('aml:ID', id)]), ...nameExtensions(name, idShort)];
  }

  component(n: AmlNode, scope: IdShortScope): SubmodelElement {
    const idShort = scope.next(n.attributes['Name'] ?? '');
    const { semanticId, supplemental } = semantics(n);
    const description = describe(textOf(childrenNamed(n, 'Description')[0]));
    return new T.SubmodelElementCollection(this.identity(n, idShort), null, idShort, null, description, semanticId, supplemental, null, null, nonEmpty(this.content(n)));
  }

  /** A program: an Operation whose input variables are its parameters. Read-only: nothing here invokes it. */
  program(n: AmlNode, scope: IdShortScope): SubmodelElement {
    const idShort = scope.next(n.attributes['Name'] ?? '');
    const description = describe(textOf(childrenNamed(n, 'Description')[0]));
    // AASd-134: the variables of one operation share one namespace.
    const vars = createIdShortScope();
    const inputs = childrenNamed(n, 'Attribute').map((a) => new T.OperationVariable(this.attribute(a, vars)));
    const id = n.attributes['ID'];
    if (id !== undefined) this.seenComponents.add(id);
    return new T.Operation(this.identity(n, idShort), null, idShort, null, description, globalRef(PROGRAM_ROLE), null, null, null, nonEmpty(inputs));
  }

  /**
   * AML's own document link (an ExternalDataReference interface, AutomationML BPR: `refURI` and
   * `MIMEType` attributes) as a File element pointing where the AML points. A refURI that is not
   * a URI reference, or a MIME type that is not one, is recorded in an extension instead.
   */
  dataReference(n: AmlNode, scope: IdShortScope): SubmodelElement {
    const idShort = scope.next(n.attributes['Name'] ?? 'ExternalDataReference');
    const attr = (name: string): string | undefined => childrenNamed(n, 'Attribute').find((a) => a.attributes['Name'] === name)?.children.find((c) => local(c.tag) === 'Value')?.text;
    const uri = attr('refURI');
    const mime = attr('MIMEType');
    const extensions = this.identity(n, idShort);
    const okUri = uri !== undefined && uri !== '' && uri.length <= 2000 && aas.verification.matchesRfc2396(uri);
    if (uri !== undefined && uri !== '' && !okUri) extensions.push(ext('aml:refURI', uri));
    const okMime = mime !== undefined && mime.length <= 100 && aas.verification.matchesMimeType(mime);
    if (mime !== undefined && mime !== '' && !okMime) extensions.push(ext('aml:MIMEType', mime));
    const ref = n.attributes['RefBaseClassPath'];
    return new T.File(okMime ? mime : DOCUMENT_CONTENT_TYPE, nonEmpty(extensions), null, idShort, null, null, ref ? globalRef(ref.slice(0, 2000)) : null, null, null, null, okUri ? uri : null);
  }

  document(d: TwinDocument, scope: IdShortScope): SubmodelElement {
    const idShort = scope.next(d.title);
    const extensions = [
      ext('twinledger:sha256', d.latest?.hash ?? d.hash),
      ext('twinledger:originalSha256', d.hash),
      ext('twinledger:confidentiality', d.confidentiality),
      ext('twinledger:txId', d.txId),
      ...(d.title === idShort ? [] : [ext('twinledger:title', d.title)]),
    ];
    return new T.File(DOCUMENT_CONTENT_TYPE, extensions, null, idShort, null, describe(d.description === '' ? undefined : d.description), null, null, null, null, this.src.documentLink(d));
  }

  /**
   * A feed as an IDTA-02008 LinkedSegment: its records are not copied into the shell, the
   * segment names where they are (the feed reference feed-ingest and the DHT serve).
   */
  feed(f: TwinFeed, scope: IdShortScope): SubmodelElement {
    const idShort = scope.next('SensorFeed');
    const endpoint = new T.Property(T.DataTypeDefXsd.String, null, null, 'Endpoint', null, null, null, null, null, null, f.feedRef);
    return new T.SubmodelElementCollection([ext('twinledger:txId', f.txId)], null, idShort, null, null, globalRef(LINKED_SEGMENT_SEMANTIC_ID), null, null, null, [endpoint]);
  }

  submodel(n: AmlNode, idShort: string): Submodel {
    const { semanticId, supplemental } = semantics(n);
    const description = describe(textOf(childrenNamed(n, 'Description')[0]));
    return new T.Submodel(
      submodelId(this.src.twinId, n.attributes['ID'] ?? ''),
      [...this.provenance(), ...this.identity(n, idShort)],
      null,
      idShort,
      null,
      description,
      null,
      T.ModellingKind.Instance,
      semanticId,
      supplemental,
      null,
      null,
      nonEmpty(isProgram(n) ? [this.program(n, createIdShortScope())] : this.content(n)),
    );
  }

  /** Documents and feeds whose component is not in the specification (or that name none). */
  unattached(scope: IdShortScope): Submodel | undefined {
    const inner = createIdShortScope();
    const elements: SubmodelElement[] = [];
    for (const key of this.docsByComponent.keys()) if (!this.seenComponents.has(key)) elements.push(...(this.docsByComponent.get(key) ?? []).map((d) => this.document(d, inner)));
    for (const [key, f] of this.feedByComponent) if (!this.seenComponents.has(key)) elements.push(this.feed(f, inner));
    if (elements.length === 0) return undefined;
    return new T.Submodel(attachmentsSubmodelId(this.src.twinId), this.provenance(), null, scope.next('Attachments'), null, describe('Documents and sensor feeds of the twin attached to no component of its specification'), null, T.ModellingKind.Instance, null, null, null, null, elements);
  }
}

/** The top-level components: the InternalElements directly under an InstanceHierarchy, in document order. */
function topLevel(tree: AmlNode): AmlNode[] {
  return childrenNamed(tree, 'InstanceHierarchy').flatMap((ih) => childrenNamed(ih, 'InternalElement'));
}

/**
 * The twin as an AAS V3.0 environment (docs/aas.md): one shell, a submodel per top-level
 * component, collections for nested components, properties for attributes, File elements for
 * documents, LinkedSegments for feeds, Operations for programs. Deterministic: the same source
 * gives the same environment. Throws the AML reader's errors for a specification it refuses.
 */
export function mapTwin(src: TwinSource): AasTwin {
  const tree = readSpecificationTree(src.aml);
  const m = new Mapper(src);
  const names = createIdShortScope();
  const roots = topLevel(tree);
  const submodels = roots.map((n) => m.submodel(n, names.next(n.attributes['Name'] ?? '')));
  const rest = m.unattached(names);
  if (rest) submodels.push(rest);
  const root = roots[0];
  const specificAssetIds = [new T.SpecificAssetId('deviceId', src.deviceId)];
  if (root?.attributes['ID']) specificAssetIds.push(new T.SpecificAssetId('amlRootElementId', root.attributes['ID'].slice(0, 2000)));
  const assetType = root?.attributes['RefBaseSystemUnitPath'];
  const assetInformation = new T.AssetInformation(T.AssetKind.Instance, globalAssetId(src.deviceId), specificAssetIds, assetType !== undefined && assetType !== '' ? assetType.slice(0, 2000) : null);
  const shellIdShort = sanitizeIdShort(src.deviceName || src.twinId);
  const shell = new T.AssetAdministrationShell(
    shellId(src.twinId),
    assetInformation,
    [...m.provenance(), ...nameExtensions(src.deviceName, shellIdShort)],
    null,
    shellIdShort,
    src.deviceName.trim() === '' ? null : [new T.LangStringNameType('en', src.deviceName.slice(0, MAX_NAME))],
    describe(textOf(root ? childrenNamed(root, 'Description')[0] : undefined)),
    null,
    null,
    null,
    nonEmpty(submodels.map((s) => new T.Reference(T.ReferenceTypes.ModelReference, [new T.Key(T.KeyTypes.Submodel, s.id)]))),
  );
  return { twinId: src.twinId, shell, submodels, environment: new T.Environment([shell], nonEmpty(submodels), null) };
}
