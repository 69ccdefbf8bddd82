import { AccessDeniedError, TwinLedgerError } from '@twinledger/errors';

/** A valid token of this org's issuer for the gateway, but not a workload's (no `svc` claim). */
export class ServiceCredentialRequiredError extends AccessDeniedError {
  override readonly code: string = 'SERVICE_CREDENTIAL_REQUIRED';
}

/** An ACL change by a workload other than the key manager (beyond narrowing an object to this org). */
export class AclChangeForbiddenError extends AccessDeniedError {
  override readonly code: string = 'ACL_CHANGE_FORBIDDEN';
}

/** Object bodies are raw bytes: `application/octet-stream` only. */
export class UnsupportedMediaTypeError extends TwinLedgerError {
  readonly code: string = 'UNSUPPORTED_MEDIA_TYPE';
  override readonly httpStatus: number = 415;
}
