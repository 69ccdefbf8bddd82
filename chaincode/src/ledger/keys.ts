/**
 * State key layout. Composite keys (Fabric's encoding: U+0000 type U+0000 attr U+0000 ...)
 * except the child index, which is a plain key with the same separators because Fabric's
 * getStateByRange refuses composite-key bounds and "the sibling after X" needs a range
 * that starts in the middle of a parent's children.
 */
export const KeyTypes = {
  /** [twinId] -> TwinMeta (written once, at creation) */
  twin: 'tl.twin',
  /** [twinId, elementId] -> ElementRecord */
  element: 'tl.el',
  /** [twinId, programName, elementId] -> ProgramDefinition */
  program: 'tl.prog',
  /** [twinId, originalHash] -> DocumentRecord */
  document: 'tl.doc',
  /** [twinId, originalHash, version(12 digits)] -> DocumentVersion */
  docVersion: 'tl.docv',
  /** [twinId, hash] -> { originalHash } for originals and versions */
  docHash: 'tl.dochash',
  /** [twinId, hash of a document version] -> AccessRecord (the DHT object's current ACL) */
  docAccess: 'tl.docacl',
  /** [twinId, sha256(uri)] -> ExternalSource */
  external: 'tl.ext',
  /** [twinId, componentId] -> SensorFeed */
  feed: 'tl.feed',
  /**
   * [twinId, feedId, fromIndex(16 digits)] -> FeedAnchor: a Merkle root (RFC 6962) over the feed
   * update records fromIndex..toIndex, committed by the feed's owner organization (ADR-18).
   * Not a change of the twin (no change header): a feed anchored once a minute would otherwise
   * fill the twin's history (MAX_KEY_HISTORY) within a week.
   */
  feedAnchor: 'tl.anchor',
  /** [twinId, feedId] -> FeedAnchor: the feed's latest anchor, read to keep anchors contiguous */
  feedAnchorTip: 'tl.anchortip',
  /** [twinId, mspId|'*', identity|'*', role|permission] -> Grant */
  grant: 'tl.grant',
  /**
   * [twinId, mspId|'*'] -> GrantSet: the same grant records, one key per MSP, so that the access
   * check every transaction makes is two point reads instead of two range scans (a range read
   * is re-executed by every peer at validation to detect phantoms; a point read is one version
   * comparison). Derived from the grant records and written with them (access/grants.ts).
   */
  grantSet: 'tl.grantset',
  /** [twinId, callId(12 digits)] -> ProgramCall */
  call: 'tl.call',
  /**
   * [twinId, caller mspId, requestId] -> CallRequest: makes callProgram idempotent per
   * organization (a retry with the same request ID gets the first call back).
   */
  callRequest: 'tl.callreq',
  /** [twinId, callId(12 digits)] -> { callId } while the call is pending */
  pending: 'tl.pend',
  /** [twinId, proposalId(12 digits)] -> SafetyProposal */
  safetyProposal: 'tl.safety',
  /** [twinId, proposalId(12 digits)] -> { proposalId } while the proposal is pending */
  safetyPending: 'tl.safpend',
  /**
   * [twinId] -> SpecRevision: the last transaction that changed what getSpecification
   * assembles (twin meta, element records, child index). Written blind by Tx.commit, so
   * concurrent writers of one twin never conflict on it; readers cache the assembled
   * specification under it.
   */
  specRevision: 'tl.specrev',
  /**
   * [twinId] -> TwinCreation: a chunked creation under way (beginTwinCreation until
   * sealTwinCreation or the end of abortTwinCreation). Never read by readers: until the seal
   * writes the twin key, the twin does not exist for them.
   */
  creation: 'tl.creation',
  /** [twinId, index(6 digits)] -> CreationChunk: one staged piece of a creation (0 = begin's skeleton) */
  creationChunk: 'tl.crchunk',
  /** [twinId, counterName] -> number */
  counter: 'tl.ctr',
  /**
   * [twinId] -> ChangeHeader of the twin's latest change: written blind by every transaction
   * that changes the twin, so its key history (getHistoryForKey, block then transaction
   * position) is the twin's change log in the order the ledger committed it, one header per
   * change. A change's sequence number is its position in that history (1 = createTwin).
   * Blind, so concurrent writers of one twin never conflict on it; only a caller whose access
   * rests on an expiring grant reads it (see access/grants.ts).
   */
  changeOrder: 'tl.order',
  /**
   * [twinId, txId, n(6 digits)] -> ChangeLogChunk (the transaction's writes in order, usually
   * one chunk; a single ChangeWrite per key before chunks, still read)
   */
  changeWrite: 'tl.chgw',
  /** [mspId] -> Party */
  party: 'tl.party',
  /** [peerId] -> { mspId }: a DHT peer ID belongs to one organization (issue #20) */
  partyPeer: 'tl.ppeer',
  /** [prefix] -> DeviceNamespace: who creates twins with device IDs under the prefix */
  deviceNamespace: 'tl.ns',
  /** [key] -> string (diagnostics contract) */
  diag: 'diag',
} as const;

const SEP = '\u0000';
const MAX = '\u{10ffff}';

export function compositeKey(type: string, attrs: readonly string[]): string {
  for (const a of attrs) {
    if (a.length === 0 || a.includes(SEP)) throw new Error(`invalid key attribute for ${type}`);
  }
  return `${SEP}${type}${SEP}${attrs.map((a) => a + SEP).join('')}`;
}

/** [start, end) covering every composite key with this type and attribute prefix. */
export function compositeRange(type: string, attrs: readonly string[]): [string, string] {
  const start = compositeKey(type, attrs);
  return [start, start + MAX];
}

const CHILD_PREFIX = 'tl.ch';

/** Child-index key: plain (see above); the root parent of InstanceHierarchies is ''. */
export function childKey(twinId: string, parentId: string, order: string): string {
  return `${CHILD_PREFIX}${SEP}${twinId}${SEP}${parentId}${SEP}${order}${SEP}`;
}

export function childRange(twinId: string, parentId: string): [string, string] {
  const start = `${CHILD_PREFIX}${SEP}${twinId}${SEP}${parentId}${SEP}`;
  return [start, start + MAX];
}

/** Every child-index key of a twin, grouped by parent (for reading the whole tree at once). */
export function twinChildRange(twinId: string): [string, string] {
  const start = `${CHILD_PREFIX}${SEP}${twinId}${SEP}`;
  return [start, start + MAX];
}

/**
 * Whether a state key is one getSpecification reads for this twin: its meta, an element
 * record or a child-index entry.
 */
export function isSpecKey(key: string, twinId: string): boolean {
  return (
    key === compositeKey(KeyTypes.twin, [twinId]) ||
    key.startsWith(compositeKey(KeyTypes.element, [twinId])) ||
    key.startsWith(twinChildRange(twinId)[0])
  );
}

export function parentFromChildKey(key: string): string {
  return key.split(SEP)[2] ?? '';
}

/** Range of the children of parentId that sort after the given order key. */
export function childRangeAfter(twinId: string, parentId: string, order: string): [string, string] {
  // Appending U+0000 gives the smallest key greater than the sibling's own key.
  return [childKey(twinId, parentId, order) + SEP, childRange(twinId, parentId)[1]];
}

export function orderFromChildKey(key: string): string {
  const parts = key.split(SEP);
  return parts[parts.length - 2] ?? '';
}

export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
