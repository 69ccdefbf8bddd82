import { createPeerConnectionPool, type PeerConnectionPool } from '@twinledger/fabric-client';
import { Histogram, type Registry } from '@twinledger/observability';
import { createIdentityRegistry, type IdentityRegistry, type IdentityRegistryInit } from './registry.js';

export interface ObservedIdentitiesInit extends Omit<IdentityRegistryInit, 'pool' | 'onCall'> {
  /** Name of the Gateway call latency histogram, e.g. `spec_service_gateway_call_seconds`. */
  readonly metricName: string;
  readonly metrics: Registry;
}

/**
 * What a REST gateway to the ledger needs to sign as its callers: one gRPC connection to the
 * peer, the organization's identities, and the latency of every Gateway call as a metric.
 */
export function createObservedIdentities(init: ObservedIdentitiesInit): { identities: IdentityRegistry; pool: PeerConnectionPool } {
  const { metricName, metrics, ...rest } = init;
  const latency = new Histogram({
    name: metricName,
    help: 'Fabric Gateway call latency by chaincode function, kind and outcome',
    labelNames: ['fn', 'kind', 'outcome'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [metrics],
  });
  const pool = createPeerConnectionPool();
  const identities = createIdentityRegistry({ ...rest, pool, onCall: (fn, kind, seconds, outcome) => latency.observe({ fn, kind, outcome }, seconds) });
  return { identities, pool };
}
