/** Size limits; inputs above them are refused with TOO_LARGE. Documented in README.md. */
export const Limits = {
  /** createTwin: the whole AML document, in UTF-8 bytes. */
  MAX_AML_BYTES: 8 * 1024 * 1024,
  /** createTwin: InternalElements (plus InstanceHierarchies) in one document. */
  MAX_ELEMENTS_PER_TWIN: 20_000,
  /**
   * Chunked creation (beginTwinCreation): chunks after the skeleton. Each chunk is held to the
   * fragment limits; the sum of skeleton and chunks to MAX_AML_BYTES and MAX_ELEMENTS_PER_TWIN
   * (checked at the seal).
   */
  MAX_CREATION_CHUNKS: 4096,
  /** abortTwinCreation: staged chunks removed per call (each a bounded transaction). */
  ABORT_CHUNKS_PER_CALL: 8,
  /** insertAML: one fragment, in UTF-8 bytes. */
  MAX_FRAGMENT_BYTES: 512 * 1024,
  /** insertAML: InternalElements in one fragment. */
  MAX_ELEMENTS_PER_FRAGMENT: 2_000,
  /** XML element nesting inside one document or fragment. */
  MAX_XML_DEPTH: 128,
  /** InternalElement nesting in a twin (InstanceHierarchy = depth 0). */
  MAX_ELEMENT_DEPTH: 64,
  /** Any JSON-string argument (grants, docJson, parametersJson, resultJson, peerIdsJson). */
  MAX_JSON_ARG_BYTES: 64 * 1024,
  /** IDs (element IDs, twin IDs, program names, component IDs). */
  MAX_ID_LENGTH: 256,
  /** Parties in one DHT ACL (recordAccessChange); the dht-gateway's own limit. */
  MAX_ACL_PARTIES: 64,
  /** Free text (titles, descriptions, references, URIs). */
  MAX_TEXT_LENGTH: 4096,
  /** callProgram: request IDs (client-chosen, e.g. a UUID). */
  MAX_REQUEST_ID_LENGTH: 128,
  /** callProgram: lifetime of a call when the caller names none, seconds. */
  DEFAULT_CALL_TTL_S: 300,
  /** callProgram: the longest lifetime a caller may ask for, seconds. */
  MAX_CALL_TTL_S: 3600,
  /** Lists and history: items per page when the caller names no page size. */
  DEFAULT_PAGE_SIZE: 100,
  /** Lists and history: the largest page a caller may ask for (VALIDATION_FAILED above). */
  MAX_PAGE_SIZE: 1000,
  /**
   * Lists that leave out records the caller may not see (listDocuments, listTwins): records read
   * per call to fill one page; a page that ends there answers a bookmark to read on.
   */
  MAX_PAGE_SCAN: 10_000,
  /** Bookmarks: the longest a list answers or accepts (VALIDATION_FAILED above). */
  MAX_BOOKMARK_CHARS: 12_288,
  /**
   * history, getTwinAsOf, getDocumentHistory, getAccessRecord: modifications of one key's
   * history read per call (a twin's change log, an element, a document). Above it the call is
   * refused with TOO_LARGE: the peer's history query cannot start in the middle, and its
   * ledger.state.totalQueryLimit (100000 by default, keep it above this) would cut the rest
   * without saying so.
   */
  MAX_KEY_HISTORY: 10_000,
  /**
   * anchorFeedRoot: most feed updates one anchor covers. A proof grows with log2 of it (20
   * hashes here); a feed-ingest that fell behind anchors its backlog in several transactions.
   */
  MAX_ANCHOR_UPDATES: 1_000_000,
  /** getTwinAsOf: writes replayed to rebuild one past state (TOO_LARGE above). */
  MAX_ASOF_WRITES: 200_000,
} as const;
