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

export function createPeerConnectionPool(): PeerConnectionPool {
  const clients = new Map<string, grpc.Client>();
  return {
    get(peer) {
      const key = `${peer.endpoint}|${peer.tlsRootCertPath}|${peer.hostAlias ?? ''}`;
      let client = clients.get(key);
      if (!client) {
        const credentials = grpc.credentials.createSsl(readFileSync(peer.tlsRootCertPath));
        const options: grpc.ChannelOptions = peer.hostAlias ? { 'grpc.ssl_target_name_override': peer.hostAlias } : {};
        client = new grpc.Client(peer.endpoint, credentials, { ...options, 'grpc.keepalive_time_ms': 120_000 });
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
