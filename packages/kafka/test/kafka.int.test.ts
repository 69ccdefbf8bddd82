import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startNetwork, testNetworkInit, type DevNetwork } from '@twinledger/devnet';
import { createConsumer, createIdempotentProducer, createKafka, ensureTopics, sendAcked, type Kafka } from '../src/index.js';

/** Reads every message of `topic` from the beginning with a fresh group until `count` arrive. */
async function readAll(kafka: Kafka, topic: string, count: number, timeoutMs = 60_000): Promise<string[]> {
  const consumer = createConsumer(kafka, { groupId: `reader-${Date.now()}-${Math.random()}` });
  const seen: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.length}/${count} messages within ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
          if (seen.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe('the real Kafka broker (KRaft)', () => {
  let net: DevNetwork;
  let kafka: Kafka;

  beforeAll(async () => {
    net = await startNetwork({ fabric: false, kafka: true, ...testNetworkInit() });
    kafka = createKafka({ brokers: [net.kafka!.bootstrap], clientId: 'kafka-test' });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic: 'test.acked', partitions: 3 }]);
    await admin.disconnect();
  });

  afterAll(async () => {
    await net?.stop();
  });

  it('is a real JVM broker process', () => {
    expect(net.kafka!.managedProcess.isRunning()).toBe(true);
    expect(net.kafka!.managedProcess.spec.args).toContain('kafka.Kafka');
  });

  it('produces idempotently with acks=all and consumes every message, and keeps all of them across a broker restart', async () => {
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    const sent: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const messages = Array.from({ length: 50 }, (_, i) => ({ key: `feed-${i % 7}`, value: `m-${batch}-${i}` }));
      await sendAcked(producer, 'test.acked', messages);
      sent.push(...messages.map((m) => m.value));
    }
    await producer.disconnect();

    expect((await readAll(kafka, 'test.acked', sent.length)).sort()).toEqual([...sent].sort());

    await net.kafka!.restart();

    const afterRestart = await readAll(kafka, 'test.acked', sent.length);
    expect(afterRestart.sort()).toEqual([...sent].sort());
    // Idempotence: nothing was duplicated by the producer's retries.
    expect(new Set(afterRestart).size).toBe(sent.length);
  });

  it('refuses to auto-create topics, so a misspelt topic fails loudly', async () => {
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    try {
      await expect(sendAcked(producer, 'no.such.topic', [{ key: 'k', value: 'v' }])).rejects.toThrow();
    } finally {
      await producer.disconnect();
    }
  });
});
