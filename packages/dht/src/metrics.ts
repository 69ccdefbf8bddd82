import { Counter, Gauge, Histogram, type Registry } from '@twinledger/observability';

/** The node's Prometheus metrics (all `twinledger_dht_`), registered on the caller's registry. */
export interface DhtMetrics {
  readonly requests: Counter<'op' | 'result'>;
  /** Refused reads by op (a store op; the label set is bounded by STORE_OPS). */
  readonly aclDenials: Counter<'op'>;
  readonly integrityFailures: Counter<'kind'>;
  readonly replicaFallbacks: Counter<'kind'>;
  readonly repairPushes: Counter<'kind'>;
  readonly repairRuns: Counter;
  readonly underReplicated: Gauge;
  readonly lastRepairItems: Gauge;
  readonly storeItems: Gauge<'kind'>;
  readonly storeBytes: Gauge;
  readonly peers: Gauge;
  readonly gcRemovedChunks: Counter;
  readonly gcRemovedBytes: Counter;
  readonly gcRuns: Counter;
  /** Store requests as this node's client sees them (local handler or remote round trip). */
  readonly clientRequestSeconds: Histogram<'op' | 'target'>;
  /** Store requests served (handler time, storage included), by op. */
  readonly serveSeconds: Histogram<'op'>;
  /** Where a feed append's time goes, by phase (see feeds.ts). */
  readonly feedAppendPhaseSeconds: Histogram<'phase'>;
}

/** Sub-millisecond to seconds: store requests on a LAN and append phases under load. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createDhtMetrics(registry: Registry): DhtMetrics {
  const registers = [registry];
  return {
    requests: new Counter({ name: 'twinledger_dht_store_requests_total', help: 'Store-protocol requests served, by op and result code', labelNames: ['op', 'result'], registers }),
    aclDenials: new Counter({ name: 'twinledger_dht_acl_denials_total', help: 'Reads refused because the requesting party is neither in the item ACL nor a replica of it, by op', labelNames: ['op'], registers }),
    integrityFailures: new Counter({ name: 'twinledger_dht_integrity_failures_total', help: 'Items from a replica that failed hash or AEAD verification', labelNames: ['kind'], registers }),
    replicaFallbacks: new Counter({ name: 'twinledger_dht_replica_fallbacks_total', help: 'Reads served by a replica other than the first tried', labelNames: ['kind'], registers }),
    repairPushes: new Counter({ name: 'twinledger_dht_repair_pushes_total', help: 'Items copied to a replica that lacked them', labelNames: ['kind'], registers }),
    repairRuns: new Counter({ name: 'twinledger_dht_repair_runs_total', help: 'Completed repair passes', registers }),
    underReplicated: new Gauge({ name: 'twinledger_dht_under_replicated_items', help: 'Items found with fewer than r copies in the last repair pass (before repair)', registers }),
    lastRepairItems: new Gauge({ name: 'twinledger_dht_repair_checked_items', help: 'Items checked in the last repair pass', registers }),
    storeItems: new Gauge({ name: 'twinledger_dht_store_items', help: 'Items held locally, by kind', labelNames: ['kind'], registers }),
    storeBytes: new Gauge({ name: 'twinledger_dht_store_bytes', help: 'Bytes of chunks and manifests held locally', registers }),
    peers: new Gauge({ name: 'twinledger_dht_connected_peers', help: 'Connected consortium peers', registers }),
    gcRemovedChunks: new Counter({ name: 'twinledger_dht_gc_removed_chunks_total', help: 'Orphan chunks (listed by no held manifest, older than the grace period) removed', registers }),
    gcRemovedBytes: new Counter({ name: 'twinledger_dht_gc_removed_bytes_total', help: 'Bytes of orphan chunks removed', registers }),
    gcRuns: new Counter({ name: 'twinledger_dht_gc_runs_total', help: 'Completed garbage-collection passes', registers }),
    clientRequestSeconds: new Histogram({
      name: 'twinledger_dht_client_request_seconds',
      help: 'Store requests sent by this node, from send to answer, by op and target (local or remote)',
      labelNames: ['op', 'target'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    serveSeconds: new Histogram({ name: 'twinledger_dht_serve_seconds', help: 'Store requests served by this node, handler time, by op', labelNames: ['op'], buckets: LATENCY_BUCKETS, registers }),
    feedAppendPhaseSeconds: new Histogram({
      name: 'twinledger_dht_feed_append_phase_seconds',
      help: 'Feed appends by phase: prepare (slot and ACL read), object (segment stored), order (waiting for the previous index), update, head',
      labelNames: ['phase'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
  };
}
