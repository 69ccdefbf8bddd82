/**
 * The DHT's error codes, in one dependency-free place: `@twinledger/dht` gives each its error
 * class (they travel on the wire between storing nodes), the dht-gateway answers with them, and
 * `@twinledger/dht-client` rebuilds typed errors from them without loading libp2p. A code added
 * here is a compile error in both until each maps it (their tables are `Record<DhtErrorCode, ...>`).
 */
export const DHT_ERROR_CODES = {
  malformedMessage: 'DHT_MALFORMED_MESSAGE',
  messageTooLarge: 'DHT_MESSAGE_TOO_LARGE',
  integrityFailed: 'DHT_INTEGRITY_FAILED',
  badSignature: 'DHT_BAD_SIGNATURE',
  wrongAddress: 'DHT_WRONG_ADDRESS',
  aclDenied: 'DHT_ACL_DENIED',
  unknownParty: 'DHT_UNKNOWN_PARTY',
  aclStaleVersion: 'DHT_ACL_STALE_VERSION',
  feedReplay: 'DHT_FEED_REPLAY',
  feedIndexGap: 'DHT_FEED_INDEX_GAP',
  bindingConflict: 'DHT_BINDING_CONFLICT',
  notFound: 'DHT_NOT_FOUND',
  noKeyForParty: 'DHT_NO_KEY_FOR_PARTY',
  quorumNotReached: 'DHT_QUORUM_NOT_REACHED',
  peerFailed: 'DHT_PEER_FAILED',
  notOwner: 'DHT_NOT_OWNER',
  notStarted: 'DHT_NOT_STARTED',
  peerIdConflict: 'DHT_PEER_ID_CONFLICT',
} as const;

export type DhtErrorCode = (typeof DHT_ERROR_CODES)[keyof typeof DHT_ERROR_CODES];

/** The HTTP status each code maps to (the status family of its error class). */
export const DHT_ERROR_STATUS: Readonly<Record<DhtErrorCode, number>> = {
  DHT_MALFORMED_MESSAGE: 400,
  DHT_MESSAGE_TOO_LARGE: 413,
  DHT_INTEGRITY_FAILED: 502,
  DHT_BAD_SIGNATURE: 400,
  DHT_WRONG_ADDRESS: 400,
  DHT_ACL_DENIED: 403,
  DHT_UNKNOWN_PARTY: 403,
  DHT_ACL_STALE_VERSION: 409,
  DHT_FEED_REPLAY: 409,
  DHT_FEED_INDEX_GAP: 400,
  DHT_BINDING_CONFLICT: 409,
  DHT_NOT_FOUND: 404,
  DHT_NO_KEY_FOR_PARTY: 403,
  DHT_QUORUM_NOT_REACHED: 503,
  DHT_PEER_FAILED: 503,
  DHT_NOT_OWNER: 403,
  DHT_NOT_STARTED: 503,
  DHT_PEER_ID_CONFLICT: 409,
};
