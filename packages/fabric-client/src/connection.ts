import { readFileSync } from 'node:fs';
import grpc from '@grpc/grpc-js';

export interface PeerEndpoint {
  /** host:port of the peer's Gateway service. */
  readonly endpoint: string;
  /** PEM file of the TLS CA that signed the peer's server certificate. */
  readonly tlsRootCertPath: string;
  /** The name in the peer's certificate when it differs from the endpoint's host. */
  readonly hostAlias?: string;
}

/**
 * One gRPC client per peer, shared by every identity and gateway of the process: a gRPC
 * channel is expensive and multiplexes any number of calls.
 */
export interface PeerConnectionPool {
  get(peer: PeerEndpoint): grpc.Client;
  close(): void;
}

/** Largest gRPC message to or from a peer: Fabric's default for the peer and orderer, 100 MiB. */
export const MAX_MESSAGE_BYTES = 100 * 1024 * 1024;

export function createPeerConnectionPool(): PeerConnectionPool {
  const clients = new Map<string, grpc.Client>();
  return {
    get(peer) {
      const key = `${peer.endpoint}|${peer.tlsRootCertPath}|${peer.hostAlias ?? ''}`;
      let client = clients.get(key);
      if (!client) {
        const credentials = grpc.credentials.createSsl(readFileSync(peer.tlsRootCertPath));
        const options: grpc.ChannelOptions = peer.hostAlias ? { 'grpc.ssl_target_name_override': peer.hostAlias } : {};
        client = new grpc.Client(peer.endpoint, credentials, {
          ...options,
          'grpc.keepalive_time_ms': 120_000,
          // grpc-js receives at most 4 MiB by default: a 20,000-component specification (about
          // 5 MB of AML, more as JSON) would fail to arrive. The peer's own limit is 100 MiB
          // (peer.limits / MaxRecvMsgSize), so the client matches it both ways.
          'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
          'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
        });
        clients.set(key, client);
      }
      return client;
    },
    close() {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}
