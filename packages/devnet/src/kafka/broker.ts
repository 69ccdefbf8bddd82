import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { run } from '../exec.js';
import { waitHealthy } from '../health.js';
import { ManagedProcess } from '../process.js';
import { LOOPBACK } from '../fabric/topology.js';
import type { KafkaInstall } from '../install/kafka.js';

export interface KafkaBrokerInit {
  readonly install: KafkaInstall;
  readonly workDir: string;
  readonly logDir: string;
  readonly port: number;
  readonly controllerPort: number;
  /** JVM heap; small by default so the whole consortium fits on a 2-core, 24 GiB machine. */
  readonly heap?: string;
}

/** A single-node KRaft broker (broker and controller in one process) on loopback. */
export class KafkaBroker {
  readonly bootstrap: string;
  private readonly init: KafkaBrokerInit;
  private readonly process: ManagedProcess;
  private readonly propertiesFile: string;
  private readonly dataDir: string;

  constructor(init: KafkaBrokerInit) {
    this.init = init;
    this.bootstrap = `${LOOPBACK}:${init.port}`;
    this.dataDir = join(init.workDir, 'data', 'kafka');
    this.propertiesFile = join(init.workDir, 'kafka-server.properties');
    this.process = new ManagedProcess({
      name: 'kafka',
      command: 'java',
      args: [
        `-Xmx${init.heap ?? '768m'}`,
        '-XX:+UseG1GC',
        `-Dlog4j2.configurationFile=${init.install.log4jConfig}`,
        '-cp', `${init.install.libDir}/*`,
        'kafka.Kafka', this.propertiesFile,
      ],
      logFile: join(init.logDir, 'kafka.log'),
    });
  }

  get managedProcess(): ManagedProcess {
    return this.process;
  }

  /** Writes the config, formats fresh storage and starts the broker. */
  async start(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true });
    const props = [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@${LOOPBACK}:${this.init.controllerPort}`,
      `listeners=PLAINTEXT://${LOOPBACK}:${this.init.port},CONTROLLER://${LOOPBACK}:${this.init.controllerPort}`,
      `advertised.listeners=PLAINTEXT://${LOOPBACK}:${this.init.port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${this.dataDir}`,
      'num.partitions=3',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      // Acknowledged means on disk: a broker restart must not lose an acked message.
      'log.flush.interval.messages=1',
      'auto.create.topics.enable=false',
    ].join('\n');
    writeFileSync(this.propertiesFile, `${props}\n`);
    // Kafka's own format (base64url of 16 bytes); argparse would read a leading '-' as a flag.
    let clusterId: string;
    do clusterId = randomBytes(16).toString('base64url').slice(0, 22);
    while (clusterId.startsWith('-'));
    await run('java', ['-cp', `${this.init.install.libDir}/*`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', this.propertiesFile]);
    await this.startProcess();
  }

  /** Starts the broker process on its existing storage (used by start and restart). */
  async startProcess(): Promise<void> {
    this.process.start();
    await waitHealthy(this.process, () => this.metadataReady(), 90_000);
  }

  /** Controlled shutdown and start again on the same data: acknowledged messages must survive. */
  async restart(): Promise<void> {
    await this.process.stop(30_000);
    await this.startProcess();
  }

  async stop(): Promise<void> {
    await this.process.stop(30_000);
  }

  private async metadataReady(): Promise<boolean> {
    const kafka = new kafkajs.Kafka({
      clientId: 'devnet-probe',
      brokers: [this.bootstrap],
      logLevel: kafkajs.logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 1_000,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0 && cluster.controller !== null;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
