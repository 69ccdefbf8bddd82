import type { XmlElement } from './xml';
import { hasRoleClass, PROGRAM_ROLE_CLASS } from './programs';

/**
 * Safety content (README "Safety rules"): the own content of an InternalElement that claims
 * one of these role classes, i.e. its Name, Attributes (for a program: the parameters, their
 * types, defaults and Constraints), interfaces, links and role references. Nested
 * InternalElements are elements of their own and count only when they claim a class too.
 * Only safety:write holders change it, and only with another organization's approval.
 */
export const INTERLOCK_ROLE_CLASS = 'TwinLedgerRoleClassLib/Interlock';
export const SAFE_STATE_ROLE_CLASS = 'TwinLedgerRoleClassLib/SafeState';

export type SafetyKind = 'program' | 'interlock' | 'safeState';

const CLASSES: readonly [SafetyKind, string][] = [
  ['program', PROGRAM_ROLE_CLASS],
  ['interlock', INTERLOCK_ROLE_CLASS],
  ['safeState', SAFE_STATE_ROLE_CLASS],
];

/** An element holding safety content, as a proposal lists it for its reviewers. */
export interface SafetyElement {
  id: string;
  kind: SafetyKind;
  name: string;
}

export function safetyKindOf(own: XmlElement): SafetyKind | undefined {
  return CLASSES.find(([, path]) => hasRoleClass(own, path))?.[0];
}

export function safetyElementOf(id: string, own: XmlElement): SafetyElement | undefined {
  const kind = safetyKindOf(own);
  return kind === undefined ? undefined : { id, kind, name: own.attrs.Name ?? '' };
}
