import fabricGateway from '@hyperledger/fabric-gateway';
import type { ChaincodeEvent, Checkpointer, CloseableAsyncIterable, Contract, Gateway, Network } from '@hyperledger/fabric-gateway';
import grpc from '@grpc/grpc-js';
import {
  CommitOutcomeUnknownError,
  EndorsementFailedError,
  GatewayUnavailableError,
  MvccConflictError,
  PeerUnavailableError,
  SubmitFailedError,
  TransactionInvalidError,
} from './errors.js';
import type { PeerConnectionPool, PeerEndpoint } from './connection.js';
import type { LoadedIdentity } from './identity.js';
import type { PeerHealth } from './peer-health.js';
import { PEER_LAG_RETRY, withWriteRetry } from './retry.js';

const { connect, EndorseError, CommitStatusError, CommitError, GatewayError, hash } = fabricGateway;

/** Deadlines per call type, in milliseconds. The caller decides; the library reads no environment. */
export interface Deadlines {
  readonly evaluateMs: number;
  readonly endorseMs: number;
  readonly submitMs: number;
  readonly commitStatusMs: number;
}

export const DEFAULT_DEADLINES: Deadlines = { evaluateMs: 5_000, endorseMs: 15_000, submitMs: 5_000, commitStatusMs: 60_000 };

export interface FabricClientInit {
  readonly pool: PeerConnectionPool;
  readonly peer: PeerEndpoint;
  readonly identity: LoadedIdentity;
  readonly channel: string;
  readonly chaincode: string;
  /** Overrides of DEFAULT_DEADLINES. */
  readonly deadlines?: Partial<Deadlines>;
  /**
   * The health of `peer`, shared by every client of it: while it is down, evaluate and submit
   * fail at once with PeerUnavailableError instead of waiting for their deadlines.
   */
  readonly health?: PeerHealth;
}

export interface SubmitResult {
  readonly result: Uint8Array;
  readonly transactionId: string;
  readonly blockNumber: bigint;
}

export interface TransactionOptions {
  /** Private inputs that endorsing peers see but that are not recorded on the ledger. */
  readonly transientData?: Record<string, Uint8Array>;
}

export interface EventStreamOptions {
  /** Resume from the checkpoint (exactly after the last event it recorded). */
  readonly checkpoint?: Checkpointer;
  /** Start at this block when there is no checkpoint; default: the next block. */
  readonly startBlock?: bigint;
}

export interface FabricClient {
  /** A read, answered by one peer, never ordered. `fn` is `contract:function`. */
  evaluate(fn: string, args: readonly string[]): Promise<Uint8Array>;
  /** A write: endorse, order, and wait until committed as valid. */
  submit(fn: string, args: readonly string[], options?: TransactionOptions): Promise<SubmitResult>;
  /** The chaincode's events, in commit order, resumable through a checkpointer. */
  chaincodeEvents(options?: EventStreamOptions): Promise<CloseableAsyncIterable<ChaincodeEvent>>;
  readonly mspId: string;
  close(): void;
}

/** The Gateway's answer when too few BFT orderers accepted a broadcast (see mapGatewayError). */
const BFT_NO_QUORUM = /insufficient number of orderers could successfully process transaction to satisfy quorum/;
/**
 * The Gateway's answer when its own organization's peer endorsed but the other peers the policy
 * needs did not (Fabric's endorse.go: the first endorser is asked alone, the rest after it). Its
 * answer when the first endorser fails is "failed to endorse transaction".
 */
const LATER_ENDORSERS_FAILED = /failed to collect enough transaction endorsements/;

const deadline = (ms: number) => () => ({ deadline: Date.now() + ms });

/** Maps the gateway's error classes to ours, keeping transaction ids and the peers' answers. */
export function mapGatewayError(err: unknown): Error {
  if (err instanceof EndorseError) {
    const text = [err.message, ...err.details.map((d) => d.message)].join(' | ');
    // A chaincode refusal is an endorsement failure here; @twinledger/ledger re-types it by its code.
    const failed = new EndorsementFailedError(`endorsement failed: ${text}`, {
      cause: err,
      transactionId: err.transactionId,
      peerMessages: err.details.map((d) => d.message),
      peersDisagree: err.code === grpc.status.ABORTED && LATER_ENDORSERS_FAILED.test(err.message),
    });
    // A peer that answered with a refusal is not "unavailable", whatever the gRPC status says.
    if (!failed.refusedByChaincode && (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED)) {
      return new GatewayUnavailableError(`peer unavailable: ${text}`, { cause: err, transactionId: err.transactionId });
    }
    return failed;
  }
  if (err instanceof CommitError) {
    const name = String(err.code);
    // MVCC_READ_CONFLICT (11) and PHANTOM_READ_CONFLICT (12) mean a concurrent write won.
    if (err.code === 11 || err.code === 12) {
      return new MvccConflictError(`transaction ${err.transactionId} lost a read conflict (validation code ${name})`, { cause: err, transactionId: err.transactionId });
    }
    return new TransactionInvalidError(`transaction ${err.transactionId} invalid (validation code ${name})`, err.code, { cause: err, transactionId: err.transactionId });
  }
  if (err instanceof CommitStatusError) {
    return new CommitOutcomeUnknownError(`commit status unknown for ${err.transactionId}: ${err.message}`, { cause: err, transactionId: err.transactionId });
  }
  // Past its deadline the orderer may still have taken the transaction: as unknown as above.
  // (The gateway package exports SubmitError as a type only, so it is recognized by name.)
  if (err instanceof GatewayError && err.name === 'SubmitError' && err.code === grpc.status.DEADLINE_EXCEEDED) {
    const tx = (err as { transactionId?: string }).transactionId;
    return new CommitOutcomeUnknownError(`submit of ${tx ?? 'a transaction'} timed out; it may still commit: ${err.message}`, { cause: err, transactionId: tx });
  }
  // Under BFT the Gateway broadcasts to every orderer and wants a quorum of acceptances; short
  // of it, it answers UNAVAILABLE, but the orderers that did accept keep the transaction in
  // their request pools and order it once a quorum is back (Fabric's gateway submitBFT). So the
  // outcome is unknown, not "nothing happened": a blind retry could write twice.
  if (err instanceof GatewayError && err.name === 'SubmitError' && BFT_NO_QUORUM.test(err.message)) {
    const tx = (err as { transactionId?: string }).transactionId;
    return new CommitOutcomeUnknownError(
      `the ordering service has no quorum (BFT: fewer than 2f + 1 orderers accepted ${tx ?? 'the transaction'}); it may still commit once enough orderers are back: ${err.message}`,
      { cause: err, transactionId: tx },
    );
  }
  if (err instanceof GatewayError) {
    const text = [err.message, ...err.details.map((d) => d.message)].join(' | ');
    const tx = (err as { transactionId?: string }).transactionId;
    const failed = new SubmitFailedError(`gateway call failed: ${text}`, { cause: err, transactionId: tx, peerMessages: err.details.map((d) => d.message) });
    if (!failed.refusedByChaincode && (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED)) {
      return new GatewayUnavailableError(`peer unavailable: ${text}`, { cause: err, transactionId: tx });
    }
    return failed;
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function createFabricClient(init: FabricClientInit): FabricClient {
  const d = { ...DEFAULT_DEADLINES, ...init.deadlines };
  const gateway: Gateway = connect({
    client: init.pool.get(init.peer),
    identity: init.identity.identity,
    signer: init.identity.signer,
    hash: hash.sha256,
    evaluateOptions: deadline(d.evaluateMs),
    endorseOptions: deadline(d.endorseMs),
    submitOptions: deadline(d.submitMs),
    commitStatusOptions: deadline(d.commitStatusMs),
  });
  const network: Network = gateway.getNetwork(init.channel);
  const contract: Contract = network.getContract(init.chaincode);

  const health = init.health;
  // Errors as the peer gives them when unreachable make the tracker probe now, not at its tick.
  const mapped = (err: unknown): Error => {
    const out = mapGatewayError(err);
    if (out instanceof GatewayUnavailableError && !(out instanceof PeerUnavailableError)) health?.suspect();
    return out;
  };

  return {
    mspId: init.identity.identity.mspId,
    async evaluate(fn, args) {
      try {
        const call = () => contract.evaluateTransaction(fn, ...args);
        return await (health ? health.run(call) : call());
      } catch (err) {
        throw mapped(err);
      }
    },
    async submit(fn, args, options = {}) {
      try {
        const proposal = contract.newProposal(fn, { arguments: [...args], transientData: options.transientData });
        // Only endorsement is given up when the peer goes down: nothing has been ordered yet, so
        // 503 is the truth. Once handed to the orderer, the outcome is waited for (or unknown, 504).
        const endorseOnce = () => proposal.endorse();
        // Another organization's peer still behind this client's previous write refuses what ours
        // endorsed: endorsed again once it has caught up (nothing was ordered; PEER_LAG_RETRY).
        const endorse = async () => {
          try {
            return await (health ? health.run(endorseOnce) : endorseOnce());
          } catch (err) {
            throw mapped(err);
          }
        };
        const transaction = await withWriteRetry(endorse, PEER_LAG_RETRY);
        health?.assertUp();
        const submitted = await transaction.submit();
        const status = await submitted.getStatus();
        if (!status.successful) throw newCommitError(status);
        return { result: submitted.getResult(), transactionId: status.transactionId, blockNumber: status.blockNumber };
      } catch (err) {
        throw mapped(err);
      }
    },
    async chaincodeEvents(options = {}) {
      try {
        return await network.getChaincodeEvents(init.chaincode, {
          checkpoint: options.checkpoint,
          startBlock: options.startBlock,
        });
      } catch (err) {
        throw mapGatewayError(err);
      }
    },
    close() {
      gateway.close();
    },
  };
}

function newCommitError(status: { code: number; transactionId: string }): InstanceType<typeof CommitError> {
  return new CommitError({ code: status.code as never, transactionId: status.transactionId, message: `transaction ${status.transactionId} failed to commit with status code ${status.code}` });
}
