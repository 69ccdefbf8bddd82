import fabricProtos from '@hyperledger/fabric-protos';
import type { BlockReader } from './export.js';
import { decodeBlock } from './fabric.js';

/** A `qscc` call through the peer's Gateway: any client that evaluates on system chaincode `qscc`. */
export type QsccEvaluate = (fn: string, args: readonly string[]) => Promise<Uint8Array>;

/**
 * Blocks through qscc (the peer answers from its own block store, no other organization
 * involved). The caller brings the evaluate function, so this package stays free of Fabric
 * network clients: the verifier half runs where no peer is reachable.
 */
export function createQsccBlockReader(evaluate: QsccEvaluate, channel: string): BlockReader {
  return {
    blockByTxId: (txId) => evaluate('GetBlockByTxID', [channel, txId]),
    blockByNumber: (n) => evaluate('GetBlockByNumber', [channel, String(n)]),
    async height() {
      return fabricProtos.common.BlockchainInfo.deserializeBinary(await evaluate('GetChainInfo', [channel])).getHeight();
    },
  };
}

/** The number of the block holding a transaction (qscc GetBlockByTxID): e.g. the block of a feed anchor. */
export async function blockNumberOfTx(blocks: Pick<BlockReader, 'blockByTxId'>, txId: string): Promise<number> {
  return decodeBlock(await blocks.blockByTxId(txId)).number;
}
