import { AccessDeniedError } from '@twinledger/errors';

/** The token names no Fabric identity this service holds (or none at all). */
export class IdentityNotMappedError extends AccessDeniedError {
  override readonly code: string = 'IDENTITY_NOT_MAPPED';
}
