import fabricGateway from '@hyperledger/fabric-gateway';
import grpc from '@grpc/grpc-js';
import type { PeerConnectionPool, PeerEndpoint } from './connection.js';
import type { LoadedIdentity } from './identity.js';

export interface ChainInfoProbeInit {
  /** The pool the service's clients use: the probe travels the same gRPC connection. */
  readonly pool: PeerConnectionPool;
  readonly peer: PeerEndpoint;
  /** Any identity of the organization that may read the channel. */
  readonly identity: LoadedIdentity;
  readonly channel: string;
  /** Deadline of one probe; default 400 ms. */
  readonly timeoutMs?: number;
}

export interface PeerProbe {
  /** Resolves when the peer answered; rejects otherwise (deadline included). */
  probe(): Promise<void>;
  /** The channel's height at this peer (blocks committed; the newest is height - 1). */
  height(): Promise<bigint>;
  /**
   * Whether this peer has committed the transaction (`qscc GetTransactionByID`): false when the
   * peer answers that it does not know it; rejects when the peer does not answer.
   */
  hasTransaction(txId: string): Promise<boolean>;
  close(): void;
}

/**
 * `common.BlockchainInfo.height` (field 1, a varint) of qscc's answer, read without the protobuf
 * runtime: the one field needed.
 */
export function chainInfoHeight(bytes: Uint8Array): bigint {
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = bytes[i++];
      if (b === undefined) throw new RangeError('truncated BlockchainInfo');
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
  };
  while (i < bytes.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) return varint();
    if (wire === 0) varint();
    else if (wire === 2) i += Number(varint());
    else throw new RangeError(`unexpected wire type ${wire} in BlockchainInfo`);
  }
  return 0n; // proto3 omits a zero height
}

/**
 * Asks the peer's Gateway for the channel's height (`qscc GetChainInfo`): answered by the peer
 * alone from its block store, no chaincode container and no other organization involved, so it
 * tells whether this peer answers and nothing else.
 */
export function createChainInfoProbe(init: ChainInfoProbeInit): PeerProbe {
  const timeoutMs = init.timeoutMs ?? 400;
  const gateway = fabricGateway.connect({
    client: init.pool.get(init.peer),
    identity: init.identity.identity,
    signer: init.identity.signer,
    hash: fabricGateway.hash.sha256,
    evaluateOptions: () => ({ deadline: Date.now() + timeoutMs }),
  });
  const qscc = gateway.getNetwork(init.channel).getContract('qscc');
  return {
    async probe() {
      await qscc.evaluateTransaction('GetChainInfo', init.channel);
    },
    async height() {
      return chainInfoHeight(await qscc.evaluateTransaction('GetChainInfo', init.channel));
    },
    async hasTransaction(txId) {
      try {
        await qscc.evaluateTransaction('GetTransactionByID', init.channel, txId);
        return true;
      } catch (err) {
        // The peer answered (an endorsement error carrying qscc's 'not found'): it lacks the
        // transaction. No answer at all (unavailable, deadline) is not a 'no'.
        const code = (err as { code?: number }).code;
        if (code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED || code === grpc.status.CANCELLED) throw err;
        return false;
      }
    },
    close() {
      gateway.close();
    },
  };
}
