import { describe, expect, it } from '@jest/globals';
import { MvccConflictError, type FabricClient, type SubmitResult } from '@twinledger/fabric-client';
import { ChaincodeAmlInvalidError, createTwinLedger } from '../src/index.js';
import { assembleAmlSplit, splitAmlDocument } from '@twinledger/aml';

const sensor = (i: number): string =>
  `<InternalElement Name="S${i}" ID="s${i}"><Attribute Name="Max" AttributeDataType="xs:double"><Value>${i}</Value></Attribute></InternalElement>`;
const plant = (n: number): string =>
  `<CAEXFile SchemaVersion="3.0" FileName="p.aml"><InstanceHierarchy Name="IH" ID="ih">${Array.from({ length: n }, (_, i) => sensor(i)).join('')}</InstanceHierarchy></CAEXFile>`;

interface Staged {
  skeleton?: string;
  chunks: Map<number, { parentId: string; aml: string }>;
  aborts: number;
}

/**
 * A FabricClient double that plays the chaincode's creation functions over a map, with
 * failures injected per call: enough to see what createTwin sends and how it recovers.
 */
function creationClient(fail: (fn: string, args: readonly string[], attempt: number) => Error | undefined = () => undefined) {
  const st: Staged = { chunks: new Map(), aborts: 0 };
  const calls: string[] = [];
  const attempts = new Map<string, number>();
  const answer = (fn: string, args: readonly string[]): unknown => {
    const key = `${fn}:${args[2] ?? ''}`;
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    const err = fail(fn, args, n);
    if (err) throw err;
    switch (fn) {
      case 'spec:createTwin':
        return { twinId: args[0], elements: 1 };
      case 'spec:beginTwinCreation':
        st.skeleton = args[2];
        return { twinId: args[0], creationId: 'c1', totalChunks: Number(args[4]) };
      case 'spec:appendTwinChunk':
        st.chunks.set(Number(args[2]), { parentId: args[3] as string, aml: args[4] as string });
        return { index: Number(args[2]) };
      case 'spec:sealTwinCreation':
        return { twinId: args[0], elements: st.chunks.size };
      case 'spec:abortTwinCreation':
        st.aborts++;
        return { remainingChunks: 0 };
      default:
        throw new Error(`fake: no ${fn}`);
    }
  };
  const client: FabricClient = {
    mspId: 'Org1MSP',
    async evaluate(fn, args) {
      calls.push(fn);
      return Buffer.from(JSON.stringify(answer(fn, args)));
    },
    async submit(fn, args): Promise<SubmitResult> {
      calls.push(fn);
      // Yield, so that chunks in flight interleave as they would against a peer.
      await new Promise((r) => setImmediate(r));
      return { result: Buffer.from(JSON.stringify(answer(fn, args))), transactionId: `tx-${fn}`, blockNumber: 1n };
    },
    chaincodeEvents: () => Promise.reject(new Error('fake')),
    close() {},
  };
  return { client, st, calls };
}

describe('createTwin of a large document', () => {
  it('keeps one transaction up to the threshold', async () => {
    const { client, calls } = creationClient();
    await createTwinLedger(client).createTwin('t1', 'T', plant(10));
    expect(calls).toEqual(['spec:createTwin']);
  });

  it('stages the document in chunks that assemble to it, then seals', async () => {
    const { client, st, calls } = creationClient();
    const xml = plant(3000);
    await createTwinLedger(client).createTwin('t1', 'T', xml, undefined, { chunkBytes: 32 * 1024 });
    const split = splitAmlDocument(xml, { maxChunkBytes: 32 * 1024 });
    expect(calls[0]).toBe('spec:beginTwinCreation');
    expect(calls.at(-1)).toBe('spec:sealTwinCreation');
    expect(st.chunks.size).toBe(split.chunks.length);
    const chunks = [...st.chunks.entries()].sort(([a], [b]) => a - b).map(([index, c]) => ({ ...split.chunks[index - 1]!, ...c }));
    expect(assembleAmlSplit({ skeleton: st.skeleton!, chunks })).toBe(assembleAmlSplit(split));
  });

  it('sends a chunk again after a read conflict, and aborts when a chunk is refused', async () => {
    const retried = creationClient((fn, args, n) => (fn === 'spec:appendTwinChunk' && args[2] === '2' && n === 1 ? new MvccConflictError('conflict') : undefined));
    await createTwinLedger(retried.client).createTwin('t1', 'T', plant(3000), undefined, { chunkBytes: 32 * 1024 });
    expect(retried.st.aborts).toBe(0);

    const refused = creationClient((fn, args) => (fn === 'spec:appendTwinChunk' && args[2] === '3' ? new ChaincodeAmlInvalidError('AML_INVALID: no') : undefined));
    await expect(createTwinLedger(refused.client).createTwin('t1', 'T', plant(3000), undefined, { chunkBytes: 32 * 1024 })).rejects.toMatchObject({ code: 'AML_INVALID' });
    expect(refused.st.aborts).toBe(1);
    expect(refused.calls).not.toContain('spec:sealTwinCreation');
  });

  it('refuses a document over the limits before any transaction', async () => {
    const { client, calls } = creationClient();
    await expect(createTwinLedger(client).createTwin('t1', 'T', plant(20_001))).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(calls).toEqual([]);
  });
});
