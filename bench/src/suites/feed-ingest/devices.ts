import { parentPort, workerData } from 'node:worker_threads';
import { createIdempotentProducer, createKafka, sendAcked, type Producer } from '@twinledger/kafka';

/**
 * The devices of the feed-ingest bench: a paced kafkajs producer on its own thread. Devices
 * are other machines in a deployment; on the bench's shared event loop their producer's CPU
 * (record batches, CRC-32C) queued the Org2/Org3 DHT nodes' request handling behind it, which
 * showed up as sharing latency that no deployment has.
 */
export interface DevicesInit {
  readonly brokers: string[];
  readonly topic: string;
  /** One message template per feed: the JSON split around its timestamp slots. */
  readonly templates: ReadonlyArray<{ readonly feed: string; readonly parts: readonly string[] }>;
  readonly rate: number;
  readonly total: number;
  readonly perMessage: number;
}

export interface DevicesResult {
  readonly sent: number;
  readonly produceMs: number;
}

/** Sends in record batches under the broker's 1 MiB limit, a few requests in flight. */
export async function sendChunked(producer: Producer, topic: string, messages: { key: string; value: string | Buffer }[]): Promise<void> {
  const chunks: { key: string; value: string | Buffer }[][] = [];
  for (let i = 0; i < messages.length; i += 8) chunks.push(messages.slice(i, i + 8));
  for (let i = 0; i < chunks.length; i += 4) await Promise.all(chunks.slice(i, i + 4).map((c) => sendAcked(producer, topic, c)));
}

async function run(init: DevicesInit): Promise<DevicesResult> {
  const producer = createIdempotentProducer(createKafka({ brokers: init.brokers, clientId: 'bench-devices' }));
  await producer.connect();
  try {
    // Messages are assembled as bytes: the template's parts once as Buffers, the timestamp slot
    // written per message. Joining a 40 KB string per message and encoding it again cost this
    // thread more (string garbage, UTF-8 encoding) than the Kafka client's own work.
    const templates = init.templates.map((t) => ({ feed: t.feed, parts: t.parts.map((part) => Buffer.from(part, 'utf8')) }));
    const build = (parts: readonly Buffer[], ts: number): Buffer => {
      const slot = Buffer.from(String(ts), 'latin1');
      let size = slot.length * (parts.length - 1);
      for (const part of parts) size += part.length;
      const out = Buffer.allocUnsafe(size);
      let at = parts[0]!.copy(out, 0);
      for (let i = 1; i < parts.length; i++) {
        at += slot.copy(out, at);
        at += parts[i]!.copy(out, at);
      }
      return out;
    };
    const start = Date.now();
    let sent = 0;
    let m = 0;
    // Paced in ticks so the figure is a sustained rate with honest latencies, not a backlog
    // drain; each message is stamped when it is created, as a device stamps its reading.
    while (sent < init.total) {
      const due = Math.min(init.total, Math.ceil((((Date.now() - start) / 1000) * init.rate) / init.perMessage) * init.perMessage);
      const batch = [];
      while (sent < due) {
        const t = templates[m++ % templates.length]!;
        batch.push({ key: t.feed, value: build(t.parts, Date.now()) });
        sent += init.perMessage;
      }
      if (batch.length > 0) await sendChunked(producer, init.topic, batch);
      else await new Promise((r) => setTimeout(r, 10));
    }
    return { sent, produceMs: Date.now() - start };
  } finally {
    await producer.disconnect();
  }
}

if (parentPort !== null && workerData !== undefined && workerData !== null) {
  const port = parentPort;
  run(workerData as DevicesInit).then(
    (res) => port.postMessage({ ok: true, res }),
    (err: unknown) => port.postMessage({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
  );
}
