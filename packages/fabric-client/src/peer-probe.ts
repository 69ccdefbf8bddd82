import fabricGateway from '@hyperledger/fabric-gateway';
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
  close(): void;
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
    close() {
      gateway.close();
    },
  };
}
