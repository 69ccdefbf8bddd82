import { createHash } from 'node:crypto';
import { nodeIdOf, readAmlDocument, readAmlFragment, type SchemaVersion } from './caex.js';
import { AmlTooLargeError } from './errors.js';
import { AmlLimits } from './limits.js';
import { serializeXml, XML_DECLARATION, type XmlElement } from './xml.js';

/*
 * Cutting a CAEX document into the pieces of the chaincode's chunked creation (ADR-14):
 * a skeleton (the document with every InstanceHierarchy emptied of InternalElements) and
 * chunks of whole InternalElements under one parent, each within the fragment limits. A node
 * too large for one chunk goes alone with its own content, and its children follow in chunks
 * of their own (recursively). Chunks come in document order, and a chunk's parent is always in
 * the skeleton or an earlier chunk (`after`), so appending them in index order always works;
 * chunks whose `after` is already staged may go concurrently (the ledger orders siblings by
 * chunk index, not by arrival).
 */

export interface AmlChunk {
  /** 1-based; the chaincode's chunk index. */
  readonly index: number;
  /** The element (or InstanceHierarchy) the chunk's InternalElements go under. */
  readonly parentId: string;
  /** One or more whole InternalElements, canonical XML. */
  readonly aml: string;
  readonly bytes: number;
  /** InternalElements in the chunk, nested ones included. */
  readonly elementCount: number;
  /** The chunk that creates `parentId` (0 = the skeleton): it must be staged first. */
  readonly after: number;
  /** chunkHash(parentId, aml), as the chaincode computes it. */
  readonly sha256: string;
}

export interface AmlSplit {
  readonly schemaVersion: SchemaVersion;
  /** A whole CAEX document: header, libraries, InstanceHierarchies without InternalElements. */
  readonly skeleton: string;
  readonly chunks: readonly AmlChunk[];
  /** creationDigest: what beginTwinCreation announces, checked at the seal. */
  readonly digest: string;
  /** InternalElements in the document. */
  readonly elementCount: number;
}

export interface SplitOptions {
  /** Largest chunk in UTF-8 bytes (default 128 KiB; at most MAX_FRAGMENT_BYTES; a single element may exceed it up to that limit). */
  readonly maxChunkBytes?: number;
  /** Most InternalElements per chunk (default and maximum MAX_ELEMENTS_PER_FRAGMENT). */
  readonly maxChunkElements?: number;
}

export const DEFAULT_CHUNK_BYTES = 128 * 1024;

/** What the creator hashes per piece: parent ID, newline, AML (the skeleton: parent ''). */
export function chunkHash(parentId: string, aml: string): string {
  return createHash('sha256').update(`${parentId}\n${aml}`, 'utf8').digest('hex');
}

/** SHA-256 of the piece hashes (skeleton first) joined by newlines. */
export function creationDigest(hashes: readonly string[]): string {
  return createHash('sha256').update(hashes.join('\n'), 'utf8').digest('hex');
}

const isNode = (el: XmlElement): boolean => el.name === 'InternalElement';
const withoutNodes = (el: XmlElement): XmlElement => ({ ...el, children: el.children.filter((c) => !isNode(c)) });

/** An InternalElement and those nested in it: its InternalElement children, not what a Value or an AdditionalInformation holds. */
function countNodes(el: XmlElement): number {
  let n = 1;
  for (const c of el.children) if (isNode(c)) n += countNodes(c);
  return n;
}

/**
 * Splits a document (validated first with the chaincode's rules: what is refused here the
 * ledger would refuse) into a skeleton and chunks. A single InternalElement whose own content
 * (without nested InternalElements) exceeds `maxChunkBytes` makes a chunk of its own up to the
 * fragment limit; beyond that it throws AmlTooLargeError (such a document can only be created
 * in one transaction).
 */
export function splitAmlDocument(xml: string, opts: SplitOptions = {}): AmlSplit {
  const maxBytes = Math.min(opts.maxChunkBytes ?? DEFAULT_CHUNK_BYTES, AmlLimits.MAX_FRAGMENT_BYTES);
  const maxElements = Math.min(opts.maxChunkElements ?? AmlLimits.MAX_ELEMENTS_PER_FRAGMENT, AmlLimits.MAX_ELEMENTS_PER_FRAGMENT);
  const doc = readAmlDocument(xml);
  const chunks: AmlChunk[] = [];
  const emit = (parentId: string, after: number, texts: readonly string[], count: number): void => {
    const aml = texts.join('\n');
    chunks.push({ index: chunks.length + 1, parentId, aml, bytes: Buffer.byteLength(aml, 'utf8'), elementCount: count, after, sha256: chunkHash(parentId, aml) });
  };
  /** The InternalElements under one parent, in document order. */
  const place = (parentId: string, after: number, nodes: readonly XmlElement[]): void => {
    let texts: string[] = [];
    let bytes = 0;
    let count = 0;
    const flush = (): void => {
      if (texts.length > 0) emit(parentId, after, texts, count);
      texts = [];
      bytes = 0;
      count = 0;
    };
    for (const n of nodes) {
      const text = serializeXml(n);
      const size = Buffer.byteLength(text, 'utf8') + 1;
      const elements = countNodes(n);
      if (size <= maxBytes && elements <= maxElements) {
        if (bytes + size > maxBytes || count + elements > maxElements) flush();
        texts.push(text);
        bytes += size;
        count += elements;
        continue;
      }
      // Too large as a whole: the node with its own content, then its children under it.
      flush();
      const own = serializeXml(withoutNodes(n));
      // One element alone may fill a chunk up to the fragment limit; beyond it no chunk holds it.
      if (Buffer.byteLength(own, 'utf8') > AmlLimits.MAX_FRAGMENT_BYTES) {
        throw new AmlTooLargeError(`InternalElement '${nodeIdOf(n)}' alone is larger than a chunk (${AmlLimits.MAX_FRAGMENT_BYTES} bytes)`, {
          details: { limit: AmlLimits.MAX_FRAGMENT_BYTES },
        });
      }
      emit(parentId, after, [own], 1);
      place(nodeIdOf(n), chunks.length, n.children.filter(isNode));
    }
    flush();
  };
  const root = doc.root;
  const skeletonRoot: XmlElement = { ...root, children: root.children.map((c) => (c.name === 'InstanceHierarchy' ? withoutNodes(c) : c)) };
  for (const h of root.children) if (h.name === 'InstanceHierarchy') place(nodeIdOf(h), 0, h.children.filter(isNode));
  const skeleton = `${XML_DECLARATION}\n${serializeXml(skeletonRoot)}\n`;
  return {
    schemaVersion: doc.schemaVersion,
    skeleton,
    chunks,
    digest: creationDigest([chunkHash('', skeleton), ...chunks.map((c) => c.sha256)]),
    elementCount: doc.elementCount,
  };
}

/**
 * The inverse, for tests and for checking a split before sending it: the skeleton with every
 * chunk's InternalElements put back under their parent, in chunk order, as one document.
 */
export function assembleAmlSplit(split: Pick<AmlSplit, 'skeleton' | 'chunks'>): string {
  const skeleton = readAmlDocument(split.skeleton).root;
  const byParent = new Map<string, XmlElement[]>();
  for (const c of split.chunks) {
    const frag = readAmlFragment(c.aml).elements;
    const list = byParent.get(c.parentId) ?? [];
    list.push(...frag);
    byParent.set(c.parentId, list);
  }
  const fill = (el: XmlElement): XmlElement => {
    const id = el.name === 'InstanceHierarchy' || el.name === 'InternalElement' ? nodeIdOf(el) : undefined;
    const added = id === undefined ? [] : (byParent.get(id) ?? []);
    // Only hierarchies and their elements take chunks: an InternalElement a 2.15 Value quotes is content.
    const own = el.children.map((c) => (isNode(c) || c.name === 'InstanceHierarchy' ? fill(c) : c));
    if (added.length === 0) return { ...el, children: own };
    // Nested InternalElements go after the element's own InternalElements and before what CAEX
    // places after them (as the chaincode's joinChildren does).
    let at = own.findIndex((c) => AFTER_NODES.has(c.name));
    if (at < 0) at = own.length;
    return { ...el, children: [...own.slice(0, at), ...added.map(fill), ...own.slice(at)] };
  };
  return `${XML_DECLARATION}\n${serializeXml(fill(skeleton))}\n`;
}

const AFTER_NODES = new Set(['SupportedRoleClass', 'InternalLink', 'RoleRequirements', 'MappingObject', 'InterfaceClassLib', 'RoleClassLib', 'SystemUnitClassLib', 'AttributeTypeLib']);

