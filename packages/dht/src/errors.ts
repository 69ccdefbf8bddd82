import {
  AccessDeniedError,
  ConflictError,
  NotFoundError,
  TwinLedgerError,
  UnavailableError,
  ValidationError,
  DHT_ERROR_CODES,
  type DhtErrorCode,
} from '@twinledger/errors';

/**
 * One class per DHT failure mode. Codes are stable: they travel on the wire (a storing node
 * answers with the code, the requesting node rebuilds the same class from it) and reach HTTP
 * clients through the gateway. The code list itself lives in @twinledger/errors
 * (`DHT_ERROR_CODES`), so the HTTP client shares it without loading libp2p.
 */

/** A wire message or a record does not parse or does not match its schema. */
export class MalformedMessageError extends ValidationError {
  override readonly code: string = DHT_ERROR_CODES.malformedMessage;
}

/** A wire message or an object part is larger than the configured limit. */
export class MessageTooLargeError extends TwinLedgerError {
  readonly code: string = DHT_ERROR_CODES.messageTooLarge;
  override readonly httpStatus: number = 413;
}

/** Bytes do not hash to the address they were stored or requested under. */
export class IntegrityError extends TwinLedgerError {
  readonly code: string = DHT_ERROR_CODES.integrityFailed;
  override readonly httpStatus: number = 502;
}

/** A signature on an ACL record, a locator or a feed record does not verify. */
export class InvalidSignatureError extends ValidationError {
  override readonly code: string = DHT_ERROR_CODES.badSignature;
}

/** A record was sent to an address it does not belong to (e.g. a feed update at the wrong index). */
export class WrongAddressError extends ValidationError {
  override readonly code: string = DHT_ERROR_CODES.wrongAddress;
}

/** The requesting peer's party is not in the item's ACL. */
export class AclDeniedError extends AccessDeniedError {
  override readonly code: string = DHT_ERROR_CODES.aclDenied;
}

/** The peer is not bound to any party of the consortium registry. */
export class UnknownPartyError extends AccessDeniedError {
  override readonly code: string = DHT_ERROR_CODES.unknownParty;
}

/** An ACL record with a version at or below the stored one (a rollback attempt). */
export class StaleAclVersionError extends ConflictError {
  override readonly code: string = DHT_ERROR_CODES.aclStaleVersion;
}

/** A feed head with a sequence at or below the stored one, or a second, different update at a taken index. */
export class FeedReplayError extends ConflictError {
  override readonly code: string = DHT_ERROR_CODES.feedReplay;
}

/** A feed append would leave a gap: the index is above the head's latest index + 1. */
export class FeedIndexGapError extends ValidationError {
  override readonly code: string = DHT_ERROR_CODES.feedIndexGap;
}

/** Content bound to one object was offered again under another object's ACL. */
export class BindingConflictError extends ConflictError {
  override readonly code: string = DHT_ERROR_CODES.bindingConflict;
}

/** No replica holds the item (or every copy failed verification). */
export class ItemNotFoundError extends NotFoundError {
  override readonly code: string = DHT_ERROR_CODES.notFound;
}

/** This node's party has no wrapped data key in the manifest: it cannot decrypt the object. */
export class NoKeyForPartyError extends AccessDeniedError {
  override readonly code: string = DHT_ERROR_CODES.noKeyForParty;
}

/** Fewer replicas than required acknowledged a write (data or ACL quorum of 2k+1). */
export class QuorumNotReachedError extends UnavailableError {
  override readonly code: string = DHT_ERROR_CODES.quorumNotReached;
}

/** A remote peer failed or timed out in a way that carries no TwinLedger code. */
export class PeerRequestError extends UnavailableError {
  override readonly code: string = DHT_ERROR_CODES.peerFailed;
}

/** Only the object's owner (its Ed25519 key) may change the ACL. */
export class NotOwnerError extends AccessDeniedError {
  override readonly code: string = DHT_ERROR_CODES.notOwner;
}

/** The node is not started (or already stopped). */
export class NodeNotStartedError extends UnavailableError {
  override readonly code: string = DHT_ERROR_CODES.notStarted;
}

/** A party registry entry claims a peer ID another organization holds (a peer is one organization's). */
export class PeerIdConflictError extends ConflictError {
  override readonly code: string = DHT_ERROR_CODES.peerIdConflict;
}

type ErrorClass = new (message: string, options?: { details?: Record<string, unknown> }) => TwinLedgerError;

// Every code has its class: adding a code to DHT_ERROR_CODES fails to compile until it is mapped here.
const classes: Readonly<Record<DhtErrorCode, ErrorClass>> = {
  DHT_MALFORMED_MESSAGE: MalformedMessageError,
  DHT_MESSAGE_TOO_LARGE: MessageTooLargeError,
  DHT_INTEGRITY_FAILED: IntegrityError,
  DHT_BAD_SIGNATURE: InvalidSignatureError,
  DHT_WRONG_ADDRESS: WrongAddressError,
  DHT_ACL_DENIED: AclDeniedError,
  DHT_UNKNOWN_PARTY: UnknownPartyError,
  DHT_ACL_STALE_VERSION: StaleAclVersionError,
  DHT_FEED_REPLAY: FeedReplayError,
  DHT_FEED_INDEX_GAP: FeedIndexGapError,
  DHT_BINDING_CONFLICT: BindingConflictError,
  DHT_NOT_FOUND: ItemNotFoundError,
  DHT_NO_KEY_FOR_PARTY: NoKeyForPartyError,
  DHT_QUORUM_NOT_REACHED: QuorumNotReachedError,
  DHT_PEER_FAILED: PeerRequestError,
  DHT_NOT_OWNER: NotOwnerError,
  DHT_NOT_STARTED: NodeNotStartedError,
  DHT_PEER_ID_CONFLICT: PeerIdConflictError,
};
/** Codes a storing node answers with that the requester rebuilds as the same class; others become PeerRequestError. */
const WIRE_CODES: readonly DhtErrorCode[] = [
  'DHT_MALFORMED_MESSAGE', 'DHT_MESSAGE_TOO_LARGE', 'DHT_INTEGRITY_FAILED', 'DHT_BAD_SIGNATURE', 'DHT_WRONG_ADDRESS', 'DHT_ACL_DENIED',
  'DHT_UNKNOWN_PARTY', 'DHT_ACL_STALE_VERSION', 'DHT_FEED_REPLAY', 'DHT_BINDING_CONFLICT', 'DHT_NOT_FOUND', 'DHT_NOT_OWNER',
];
const byCode: ReadonlyMap<string, ErrorClass> = new Map(WIRE_CODES.map((c) => [c, classes[c]]));

/** The error class of every DHT code (for tests and tables). */
export const dhtErrorClasses: Readonly<Record<DhtErrorCode, ErrorClass>> = classes;

/** Rebuilds the error a remote storing node answered with; unknown codes become PeerRequestError. */
export function errorFromWire(code: string, message: string, details?: Record<string, unknown>): TwinLedgerError {
  const Cls = byCode.get(code);
  const opts = details === undefined ? {} : { details };
  return Cls === undefined ? new PeerRequestError(message, { details: { ...details, remoteCode: code } }) : new Cls(message, opts);
}
