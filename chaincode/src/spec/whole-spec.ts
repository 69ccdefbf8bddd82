import type { CaexNode } from '../aml/caex';
import type { XmlElement } from '../aml/xml';
import { ErrorCodes, fail } from '../errors';
import { Limits } from '../limits';

/**
 * Limits of the assembled specification (issue #20). A fragment is checked on its own when it
 * is parsed (bytes, elements, XML nesting); this check makes the sum of accepted edits stay
 * within the nesting every reader of the project accepts (`@twinledger/aml` readSpecification,
 * the device agent). Element nesting (MAX_ELEMENT_DEPTH) is checked where records are stored
 * (storeNodes).
 *
 * The number of InternalElements in a twin is deliberately not capped here: a total needs one
 * key per twin that every insert and removal reads and writes, so any two concurrent edits of a
 * twin would conflict (MVCC_READ_CONFLICT) and be retried one after the other: concurrent
 * edits of one twin would run at one per block. The per-document (20,000) and per-fragment
 * (2,000) limits bound each write; the readers hold an assembled specification to the nesting
 * limits, not to the document's element count.
 */

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

/**
 * Refuses (TOO_LARGE) a fragment whose nodes, stored at element depth `depth`
 * (0 = InstanceHierarchies), would nest the assembled document deeper than MAX_XML_DEPTH.
 */
export function checkAssembledDepth(nodes: readonly CaexNode[], depth: number): void {
  if (nodes.length === 0) return;
  // A node at element depth d is at XML level d + 2 (CAEXFile = 1, InstanceHierarchy = 2).
  const levels = depth + 1 + Math.max(...nodes.map(nodeHeight));
  if (levels > Limits.MAX_XML_DEPTH) {
    fail(ErrorCodes.TOO_LARGE, `the specification would be nested ${levels} XML levels deep at this parent (limit ${Limits.MAX_XML_DEPTH})`);
  }
}
