/**
 * Stable error codes. Every refusal of the chaincode throws a ChaincodeError whose
 * message starts with `${code}: `, because the message is the only thing that crosses
 * the gRPC boundary to Fabric Gateway clients; they branch on the prefix.
 */
export const ErrorCodes = {
  /** The caller lacks the permission the function needs. */
  ACCESS_DENIED: 'ACCESS_DENIED',
  /** An argument is missing, malformed or of the wrong type. */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** The twin, element, document, grant, party, ... does not exist. */
  NOT_FOUND: 'NOT_FOUND',
  /** The twin, document, feed, ... already exists. */
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  /** A program-call parameter lies outside the bounds recorded in the AML. */
  OUT_OF_BOUNDS: 'OUT_OF_BOUNDS',
  /** The XML is malformed or is not acceptable CAEX. */
  AML_INVALID: 'AML_INVALID',
  /** The XML contains a DOCTYPE (refused before parsing: no entity expansion). */
  DOCTYPE_FORBIDDEN: 'DOCTYPE_FORBIDDEN',
  /** An ID occurs twice in the input or already exists in the twin. */
  DUPLICATE_ID: 'DUPLICATE_ID',
  /** An input exceeds a documented size limit. */
  TOO_LARGE: 'TOO_LARGE',
  /** The object exists but is in a state that forbids the operation (e.g. acknowledging a finished call). */
  INVALID_STATE: 'INVALID_STATE',
  /**
   * A grant that would let someone other than the twin's device agent acknowledge program
   * calls (program:ack as a permission; DEVICE_AGENT to the granter, a whole MSP, another
   * organization, or a second identity while one holds it).
   */
  GRANT_FORBIDDEN: 'GRANT_FORBIDDEN',
  /** callProgram: the request ID was already used by this organization with other arguments. */
  REQUEST_ID_CONFLICT: 'REQUEST_ID_CONFLICT',
  /**
   * insertAML/removeAML would change safety content (a program's parameters and bounds, an
   * interlock, a safe state): that goes through proposeSafetyChange and another organization's
   * approval, whatever the caller holds.
   */
  SAFETY_APPROVAL_REQUIRED: 'SAFETY_APPROVAL_REQUIRED',
  /** A safety change proposal approved by the proposer's own organization (four eyes means two organizations). */
  SELF_APPROVAL: 'SELF_APPROVAL',
  /** The specification changed after the safety change was proposed: what was reviewed is not what would apply. */
  STALE_PROPOSAL: 'STALE_PROPOSAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class ChaincodeError extends Error {
  override readonly name = 'ChaincodeError';
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

export function fail(code: ErrorCode, detail: string): never {
  throw new ChaincodeError(code, detail);
}
