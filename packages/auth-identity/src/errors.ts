import { AccessDeniedError, ConflictError } from '@twinledger/errors';

/** The token names no Fabric identity this service holds (or none at all). */
export class IdentityNotMappedError extends AccessDeniedError {
  override readonly code: string = 'IDENTITY_NOT_MAPPED';
}

/** The token was issued for another organization than the one this service signs for. */
export class ForeignOrganizationError extends AccessDeniedError {
  override readonly code: string = 'FOREIGN_ORGANIZATION';
}

/** A write kept losing Fabric's MVCC read-conflict check after every retry. */
export class WriteConflictError extends ConflictError {
  override readonly code: string = 'MVCC_CONFLICT';
}
