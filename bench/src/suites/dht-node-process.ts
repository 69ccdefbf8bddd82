import { randomBytes } from 'node:crypto';
import { createDhtNode, createStaticPartyRegistry, type DhtNode } from '@twinledger/dht';

/**
 * One DHT node in its own process, for the dht suite's multi-process phase: each organization
 * runs its own node in deployment, so a put's work (the writer's seal and hashes, each
 * replica's receive, hash check and store write) spreads over the machine's cores instead of
 * sharing one event loop. Driven over the IPC channel by dht.ts; never used by services.
 */
export interface NodeProcessConfig {
  readonly dataDir: string;
  readonly mspId: string;
  readonly encryptionKeyHex: string;
  readonly swarmKeyText: string;
  readonly chunkSize: number;
  readonly parties: ReadonlyArray<{ mspId: string; peerIds: string[]; encryptionPublicKeyHex: string }>;
  /** false: the node speaks only store protocol 1.0.0 (a stream per request), for the A/B. */
  readonly storeSessions: boolean;
  readonly dataChannel: boolean;
  readonly dataChannelMetadata: boolean;
}

export type NodeProcessCommand = { type: 'dial'; addrs: string[] } | { type: 'put'; size: number; runs: number; acl: string[] } | { type: 'stop' };

const config = JSON.parse(process.argv[2] as string) as NodeProcessConfig;
const registry = createStaticPartyRegistry(config.parties.map((p) => ({ mspId: p.mspId, peerIds: p.peerIds, encryptionPublicKey: Buffer.from(p.encryptionPublicKeyHex, 'hex') })));
const node: DhtNode = createDhtNode(
  {
    dataDir: config.dataDir,
    mspId: config.mspId,
    encryptionKey: Buffer.from(config.encryptionKeyHex, 'hex'),
    swarmKey: new TextEncoder().encode(config.swarmKeyText),
    replicationFactor: 3,
    requestTimeoutMs: 60_000,
    chunkSize: config.chunkSize,
    repairIntervalMs: 0,
    gcIntervalMs: 0,
    storeSessions: config.storeSessions,
    dataChannel: config.dataChannel,
    dataChannelMetadata: config.dataChannelMetadata,
  },
  { registry },
);
await node.start();
const send = (msg: unknown): void => void process.send?.(msg);
send({ type: 'ready', addr: node.multiaddrs()[0] });

process.on('message', (msg: NodeProcessCommand) => {
  void (async () => {
    if (msg.type === 'dial') {
      for (const a of msg.addrs) await node.dial(a);
      send({ type: 'dialed' });
    } else if (msg.type === 'put') {
      const data = randomBytes(msg.size);
      const puts: number[] = [];
      // Per put: CPU seconds and whether this node was one of the replicas (it then also stores
      // a copy, so the two kinds of put are reported apart).
      const cpus: number[] = [];
      const selfs: boolean[] = [];
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < msg.runs; i++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        const out = await node.putObject(data, { acl: msg.acl });
        const c = process.cpuUsage(c0);
        puts.push(performance.now() - t0);
        cpus.push((c.user + c.system) / 1e6);
        selfs.push(out.replicas.includes(node.peerId));
      }
      const cpu = process.cpuUsage(cpu0);
      send({ type: 'put', puts, selfReplica: selfs.filter(Boolean).length, cpuS: (cpu.user + cpu.system) / 1e6, cpus, selfs });
    } else {
      await node.stop();
      process.exit(0);
    }
  })().catch((err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  });
});
