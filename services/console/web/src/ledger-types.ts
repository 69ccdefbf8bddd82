// Shapes of chaincode results that spec-service and acl-service pass through untyped in their
// OpenAPI documents (chaincode/README.md documents them); everything typed there is taken from
// the generated src/api/*.ts instead.
export interface Party {
  readonly mspId: string;
  readonly id: string;
}
export interface TwinHeader {
  readonly twinId: string;
  readonly deviceId: string;
  readonly deviceName: string;
  readonly schemaVersion: string;
  readonly createdBy: Party;
  readonly createdAt: string;
  readonly txId: string;
}
export interface ChangeHeader {
  readonly txId: string;
  readonly timestamp: string;
  readonly mspId: string;
  readonly creator: string;
  readonly operation: string;
  readonly targets: readonly { kind: string; id: string }[];
  readonly blockNumber?: number | null;
}
export interface DocumentRecord {
  readonly twinId: string;
  readonly hash: string;
  readonly title: string;
  readonly description?: string;
  readonly componentId?: string;
  readonly confidentiality: string;
  readonly owner: Party;
  readonly timestamp: string;
  readonly txId: string;
  readonly versionCount: number;
  readonly latest: { version: number; hash: string };
}
export interface ProgramParameter {
  readonly name: string;
  readonly dataType: string;
  readonly type: string;
  readonly unit?: string;
  readonly required: boolean;
  readonly default?: unknown;
  readonly min?: number;
  readonly max?: number;
  readonly allowed?: readonly unknown[];
}
export interface Program {
  readonly elementId: string;
  readonly name: string;
  readonly parameters: readonly ProgramParameter[];
}
export interface ProgramCall {
  readonly callId: string;
  readonly programName: string;
  readonly parameters: Record<string, unknown>;
  readonly status: string;
  readonly requestedBy: Party;
  readonly requestedAt: string;
  /** The caller's request ID (a retry with it returns this call). */
  readonly requestId?: string;
  /** After this the device agent acknowledges the call EXPIRED instead of running it. */
  readonly expiresAt?: string;
  readonly txId: string;
  readonly acknowledgement?: { status: string; result: unknown; by: Party; at: string; txId: string };
}
export interface Grant {
  readonly mspId: string;
  readonly identity?: string;
  readonly role?: string;
  readonly permission?: string;
  readonly expiresAt?: string;
  readonly grantedBy: Party | string;
  readonly grantedAt: string;
  readonly txId: string;
}
export interface SensorFeedRef {
  readonly componentId: string;
  readonly feedRef: string;
  readonly registeredBy: Party | string;
  readonly timestamp: string;
  readonly txId?: string;
}
export interface ExternalSource {
  readonly uri: string;
  readonly description?: string;
  readonly owner: Party | string;
  readonly timestamp?: string;
  readonly txId?: string;
}
export interface LedgerEvent {
  readonly id: string;
  readonly eventName: string;
  readonly transactionId: string;
  readonly blockNumber: number;
  readonly twinId?: string;
  readonly payload: unknown;
}
