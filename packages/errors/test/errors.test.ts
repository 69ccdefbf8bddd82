import { describe, expect, it } from '@jest/globals';
import { AccessDeniedError, TwinLedgerError, UnavailableError, isTwinLedgerError } from '../src/index.js';

describe('TwinLedgerError', () => {
  it('carries a stable code, status, name, details and cause', () => {
    const cause = new Error('low level');
    const err = new AccessDeniedError('no grant', { cause, details: { twinId: 't1' } });
    expect(err).toBeInstanceOf(TwinLedgerError);
    expect(err).toMatchObject({ name: 'AccessDeniedError', code: 'ACCESS_DENIED', httpStatus: 403, cause });
    expect(err.toJSON()).toEqual({ code: 'ACCESS_DENIED', message: 'no grant', details: { twinId: 't1' } });
    expect(isTwinLedgerError(err)).toBe(true);
    expect(isTwinLedgerError(cause)).toBe(false);
  });

  it('keeps retry hints on unavailability', () => {
    expect(new UnavailableError('busy', { retryAfterSeconds: 3 })).toMatchObject({ httpStatus: 503, retryAfterSeconds: 3 });
  });
});
