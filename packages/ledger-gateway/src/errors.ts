import { AccessDeniedError } from '@twinledger/errors';

/** The token names no Fabric identity this service holds (or none at all). */
export class IdentityNotMappedError extends AccessDeniedError {
  override readonly code: string = 'IDENTITY_NOT_MAPPED';
}

/** The token was issued for another organization than the one this service signs for. */
export class ForeignOrganizationError extends AccessDeniedError {
  override readonly code: string = 'FOREIGN_ORGANIZATION';
}
