import { describe, expect, it } from '@jest/globals';
import fabricGateway from '@hyperledger/fabric-gateway';
import grpc from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import { UnavailableError } from '@twinledger/errors';
import { CommitOutcomeUnknownError, EndorsementFailedError, GatewayUnavailableError, PeerUnavailableError, SubmitFailedError, mapGatewayError } from '../src/index.js';

const { CommitStatusError, EndorseError, GatewayError } = fabricGateway;
// The package exports SubmitError as a type only; the class is what a failed submit throws.
const { SubmitError } = createRequire(import.meta.url)('@hyperledger/fabric-gateway/dist/submiterror.js') as {
  SubmitError: new (p: { code: number; details: []; cause: grpc.ServiceError; transactionId: string; message?: string }) => Error;
};
const cause = {} as grpc.ServiceError;
const TX = 'ab'.repeat(32);

describe('mapGatewayError: when the outcome of a write is unknown', () => {
  it('maps a commit-status failure (deadline or lost peer) to OUTCOME_UNKNOWN 504, not GATEWAY_UNAVAILABLE', () => {
    for (const code of [grpc.status.DEADLINE_EXCEEDED, grpc.status.UNAVAILABLE]) {
      const mapped = mapGatewayError(new CommitStatusError({ code, details: [], cause, transactionId: TX, message: 'commit status' }));
      expect(mapped).toBeInstanceOf(CommitOutcomeUnknownError);
      expect(mapped).toMatchObject({ code: 'OUTCOME_UNKNOWN', httpStatus: 504, transactionId: TX });
    }
  });

  it('maps a submit past its deadline to OUTCOME_UNKNOWN (the orderer may have it), an unreachable orderer to GATEWAY_UNAVAILABLE', () => {
    expect(mapGatewayError(new SubmitError({ code: grpc.status.DEADLINE_EXCEEDED, details: [], cause, transactionId: TX, message: 'deadline' }))).toMatchObject({
      code: 'OUTCOME_UNKNOWN',
      transactionId: TX,
    });
    expect(mapGatewayError(new SubmitError({ code: grpc.status.UNAVAILABLE, details: [], cause, transactionId: TX, message: 'down' }))).toBeInstanceOf(GatewayUnavailableError);
    // BFT without a quorum: orderers that accepted may still order it, so it is not "unavailable".
    const noQuorum = '14 UNAVAILABLE: insufficient number of orderers could successfully process transaction to satisfy quorum requirement';
    expect(mapGatewayError(new SubmitError({ code: grpc.status.UNAVAILABLE, details: [], cause, transactionId: TX, message: noQuorum }))).toMatchObject({
      code: 'OUTCOME_UNKNOWN',
      httpStatus: 504,
      transactionId: TX,
      details: { transactionId: TX },
    });
    expect(mapGatewayError(new GatewayError({ code: grpc.status.DEADLINE_EXCEEDED, details: [], cause, message: 'evaluate' }))).toBeInstanceOf(GatewayUnavailableError);
  });

  it('gives GATEWAY_UNAVAILABLE a Retry-After (an UnavailableError), and passes PEER_UNAVAILABLE through as it is', () => {
    const mapped = mapGatewayError(new GatewayError({ code: grpc.status.UNAVAILABLE, details: [], cause, message: 'connection refused' }));
    expect(mapped).toBeInstanceOf(UnavailableError);
    expect(mapped).toMatchObject({ name: GatewayUnavailableError.name, code: 'GATEWAY_UNAVAILABLE', httpStatus: 503, retryAfterSeconds: 2 });
    const down = new PeerUnavailableError('peer down', { retryAfterSeconds: 3 });
    expect(mapGatewayError(down)).toBe(down);
    expect(down).toBeInstanceOf(GatewayUnavailableError);
    expect(down).toMatchObject({ name: PeerUnavailableError.name, code: 'PEER_UNAVAILABLE', httpStatus: 503, retryAfterSeconds: 3 });
  });

  it("keeps a chaincode's coded refusal in peerMessages (the ledger package types it), never as unavailable", () => {
    const coded = (code: number, text: string) => mapGatewayError(new GatewayError({ code, details: [{ address: 'p', mspId: 'Org1MSP', message: text }], cause, message: 'x' }));
    const refused = coded(grpc.status.ABORTED, 'chaincode response 500, GRANT_FORBIDDEN: no');
    expect(refused).toBeInstanceOf(SubmitFailedError);
    expect(refused).toMatchObject({ peerMessages: ['chaincode response 500, GRANT_FORBIDDEN: no'], refusedByChaincode: true });
    expect(coded(grpc.status.UNAVAILABLE, 'chaincode response 500, NOT_FOUND: twin')).toBeInstanceOf(SubmitFailedError);
    expect(coded(grpc.status.UNAVAILABLE, 'connection refused')).toBeInstanceOf(GatewayUnavailableError);
  });

  it('marks a refusal by a later endorser, after this organization\'s peer endorsed, as the peers disagreeing (a lagging peer), and one by our own peer as not', () => {
    const lagging = 'chaincode response 500, INVALID_STATE: the next anchor of feed f starts at index 0, not 10';
    const endorse = (message: string) =>
      mapGatewayError(new EndorseError({ code: grpc.status.ABORTED, details: [{ address: 'peer0.org2', mspId: 'Org2MSP', message: lagging }], cause, transactionId: TX, message }));
    const later = endorse('10 ABORTED: failed to collect enough transaction endorsements, see attached details for more info');
    expect(later).toBeInstanceOf(EndorsementFailedError);
    expect(later).toMatchObject({ peersDisagree: true, refusedByChaincode: true, transactionId: TX });
    const first = endorse('10 ABORTED: failed to endorse transaction, see attached details for more info');
    expect(first).toMatchObject({ peersDisagree: false, refusedByChaincode: true });
  });
});
