/**
 * The audit bundle: one JSON file an auditor verifies offline. Everything that proves something
 * is raw Fabric bytes (base64); the rest (seq numbers, the twin ID, the stated spec state) are
 * claims the verifier checks against those bytes.
 */
export const BUNDLE_FORMAT = 'twinledger.audit-bundle/1';

export interface BundleChange {
  /** 1-based position in the twin's ledger order (createTwin = 1). */
  readonly seq: number;
  readonly txId: string;
  /** The block that holds the transaction; one of `blocks`. */
  readonly blockNumber: number;
}

export interface BundleDocument {
  /** SHA-256 (hex) of the plaintext, as recorded on chain. */
  readonly hash: string;
  /** The plaintext bytes, base64. */
  readonly contentBase64: string;
}

/** One feed update with what proves it: its anchor's audit path and, when read, its segment. */
export interface BundleFeedUpdate {
  /** The owner-signed update record as the DHT stores it (`@twinledger/dht` FeedUpdate). */
  readonly update: Readonly<Record<string, unknown>>;
  /** RFC 6962 audit path (hex, leaf side first) of the update in the anchor covering its index. */
  readonly proof: readonly string[];
  /** The segment's manifest; its canonical JSON hashes to `update.ref`. Omitted with the segment. */
  readonly manifest?: Readonly<Record<string, unknown>>;
  /** The segment plaintext (the readings, `@twinledger/readings` codec), base64; its SHA-256 is the manifest's plaintextHash. */
  readonly segmentBase64?: string;
}

/** Two owner-signed updates for one index of a feed that some replica(s) served. */
export interface BundleFeedConflict {
  readonly index: number;
  readonly updates: readonly Readonly<Record<string, unknown>>[];
}

/** A feed of the twin: its anchors on the ledger and the updates (readings) it proves. */
export interface BundleFeed {
  readonly feedId: string;
  readonly componentId: string;
  /** The feed's anchor transactions in the range; their blocks are in `anchorBlocks`. */
  readonly anchors: readonly { readonly txId: string; readonly blockNumber: number }[];
  readonly updates: readonly BundleFeedUpdate[];
  /** Conflicting updates seen at the replicas: evidence the verifier checks and reports. */
  readonly conflicts: readonly BundleFeedConflict[];
}

export interface AuditBlockBundle {
  readonly format: typeof BUNDLE_FORMAT;
  readonly twinId: string;
  readonly channel: string;
  /** The chaincode whose write sets hold the twin. */
  readonly chaincode: string;
  readonly exportedAt: string;
  /** The exporter's organization (information only: nothing rests on it). */
  readonly exportedBy: string;
  /** The bound asked for (a change seq), or null for the whole history. */
  readonly asOfSeq: number | null;
  /** The channel's latest configuration block, serialized `common.Block`, base64. */
  readonly configBlock: string;
  /** Every block holding one of `changes`, serialized `common.Block`, base64, ascending, no duplicates. */
  readonly blocks: readonly string[];
  /** The twin's changes in ledger order, from createTwin (seq 1) to the bound. */
  readonly changes: readonly BundleChange[];
  /**
   * The specification as stated by the exporter: the twin's specification keys (twin meta, element
   * records, child index) and their values (the chaincode's canonical JSON), and the transaction
   * that last changed them. The verifier rebuilds both from the write sets.
   */
  readonly specification: {
    readonly revisionTxId: string;
    readonly state: Readonly<Record<string, string>>;
  };
  /** Document bytes the exporter could read, with the hash they must have; may be empty. */
  readonly documents: readonly BundleDocument[];
  /** Sensor feeds with anchors and proven updates (ADR-18); absent in bundles without feeds. */
  readonly feeds?: readonly BundleFeed[];
  /** Blocks holding the feeds' anchor transactions, base64, ascending (a block may also be in `blocks`). */
  readonly anchorBlocks?: readonly string[];
}
