import type { CaexNode } from '../aml/caex';
import type { XmlElement } from '../aml/xml';
import { ErrorCodes, fail } from '../errors';
import { Limits } from '../limits';
import { compositeKey, compositeRange, KeyTypes } from '../ledger/keys';
import type { StateReader } from '../ledger/state';
import type { Tx } from '../ledger/tx';
import type { ElementRecord } from './model';

/**
 * Limits of the assembled specification (issue #20). A fragment is checked on its own when it
 * is parsed (bytes, elements, XML nesting); these checks make the sum of accepted edits stay
 * within what every reader of the project accepts (`@twinledger/aml` readSpecification, the
 * device agent): XML nesting of the whole document and InternalElements in the twin. Element
 * nesting (MAX_ELEMENT_DEPTH) is checked where records are stored (storeNodes).
 *
 * The element count lives in one counter per twin, read and written by every transaction that
 * adds or removes InternalElements: a total cannot be known without a shared key, so two
 * concurrent edits of one twin now conflict on it (MVCC_READ_CONFLICT) and one is retried.
 */

const countKey = (twinId: string): string => compositeKey(KeyTypes.counter, [twinId, 'elements']);

/** XML levels of an element's subtree (1 = the element alone); bounded by the parse depth. */
function xmlHeight(el: XmlElement): number {
  let h = 0;
  for (const c of el.children) h = Math.max(h, xmlHeight(c));
  return h + 1;
}

/** XML levels of a node with its nested InternalElements, as the assembled document holds it. */
function nodeHeight(n: CaexNode): number {
  let h = xmlHeight(n.own);
  for (const c of n.children) h = Math.max(h, 1 + nodeHeight(c));
  return h;
}

function countElements(nodes: readonly CaexNode[]): number {
  let n = 0;
  for (const node of nodes) n += (node.kind === 'InternalElement' ? 1 : 0) + countElements(node.children);
  return n;
}

/** The twin's InternalElements: the counter, or (twins created before it existed) one scan of its records. */
async function currentCount(r: StateReader, twinId: string): Promise<number> {
  const stored = await r.get<number>(countKey(twinId));
  if (stored !== undefined) return stored;
  let n = 0;
  const [start, end] = compositeRange(KeyTypes.element, [twinId]);
  await r.scan<ElementRecord>(start, end, (e) => void (e.value.kind === 'InternalElement' && n++));
  return n;
}

/** createTwin: the document's count (its own limit was checked when it was parsed). */
export function recordCreatedElements(tx: Tx, twinId: string, hierarchies: readonly CaexNode[]): void {
  tx.put(countKey(twinId), countElements(hierarchies));
}

/**
 * insertAML: refuses (TOO_LARGE) a fragment whose nodes, stored at element depth `depth`
 * (0 = InstanceHierarchies), would nest the assembled document deeper than MAX_XML_DEPTH or
 * take the twin past MAX_ELEMENTS_PER_TWIN; otherwise counts the new elements.
 */
export async function checkInsertedElements(tx: Tx, twinId: string, nodes: readonly CaexNode[], depth: number): Promise<void> {
  // A node at element depth d is at XML level d + 2 (CAEXFile = 1, InstanceHierarchy = 2).
  const levels = depth + 1 + Math.max(...nodes.map(nodeHeight));
  if (levels > Limits.MAX_XML_DEPTH) {
    fail(ErrorCodes.TOO_LARGE, `the specification would be nested ${levels} XML levels deep at this parent (limit ${Limits.MAX_XML_DEPTH})`);
  }
  const added = countElements(nodes);
  const total = (await currentCount(tx.state, twinId)) + added;
  if (total > Limits.MAX_ELEMENTS_PER_TWIN) {
    fail(ErrorCodes.TOO_LARGE, `the specification would hold ${total} InternalElements (limit ${Limits.MAX_ELEMENTS_PER_TWIN})`);
  }
  tx.put(countKey(twinId), total);
}

/** removeAML: the removed subtree's InternalElements leave the count. */
export async function recordRemovedElements(tx: Tx, twinId: string, removed: readonly ElementRecord[]): Promise<void> {
  const gone = removed.filter((r) => r.kind === 'InternalElement').length;
  if (gone === 0) return;
  tx.put(countKey(twinId), Math.max(0, (await currentCount(tx.state, twinId)) - gone));
}
