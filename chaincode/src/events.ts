/**
 * Chaincode event names. Fabric keeps one event per transaction, so every write function
 * emits exactly one of these; the payload is canonical JSON with at least `twinId`
 * (except PartyRegistered/DiagPut) and `txId`.
 */
export const Events = {
  TwinCreated: 'TwinCreated',
  /** Chunked creation: begun, a chunk staged, aborted (TwinCreated comes with the seal). */
  TwinCreationBegun: 'TwinCreationBegun',
  TwinChunkAppended: 'TwinChunkAppended',
  TwinCreationAborted: 'TwinCreationAborted',
  AmlInserted: 'AmlInserted',
  AmlRemoved: 'AmlRemoved',
  DocumentAdded: 'DocumentAdded',
  DocumentVersionAdded: 'DocumentVersionAdded',
  DocumentRemoved: 'DocumentRemoved',
  /** recordAccessChange: a DHT object's party set (ACL version) changed. */
  DocumentAccessChanged: 'DocumentAccessChanged',
  ExternalSourceAdded: 'ExternalSourceAdded',
  ExternalSourceRemoved: 'ExternalSourceRemoved',
  SensorFeedAdded: 'SensorFeedAdded',
  SensorFeedRemoved: 'SensorFeedRemoved',
  /** anchorFeedRoot: a Merkle root over a feed's update records is on the ledger. */
  FeedRootAnchored: 'FeedRootAnchored',
  ProgramCalled: 'ProgramCalled',
  ProgramCallAcknowledged: 'ProgramCallAcknowledged',
  SafetyChangeProposed: 'SafetyChangeProposed',
  /** The approval applied the change: the specification changed in this transaction. */
  SafetyChangeApproved: 'SafetyChangeApproved',
  SafetyChangeRejected: 'SafetyChangeRejected',
  GrantAdded: 'GrantAdded',
  GrantRevoked: 'GrantRevoked',
  PartyRegistered: 'PartyRegistered',
  /** claimDeviceNamespace / releaseDeviceNamespace */
  DeviceNamespaceChanged: 'DeviceNamespaceChanged',
  DiagPut: 'DiagPut',
} as const;

export type EventName = (typeof Events)[keyof typeof Events];
