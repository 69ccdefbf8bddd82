import { Counter, Gauge, Histogram, type Registry } from '@twinledger/observability';

export interface AgentMetrics {
  readonly syncDuration: Histogram<'outcome'>;
  readonly driftItems: Gauge;
  readonly programCalls: Counter<'status'>;
  readonly readingsProduced: Counter;
  readonly readingsDropped: Counter<'reason'>;
  readonly readingsBuffered: Gauge;
  readonly streamRate: Gauge;
  readonly deviceConnected: Gauge;
  readonly kafkaUp: Gauge;
}

export function createAgentMetrics(registry: Registry): AgentMetrics {
  const p = 'twinledger_device_agent_';
  const registers = [registry];
  return {
    syncDuration: new Histogram({ name: `${p}sync_duration_seconds`, help: 'Duration of a discovery/spec sync run', labelNames: ['outcome'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers }),
    driftItems: new Gauge({ name: `${p}drift_items`, help: 'Differences between twin and device found by the last sync or drift report', registers }),
    programCalls: new Counter({ name: `${p}program_calls_total`, help: 'Program calls acknowledged, by status (EXECUTED, FAILED, REJECTED, EXPIRED)', labelNames: ['status'], registers }),
    readingsProduced: new Counter({ name: `${p}readings_produced_total`, help: 'Sensor readings acknowledged by Kafka (dt.readings)', registers }),
    readingsDropped: new Counter({ name: `${p}readings_dropped_total`, help: 'Sensor readings not forwarded, by reason (rate_limited, buffer_full, no_feed, bad_value)', labelNames: ['reason'], registers }),
    readingsBuffered: new Gauge({ name: `${p}readings_buffered`, help: 'Readings waiting for Kafka', registers }),
    streamRate: new Gauge({ name: `${p}stream_rate_per_second`, help: 'Readings produced per second over the last 10 s', registers }),
    deviceConnected: new Gauge({ name: `${p}device_connected`, help: '1 while the device connection is up', registers }),
    kafkaUp: new Gauge({ name: `${p}kafka_up`, help: '1 while the last produce to Kafka succeeded', registers }),
  };
}
