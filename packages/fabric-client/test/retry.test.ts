import { describe, expect, it } from '@jest/globals';
import { CommitOutcomeUnknownError, EndorsementFailedError, MvccConflictError, WriteConflictError } from '../src/errors.js';
import { PEER_LAG_RETRY, TRANSIENT_WRITE_RETRY, withWriteRetry } from '../src/retry.js';

/** A write that fails with the given errors in turn, then succeeds. */
function failing(...errors: Error[]): { write: () => Promise<string>; calls: () => number } {
  let n = 0;
  return {
    write: async () => {
      const e = errors[n++];
      if (e) throw e;
      return 'done';
    },
    calls: () => n,
  };
}

describe('withWriteRetry', () => {
  it('retries read conflicts and answers the write that got through', async () => {
    const w = failing(new MvccConflictError('lost', { transactionId: 't1' }), new MvccConflictError('lost', { transactionId: 't2' }));
    const retried: number[] = [];
    await expect(withWriteRetry(w.write, { backoffMs: 1, onRetry: (a) => retried.push(a) })).resolves.toBe('done');
    expect(w.calls()).toBe(3);
    expect(retried).toEqual([1, 2]);
  });

  it('turns a conflict that outlasts every attempt into 409 MVCC_CONFLICT with the last transaction', async () => {
    const w = failing(...['a', 'b', 'c'].map((t) => new MvccConflictError('lost', { transactionId: t })));
    const err = await withWriteRetry(w.write, { backoffMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WriteConflictError);
    expect(err).toMatchObject({ code: 'MVCC_CONFLICT', httpStatus: 409, details: { attempts: 3, transactionId: 'c' } });
  });

  it('never retries a refusal or an unknown outcome (a blind retry could do the work twice)', async () => {
    for (const e of [new EndorsementFailedError('endorsement failed', { peerMessages: ['chaincode response 500, ACCESS_DENIED: no'] }), new CommitOutcomeUnknownError('lost track', { transactionId: 'x' })]) {
      const w = failing(e);
      await expect(withWriteRetry(w.write, { ...TRANSIENT_WRITE_RETRY, backoffMs: 1 })).rejects.toBe(e);
      expect(w.calls()).toBe(1);
    }
  });

  it('retries endorsement mismatches only when asked to (TRANSIENT_WRITE_RETRY), and gives the last one up as itself', async () => {
    const mismatch = () => new EndorsementFailedError('endorsements differ');
    const plain = failing(mismatch());
    await expect(withWriteRetry(plain.write, { backoffMs: 1 })).rejects.toBeInstanceOf(EndorsementFailedError);
    expect(plain.calls()).toBe(1);
    const transient = failing(mismatch(), new MvccConflictError('lost'), mismatch());
    await expect(withWriteRetry(transient.write, { ...TRANSIENT_WRITE_RETRY, backoffMs: 1 })).resolves.toBe('done');
    const always = failing(...Array.from({ length: 6 }, mismatch));
    await expect(withWriteRetry(always.write, { ...TRANSIENT_WRITE_RETRY, backoffMs: 1 })).rejects.toBeInstanceOf(EndorsementFailedError);
    expect(always.calls()).toBe(6);
  });

  it('endorses again while another organization\'s peer lags behind ours (PEER_LAG_RETRY), never on our own peer\'s refusal', async () => {
    const refusal = ['chaincode response 500, INVALID_STATE: starts at index 0, not 10'];
    const lag = () => new EndorsementFailedError('endorsement failed', { peerMessages: refusal, peersDisagree: true });
    const w = failing(lag(), lag());
    await expect(withWriteRetry(w.write, { ...PEER_LAG_RETRY, backoffMs: 1 })).resolves.toBe('done');
    expect(w.calls()).toBe(3);
    // Our own peer refused: the chaincode's answer on this organization's state, final.
    const own = new EndorsementFailedError('endorsement failed', { peerMessages: refusal });
    const once = failing(own);
    await expect(withWriteRetry(once.write, { ...PEER_LAG_RETRY, backoffMs: 1 })).rejects.toBe(own);
    expect(once.calls()).toBe(1);
    // A lag that outlasts every attempt: the refusal is the answer.
    const last = lag();
    const always = failing(lag(), lag(), lag(), lag(), last);
    await expect(withWriteRetry(always.write, { ...PEER_LAG_RETRY, backoffMs: 1 })).rejects.toBe(last);
    expect(always.calls()).toBe(5);
    // The device agent's wider retry takes it too.
    expect(TRANSIENT_WRITE_RETRY.retryOn!(lag())).toBe(true);
    expect(TRANSIENT_WRITE_RETRY.retryOn!(own)).toBe(false);
  });
});
