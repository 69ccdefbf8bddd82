/**
 * The dht-gateway's wire contract (JSON bodies), as the gateway's route schemas define it.
 * Hashes and references are lowercase hex.
 */

/** 201 from `PUT /objects`. */
export interface StoredObject {
  /** The object reference (SHA-256 of its manifest), what the ledger records. */
  readonly ref: string;
  /** Plaintext bytes. */
  readonly size: number;
  /** Hex SHA-256 of the plaintext. */
  readonly sha256: string;
  /** Peer ids of the replicas that acknowledged the content. */
  readonly replicas: readonly string[];
}

/** 200 from `GET /objects/:ref/manifest`. */
export interface ObjectManifest {
  readonly ref: string;
  readonly objectId: string;
  readonly size: number;
  readonly sha256: string;
  readonly cipher: string;
  readonly chunkSize: number;
  readonly chunks: ReadonlyArray<{ readonly hash: string; readonly size: number }>;
  readonly aclVersion: number;
  readonly parties: readonly string[];
}

/** 200 from `GET /objects/:ref/acl`. */
export interface ObjectAcl {
  readonly ref: string;
  readonly objectId: string;
  /** The owner's Ed25519 public key, hex. */
  readonly owner: string;
  readonly version: number;
  readonly parties: readonly string[];
  /** The reference of the latest version (after a re-key), when there is one. */
  readonly head?: string;
}

/** 200 from `PUT /objects/:ref/acl`. */
export interface AclUpdate {
  /** The reference to read from now on: a new one when the content was re-keyed. */
  readonly ref: string;
  readonly version: number;
  /** True when a party was removed and the content re-encrypted under a new key. */
  readonly rekeyed: boolean;
}

/** 200 from `GET /status`. */
export interface NodeStatus {
  readonly peerId: string;
  readonly mspId: string;
  readonly multiaddrs: readonly string[];
  readonly peers: ReadonlyArray<{ readonly peerId: string; readonly mspId?: string }>;
  readonly storeBytes: number;
  readonly items: { readonly chunks: number; readonly manifests: number; readonly acls: number; readonly locators: number; readonly feedUpdates: number; readonly feedHeads: number };
  readonly replicaHealth: {
    readonly replicationFactor: number;
    readonly faultTolerance: number;
    readonly connectedParties: number;
    readonly lastRepair?: { readonly checked: number; readonly missing: number; readonly pushed: number; readonly failed: number; readonly durationMs: number };
  };
}
