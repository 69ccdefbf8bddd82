import { LedgerEventInvalidError } from './errors.js';
import { LedgerEvents, type AcknowledgementStatus, type ConfidentialityLevel, type LedgerEventName, type SafetyOperation } from './constants.js';
import type { GrantSpec, ParamValue } from './types.js';

interface TwinEventBase {
  readonly twinId: string;
  readonly txId: string;
}

/** Payload of each chaincode event (canonical JSON on the wire). */
export interface LedgerEventPayloads {
  TwinCreated: TwinEventBase & { readonly deviceId: string; readonly deviceName: string; readonly elements: number };
  /** Chunked creation steps: the twin does not exist for readers until its TwinCreated. */
  TwinCreationBegun: TwinEventBase & { readonly creationId: string; readonly totalChunks: number };
  TwinChunkAppended: TwinEventBase & { readonly creationId: string; readonly index: number; readonly elements: number };
  TwinCreationAborted: TwinEventBase & { readonly creationId: string; readonly remainingChunks: number };
  AmlInserted: TwinEventBase & { readonly parentId: string; readonly afterId: string; readonly ids: readonly string[] };
  AmlRemoved: TwinEventBase & { readonly id: string; readonly removed: readonly string[]; readonly feedsRemoved: readonly string[] };
  /** componentId is '' when the document belongs to the whole twin. */
  DocumentAdded: TwinEventBase & { readonly hash: string; readonly confidentiality: ConfidentialityLevel; readonly componentId: string };
  DocumentVersionAdded: TwinEventBase & { readonly originalHash: string; readonly hash: string; readonly version: number };
  DocumentRemoved: TwinEventBase & { readonly hash: string };
  /** head is '' when the change did not re-key. */
  DocumentAccessChanged: TwinEventBase & { readonly hash: string; readonly originalHash: string; readonly aclVersion: number; readonly parties: readonly string[]; readonly head: string };
  ExternalSourceAdded: TwinEventBase & { readonly uri: string };
  ExternalSourceRemoved: TwinEventBase & { readonly uri: string };
  SensorFeedAdded: TwinEventBase & { readonly componentId: string; readonly feedRef: string };
  SensorFeedRemoved: TwinEventBase & { readonly componentId: string };
  FeedRootAnchored: TwinEventBase & { readonly componentId: string; readonly feedId: string; readonly fromIndex: number; readonly toIndex: number; readonly root: string };
  ProgramCalled: TwinEventBase & {
    readonly callId: number;
    readonly programName: string;
    readonly programElementId: string;
    readonly parameters: Readonly<Record<string, ParamValue>>;
    readonly requestId: string;
    readonly expiresAt: string;
  };
  ProgramCallAcknowledged: TwinEventBase & { readonly callId: number; readonly status: AcknowledgementStatus };
  /** elements: the safety elements the change would remove or insert. */
  SafetyChangeProposed: TwinEventBase & { readonly proposalId: number; readonly operation: SafetyOperation; readonly elements: readonly string[] };
  /** The specification changed: removed/inserted as removeAML/insertAML report them. */
  SafetyChangeApproved: TwinEventBase & {
    readonly proposalId: number;
    readonly operation: SafetyOperation;
    readonly proposedBy: string;
    readonly removed: readonly string[];
    readonly feedsRemoved: readonly string[];
    readonly inserted: readonly string[];
  };
  SafetyChangeRejected: TwinEventBase & { readonly proposalId: number };
  GrantAdded: TwinEventBase & { readonly grant: GrantSpec };
  GrantRevoked: TwinEventBase & { readonly grant: GrantSpec };
  /** The party registry is channel-wide: no twinId. */
  PartyRegistered: { readonly mspId: string; readonly version: number; readonly txId: string };
  /** Device-ID namespaces are channel-wide: no twinId. */
  DeviceNamespaceChanged: { readonly prefix: string; readonly mspId: string; readonly claimed: boolean; readonly txId: string };
  /** Diagnostics only: exactly `{key}`. */
  DiagPut: { readonly key: string };
}

/** A parsed chaincode event: narrow on `name` to get the payload's type. */
export type LedgerEvent = {
  [N in LedgerEventName]: {
    readonly name: N;
    readonly payload: LedgerEventPayloads[N];
    readonly transactionId: string;
    readonly blockNumber: bigint;
  };
}[LedgerEventName];

/** The fields of a fabric-gateway ChaincodeEvent this parser needs. */
export interface RawChaincodeEvent {
  readonly eventName: string;
  readonly payload: Uint8Array;
  readonly transactionId: string;
  readonly blockNumber: bigint;
}

const KNOWN = new Set<string>(Object.values(LedgerEvents));
const WITHOUT_TWIN = new Set<string>([LedgerEvents.PartyRegistered, LedgerEvents.DeviceNamespaceChanged, LedgerEvents.DiagPut]);

// Fields each payload must carry with their JSON type, checked so consumers (event bridges,
// caches) can trust the type they narrow to instead of crashing on a malformed event later.
const REQUIRED: Record<LedgerEventName, Record<string, 'string' | 'number' | 'boolean' | 'object' | 'array'>> = {
  TwinCreated: { deviceId: 'string', deviceName: 'string', elements: 'number' },
  TwinCreationBegun: { creationId: 'string', totalChunks: 'number' },
  TwinChunkAppended: { creationId: 'string', index: 'number', elements: 'number' },
  TwinCreationAborted: { creationId: 'string', remainingChunks: 'number' },
  AmlInserted: { parentId: 'string', afterId: 'string', ids: 'array' },
  AmlRemoved: { id: 'string', removed: 'array', feedsRemoved: 'array' },
  DocumentAdded: { hash: 'string', confidentiality: 'string', componentId: 'string' },
  DocumentVersionAdded: { originalHash: 'string', hash: 'string', version: 'number' },
  DocumentRemoved: { hash: 'string' },
  DocumentAccessChanged: { hash: 'string', originalHash: 'string', aclVersion: 'number', parties: 'array', head: 'string' },
  ExternalSourceAdded: { uri: 'string' },
  ExternalSourceRemoved: { uri: 'string' },
  SensorFeedAdded: { componentId: 'string', feedRef: 'string' },
  SensorFeedRemoved: { componentId: 'string' },
  FeedRootAnchored: { componentId: 'string', feedId: 'string', fromIndex: 'number', toIndex: 'number', root: 'string' },
  ProgramCalled: { callId: 'number', programName: 'string', programElementId: 'string', parameters: 'object', requestId: 'string', expiresAt: 'string' },
  ProgramCallAcknowledged: { callId: 'number', status: 'string' },
  SafetyChangeProposed: { proposalId: 'number', operation: 'string', elements: 'array' },
  SafetyChangeApproved: { proposalId: 'number', operation: 'string', proposedBy: 'string', removed: 'array', feedsRemoved: 'array', inserted: 'array' },
  SafetyChangeRejected: { proposalId: 'number' },
  GrantAdded: { grant: 'object' },
  GrantRevoked: { grant: 'object' },
  PartyRegistered: { mspId: 'string', version: 'number', txId: 'string' },
  DeviceNamespaceChanged: { prefix: 'string', mspId: 'string', claimed: 'boolean', txId: 'string' },
  DiagPut: { key: 'string' },
};

const jsonType = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

export function isLedgerEventName(name: string): name is LedgerEventName {
  return KNOWN.has(name);
}

/**
 * Parses a chaincode event into its typed form. Throws LedgerEventInvalidError for an unknown
 * event name, a payload that is not a JSON object, or one that lacks the fields of its name
 * (twinId on every twin event).
 */
export function parseLedgerEvent(ev: RawChaincodeEvent): LedgerEvent {
  const where = `event ${ev.eventName} of transaction ${ev.transactionId}`;
  if (!isLedgerEventName(ev.eventName)) {
    throw new LedgerEventInvalidError(`unknown chaincode event name '${ev.eventName}'`, { details: { eventName: ev.eventName, transactionId: ev.transactionId } });
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(ev.payload).toString('utf8'));
  } catch (cause) {
    throw new LedgerEventInvalidError(`${where}: payload is not JSON`, { cause, details: { eventName: ev.eventName, transactionId: ev.transactionId } });
  }
  if (jsonType(payload) !== 'object') {
    throw new LedgerEventInvalidError(`${where}: payload is not a JSON object`, { details: { eventName: ev.eventName, transactionId: ev.transactionId } });
  }
  const p = payload as Record<string, unknown>;
  const required: Record<string, string> = { ...REQUIRED[ev.eventName] };
  if (!WITHOUT_TWIN.has(ev.eventName)) Object.assign(required, { twinId: 'string', txId: 'string' });
  for (const [field, type] of Object.entries(required)) {
    if (jsonType(p[field]) !== type) {
      throw new LedgerEventInvalidError(`${where}: field '${field}' must be ${type === 'object' ? 'an object' : `a${type === 'array' ? 'n' : ''} ${type}`}`, {
        details: { eventName: ev.eventName, transactionId: ev.transactionId, field },
      });
    }
  }
  return { name: ev.eventName, payload: p, transactionId: ev.transactionId, blockNumber: ev.blockNumber } as LedgerEvent;
}

/** The twin an event concerns, or undefined for channel-wide events (PartyRegistered, DiagPut). */
export function twinIdOf(ev: LedgerEvent): string | undefined {
  return 'twinId' in ev.payload ? ev.payload.twinId : undefined;
}
