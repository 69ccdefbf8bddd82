/**
 * The chaincode's AML limits (`chaincode/src/limits.ts`), exactly. The chaincode builds alone
 * and keeps its own copy; `test/drift.test.ts` checks the two are equal, so a service never
 * accepts what the ledger refuses or refuses what it accepts.
 */
export const AmlLimits = {
  /** createTwin: the whole AML document, in UTF-8 bytes (TOO_LARGE). */
  MAX_AML_BYTES: 8 * 1024 * 1024,
  /** InternalElements in one document, and in the assembled specification of a twin (TOO_LARGE). */
  MAX_ELEMENTS_PER_TWIN: 20_000,
  /** insertAML: one fragment, in UTF-8 bytes (TOO_LARGE). */
  MAX_FRAGMENT_BYTES: 512 * 1024,
  /** insertAML: InternalElements in one fragment (TOO_LARGE). */
  MAX_ELEMENTS_PER_FRAGMENT: 2_000,
  /** XML element nesting in a document, a fragment and the assembled specification (AML_INVALID). */
  MAX_XML_DEPTH: 128,
  /** InternalElement nesting in a twin, InstanceHierarchy = depth 0 (TOO_LARGE). */
  MAX_ELEMENT_DEPTH: 64,
  /** Element IDs (AML_INVALID). */
  MAX_ID_LENGTH: 256,
  /** Free text (titles, descriptions, string program parameters). */
  MAX_TEXT_LENGTH: 4096,
} as const;

export type AmlLimit = keyof typeof AmlLimits;
