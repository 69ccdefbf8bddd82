import { checkAssembledDepth } from './whole-spec';
import { collectNodeIds, parseCaexFragment, type CaexNode } from '../aml/caex';
import { programOf, type ProgramDefinition } from '../aml/programs';
import { safetyElementOf, type SafetyElement } from '../aml/safety';
import { ErrorCodes, fail } from '../errors';
import { childKey, compositeKey, KeyTypes } from '../ledger/keys';
import type { StateReader } from '../ledger/state';
import type { Tx } from '../ledger/tx';
import { elementKey, getElementRecord, insertionGap, programKey, requireElement, storeNodes, subtree } from './elements';
import type { ElementRecord, TwinMeta } from './model';

/*
 * Specification edits in two steps: plan (every check, reads only) and apply (buffered writes).
 * insertAML/removeAML plan and apply in one transaction; a safety change proposal plans when it
 * is proposed (so a proposal that could never apply is refused at once and its reviewers see
 * what it touches) and plans again, then applies, when it is approved.
 */

export const feedKey = (twinId: string, componentId: string): string => compositeKey(KeyTypes.feed, [twinId, componentId]);

export interface InsertPlan {
  parentId: string;
  depth: number;
  nodes: CaexNode[];
  gap: [string | null, string | null];
}

export interface RemovePlan {
  /** The removed subtree, its root first. */
  records: ElementRecord[];
}

/** What an edit changes in the safety content, for the check and for reviewers. */
export interface SafetyImpact {
  /** Safety elements the edit removes or inserts (a replaced one appears in both lists). */
  removed: SafetyElement[];
  inserted: SafetyElement[];
  /** Program definitions that go, and those that come (parsed, as callProgram would check them). */
  programsRemoved: ProgramDefinition[];
  programsInserted: ProgramDefinition[];
}

export function touchesSafety(i: SafetyImpact): boolean {
  return i.removed.length > 0 || i.inserted.length > 0;
}

export async function planInsert(
  r: StateReader,
  meta: TwinMeta,
  fragment: string,
  parentId: string,
  afterId: string | undefined,
): Promise<InsertPlan> {
  const twinId = meta.twinId;
  const frag = parseCaexFragment(fragment, meta.schemaVersion);
  let depth = 0;
  if (parentId === '') {
    if (frag.kind !== 'InstanceHierarchy') fail(ErrorCodes.VALIDATION_FAILED, 'InternalElements need a parentID');
  } else {
    const parent = await requireElement(r, twinId, parentId, 'parent');
    if (frag.kind !== 'InternalElement') fail(ErrorCodes.VALIDATION_FAILED, 'InstanceHierarchies go at the top level (parentID empty)');
    depth = parent.depth + 1;
  }
  let after: ElementRecord | undefined;
  if (afterId !== undefined) {
    after = await requireElement(r, twinId, afterId, 'afterID element');
    if (after.parentId !== parentId) fail(ErrorCodes.VALIDATION_FAILED, `'${afterId}' is not a child of '${parentId}'`);
  }
  await refuseExistingIds(r, twinId, frag.nodes, new Set());
  // The fragment was checked alone; the specification it joins must stay within the nesting limit too.
  checkAssembledDepth(frag.nodes, depth);
  return { parentId, depth, nodes: frag.nodes, gap: await insertionGap(r, twinId, parentId, after) };
}

export async function planRemove(r: StateReader, twinId: string, id: string): Promise<RemovePlan> {
  const root = await requireElement(r, twinId, id);
  return { records: await subtree(r, twinId, root) };
}

/**
 * Replacing element `id` (with its subtree) by the fragment, in the same place: what a changed
 * program needs, so it is never absent between a removal and an insertion. The fragment may
 * reuse the IDs it replaces.
 */
export async function planReplace(r: StateReader, meta: TwinMeta, id: string, fragment: string): Promise<{ remove: RemovePlan; insert: InsertPlan }> {
  const twinId = meta.twinId;
  const remove = await planRemove(r, twinId, id);
  const root = remove.records[0] as ElementRecord;
  const frag = parseCaexFragment(fragment, meta.schemaVersion);
  if (root.kind !== frag.kind) fail(ErrorCodes.VALIDATION_FAILED, `a ${root.kind} is replaced by ${root.kind}s only`);
  await refuseExistingIds(r, twinId, frag.nodes, new Set(remove.records.map((x) => x.id)));
  checkAssembledDepth(frag.nodes, root.depth);
  // Between the replaced element's order key (freed) and its next sibling's.
  const gap = await insertionGap(r, twinId, root.parentId, root);
  return { remove, insert: { parentId: root.parentId, depth: root.depth, nodes: frag.nodes, gap } };
}

export async function refuseExistingIds(r: StateReader, twinId: string, nodes: CaexNode[], freed: ReadonlySet<string>): Promise<void> {
  for (const id of collectNodeIds(nodes)) {
    if (!freed.has(id) && (await getElementRecord(r, twinId, id))) fail(ErrorCodes.DUPLICATE_ID, `ID '${id}' already exists in twin ${twinId}`);
  }
}

export async function safetyImpact(r: StateReader, twinId: string, plan: { remove?: RemovePlan; insert?: InsertPlan }): Promise<SafetyImpact> {
  const impact: SafetyImpact = { removed: [], inserted: [], programsRemoved: [], programsInserted: [] };
  for (const rec of plan.remove?.records ?? []) {
    const s = safetyElementOf(rec.id, rec.own);
    if (s) impact.removed.push(s);
    if (rec.programName !== undefined) {
      const def = await r.get<ProgramDefinition>(programKey(twinId, rec.programName, rec.id));
      if (def) impact.programsRemoved.push(def);
    }
  }
  const walk = (nodes: CaexNode[]): void => {
    for (const n of nodes) {
      const s = n.kind === 'InternalElement' ? safetyElementOf(n.id, n.own) : undefined;
      if (s) impact.inserted.push(s);
      const def = n.kind === 'InternalElement' ? programOf(twinId, n) : undefined;
      if (def) impact.programsInserted.push(def);
      walk(n.children);
    }
  };
  walk(plan.insert?.nodes ?? []);
  return impact;
}

export function applyInsert(tx: Tx, twinId: string, plan: InsertPlan): { ids: string[]; programs: ProgramDefinition[] } {
  const out = { ids: [] as string[], programs: [] as ProgramDefinition[] };
  storeNodes(tx, twinId, plan.nodes, plan.parentId, plan.depth, plan.gap, out);
  return out;
}

export async function applyRemove(tx: Tx, twinId: string, plan: RemovePlan): Promise<{ removed: string[]; feedsRemoved: string[] }> {
  const feedsRemoved: string[] = [];
  for (const r of plan.records) {
    tx.del(elementKey(twinId, r.id));
    tx.del(childKey(r.twinId, r.parentId, r.order));
    if (r.programName !== undefined) tx.del(programKey(twinId, r.programName, r.id));
    tx.touch('element', r.id);
    // A feed of a removed component would point at nothing: it goes with the element.
    if (await tx.state.get(feedKey(twinId, r.id))) {
      tx.del(feedKey(twinId, r.id));
      tx.touch('feed', r.id);
      feedsRemoved.push(r.id);
    }
  }
  return { removed: plan.records.map((r) => r.id), feedsRemoved };
}
