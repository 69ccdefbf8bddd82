import { ChaincodeError, ErrorCodes } from '../errors';
import type { Caller } from './identity';
import { isExpired, type Grant, type GrantSpec } from './grants';
import { Permissions, Roles } from './roles';

/*
 * Who acknowledges program calls (issue #19, item 5). An acknowledgement tells every party what
 * the machine did, so it must come from the twin's device agent and nobody else:
 *
 * - `program:ack` is never granted as a permission; it comes only with the DEVICE_AGENT role.
 * - DEVICE_AGENT goes to exactly one identity (an identity-scoped grant) of the granting
 *   OWNER's own organization (the one that operates the device), never to the granting identity
 *   itself, never MSP-wide (that would include the granter) and never to another organization.
 * - A twin has at most one device agent: replacing it means revoking the current grant first,
 *   two transactions every party sees (GrantRevoked, GrantAdded).
 */

function forbidden(detail: string): ChaincodeError {
  return new ChaincodeError(ErrorCodes.GRANT_FORBIDDEN, detail);
}

/**
 * Throws GRANT_FORBIDDEN when `spec`, granted by `granter`, would let someone other than the
 * twin's device agent acknowledge calls. `current` are the twin's grants (unexpired ones count).
 */
export function checkAckGrant(spec: GrantSpec, granter: Caller, current: readonly Grant[], nowMs: number): void {
  if (spec.permission === Permissions.PROGRAM_ACK) {
    throw forbidden('program:ack is held only through the DEVICE_AGENT role of the twin’s device agent');
  }
  if (spec.role !== Roles.DEVICE_AGENT) return;
  if (spec.identity === undefined) {
    throw forbidden('DEVICE_AGENT must name one identity (x509::...), not a whole organization');
  }
  if (spec.mspId !== granter.mspId) {
    throw forbidden(`DEVICE_AGENT goes to an identity of the granting organization (${granter.mspId}), not of ${spec.mspId}`);
  }
  if (spec.identity === granter.id) {
    throw forbidden('an identity cannot make itself the device agent');
  }
  const other = current.find((g) => g.role === Roles.DEVICE_AGENT && !isExpired(g, nowMs) && !(g.mspId === spec.mspId && g.identity === spec.identity));
  if (other) {
    throw forbidden(`twin ${other.twinId} already has a device agent (${other.mspId} ${other.identity ?? '*'}); revoke that grant first`);
  }
}
