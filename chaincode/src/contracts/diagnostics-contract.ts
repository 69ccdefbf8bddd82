import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { ErrorCodes, fail } from '../errors';
import { Events } from '../events';
import { compositeKey, KeyTypes } from '../ledger/keys';
import { canonicalJson } from '../util/canonical-json';
import { requireId, requireString } from '../util/args';

const MAX_VALUE_BYTES = 64 * 1024;

/**
 * The smallest possible write: one putState and one event. Used by the local network's
 * smoke test and as the baseline of the chaincode benchmark, so it stays this trivial
 * (no authorization beyond channel membership, no change log).
 */
@Info({ title: 'DiagnosticsContract', description: 'Smoke test and benchmark baseline' })
export class DiagnosticsContract extends Contract {
  constructor() {
    super('diag');
  }

  @Transaction()
  @Returns('string')
  async put(ctx: Context, key: string, value: string): Promise<string> {
    const k = requireId('key', key);
    const v = requireString('value', value);
    if (Buffer.byteLength(v, 'utf8') > MAX_VALUE_BYTES) fail(ErrorCodes.TOO_LARGE, `value is larger than ${MAX_VALUE_BYTES} bytes`);
    await ctx.stub.putState(compositeKey(KeyTypes.diag, [k]), Buffer.from(v, 'utf8'));
    ctx.stub.setEvent(Events.DiagPut, Buffer.from(canonicalJson({ key: k }), 'utf8'));
    return canonicalJson({ key: k, txId: ctx.stub.getTxID() });
  }

  @Transaction(false)
  @Returns('string')
  async get(ctx: Context, key: string): Promise<string> {
    const k = requireId('key', key);
    const b = await ctx.stub.getState(compositeKey(KeyTypes.diag, [k]));
    if (!b || b.length === 0) fail(ErrorCodes.NOT_FOUND, `diag key ${k} does not exist`);
    return canonicalJson({ key: k, value: Buffer.from(b).toString('utf8') });
  }
}
