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

describe('errorFromRemote', () => {
  it('keeps an unknown remote code in the base class of its status', async () => {
    const { AccessDeniedError: Denied, RemoteError, errorFromRemote } = await import('../src/index.js');
    const denied = errorFromRemote(403, 'NEW_REFUSAL', 'no', { details: { a: 1 } });
    expect(denied).toBeInstanceOf(Denied);
    expect(denied).toMatchObject({ code: 'NEW_REFUSAL', httpStatus: 403, details: { a: 1 } });
    expect(denied.toJSON()).toEqual({ code: 'NEW_REFUSAL', message: 'no', details: { a: 1 } });
    expect(errorFromRemote(503, 'BUSY', 'later', { retryAfterSeconds: 4 })).toMatchObject({ code: 'BUSY', retryAfterSeconds: 4 });
    const other = errorFromRemote(502, 'HTTP_502', 'bad gateway');
    expect(other).toBeInstanceOf(RemoteError);
    expect(other).toMatchObject({ code: 'HTTP_502', httpStatus: 502 });
  });
});
