import type { Principal } from '@twinledger/service-kit';
import { AclChangeForbiddenError, ServiceCredentialRequiredError } from './errors.js';

/** The role of the key manager's credential (acl-service): the one workload that changes ACLs. */
export const KEY_MANAGER_ROLE = 'dht:key-manager';

/**
 * Every call must come from a workload of this org: a token with the gateway's audience and
 * the `svc` claim. (The audience alone already keeps user tokens out; the claim keeps a
 * mis-issued token of that audience without a workload name out too.)
 */
export function requireWorkload(principal: Principal | undefined): void {
  if (principal !== undefined && principal.service === undefined) {
    throw new ServiceCredentialRequiredError('the dht-gateway takes service credentials only (svc claim)', { details: { subject: principal.subject } });
  }
}

/**
 * Who may change an object's ACL. The ledger decides who may read (ARCHITECTURE §4): only the key
 * manager derives party sets from effective permissions, so only its credential may set them.
 * One exception, for any workload of the org: narrowing an object to this organization alone.
 * It can only take readers away, never add one, and it is what spec-service needs for an
 * orphan (an object whose ledger write failed, referenced by nothing); were it misused on a
 * referenced object, the key manager's reconciliation derives the ledger's party set again.
 */
export function requireAclChange(principal: Principal | undefined, parties: readonly string[], ownMspId: string): void {
  if (principal === undefined) return;
  if (principal.roles.includes(KEY_MANAGER_ROLE)) return;
  if (parties.length === 1 && parties[0] === ownMspId) return;
  throw new AclChangeForbiddenError('only the key manager changes ACLs (the ledger decides who may read)', { details: { service: principal.service ?? null, requiredRole: KEY_MANAGER_ROLE } });
}
