import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '@twinledger/errors';
import { buildChaincode, chaincodeServerProcess, deployChaincode, packageChaincode, startChaincodeServer, waitChaincodeReady } from './fabric/chaincode.js';
import { createGenesisBlock, MIN_BFT_CONSENTERS, type Consensus } from './fabric/channel.js';
import { waitEndorsable } from './fabric/ready.js';
import { generateCrypto } from './fabric/crypto.js';
import { joinOrderer, joinPeer, ordererProcess, peerProcess, startAndWait, type NodeContext } from './fabric/nodes.js';
import { CHAINCODE_NAME, CHANNEL, KAFKA_OFFSET, MAX_ORGS, PORTS_PER_ORG, orgTopology, portsOf, type IdentityFiles, type OrgTopology } from './fabric/topology.js';
import { defaultCacheDir } from './install/cache.js';
import { installFabric, type FabricInstall } from './install/fabric.js';
import { installKafka } from './install/kafka.js';
import { KafkaBroker } from './kafka/broker.js';
import { assertPortsFree, findFreeRange, releaseRange } from './ports.js';
import type { ManagedProcess } from './process.js';

export interface NetworkInit {
  /** Organization names, lower case; each gets a peer and an ordering node. Default: org1, org2. */
  readonly orgs?: readonly string[];
  /**
   * Ordering: `bft` (SmartBFT, tolerates one faulty or malicious orderer among four) or `raft`
   * (crash faults only). Default: `bft` from four organizations on, `raft` below (BFT needs
   * 3f + 1 consenters, so with fewer it would tolerate no fault at all while costing more).
   */
  readonly consensus?: Consensus;
  /** Start Fabric (default true). */
  readonly fabric?: boolean;
  /** Start the Kafka broker (default true). */
  readonly kafka?: boolean;
  /** First port of the network's range; default: the first free range found from 20000. */
  readonly basePort?: number;
  /** Run directory (crypto, ledgers, logs). Default: a fresh temporary directory, removed on stop. */
  readonly workDir?: string;
  /** Engine install cache. Default ~/.cache/twinledger. */
  readonly cacheDir?: string;
  /** A Fabric release layout (bin/, config/) to use instead of `go install`. */
  readonly fabricHome?: string;
  /** The chaincode package folder. Default: the repo's chaincode/. */
  readonly chaincodeDir?: string;
  /** Orderer batch timeout. Default 250ms, so tests are quick. */
  readonly batchTimeout?: string;
  /**
   * The peers' ledger.state.totalQueryLimit (default: the shipped core.yaml's 100000). Tests
   * set it low to prove that no read of the chaincode is cut by it silently.
   */
  readonly totalQueryLimit?: number;
  /** Keep the run directory after stop (it is always kept when start fails, for its logs). */
  readonly keepWorkDir?: boolean;
  readonly log?: (line: string) => void;
}

export interface OrgHandle extends OrgTopology {
  readonly peerProcess: ManagedProcess;
  readonly ordererProcess: ManagedProcess;
}

export interface DevNetwork {
  readonly channel: string;
  readonly chaincode: string;
  readonly workDir: string;
  readonly logDir: string;
  readonly basePort: number;
  /** How the orderers agree (see NetworkInit.consensus); undefined without Fabric. */
  readonly consensus: Consensus | undefined;
  readonly orgs: readonly OrgHandle[];
  /** A client identity of an organization that is not a channel member (for refusal tests). */
  readonly outsider: (IdentityFiles & { readonly name: string }) | undefined;
  readonly kafka: KafkaBroker | undefined;
  readonly chaincodeServer: ManagedProcess | undefined;
  /** Milliseconds spent installing engines (0 on a warm cache) and starting the network. */
  readonly timings: { readonly installMs: number; readonly startMs: number };
  /** Path of network.json, the description other processes read to connect. */
  readonly descriptorFile: string;
  stop(): Promise<void>;
}

export const DEFAULT_ORGS = ['org1', 'org2'] as const;
export const CONSORTIUM_ORGS = ['manufacturer', 'owner', 'maintainer', 'auditor'] as const;

export function repoChaincodeDir(): string {
  // src/ under jest and dist/ when compiled sit at the same depth.
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'chaincode');
}

/** The consensus a network of these organizations runs: asked for, or the default. */
export function consensusFor(orgCount: number, asked?: Consensus): Consensus {
  if (asked !== undefined && asked !== 'raft' && asked !== 'bft') throw new ValidationError(`consensus must be 'raft' or 'bft', got '${String(asked)}'`);
  if (asked === 'bft' && orgCount < MIN_BFT_CONSENTERS) {
    throw new ValidationError(`BFT ordering needs at least ${MIN_BFT_CONSENTERS} organizations (3f + 1 consenters to tolerate f faults), got ${orgCount}`);
  }
  return asked ?? (orgCount >= MIN_BFT_CONSENTERS ? 'bft' : 'raft');
}

function validateOrgs(orgs: readonly string[]): void {
  if (orgs.length < 1 || orgs.length > MAX_ORGS) throw new ValidationError(`between 1 and ${MAX_ORGS} organizations, got ${orgs.length}`);
  for (const o of orgs) if (!/^[a-z][a-z0-9]{0,30}$/.test(o)) throw new ValidationError(`organization name '${o}' must be lower-case letters and digits`);
  if (new Set(orgs).size !== orgs.length) throw new ValidationError('organization names must be distinct');
}

/** Installs the engines (or finds them cached). Kafka and Fabric are independent. */
export async function installEngines(init: { cacheDir?: string; fabricHome?: string; fabric?: boolean; kafka?: boolean; log?: (l: string) => void }) {
  const cacheDir = init.cacheDir ?? defaultCacheDir();
  mkdirSync(cacheDir, { recursive: true });
  const kafka = init.kafka === false ? undefined : await installKafka({ cacheDir, log: init.log });
  const fabric = init.fabric === false ? undefined : await installFabric({ cacheDir, fabricHome: init.fabricHome, log: init.log });
  return { kafka, fabric };
}

/**
 * Brings up a real local consortium as native processes: per organization an ordering node
 * (SmartBFT or Raft, see NetworkInit.consensus) and a peer (TLS, Gateway on), channel `twins` joined by all, the `twinledger` chaincode deployed
 * as a chaincode service through the real lifecycle, and a KRaft Kafka broker.
 */
export async function startNetwork(init: NetworkInit = {}): Promise<DevNetwork> {
  const log = init.log ?? (() => undefined);
  const orgNames = init.orgs ?? DEFAULT_ORGS;
  validateOrgs(orgNames);
  const consensus = consensusFor(orgNames.length, init.consensus);
  const withFabric = init.fabric ?? true;
  const withKafka = init.kafka ?? true;

  const t0 = Date.now();
  const engines = await installEngines({ cacheDir: init.cacheDir, fabricHome: init.fabricHome, fabric: withFabric, kafka: withKafka, log });
  const installMs = Date.now() - t0;

  const t1 = Date.now();
  const basePort = init.basePort ?? (await findFreeRange(KAFKA_OFFSET + 10));
  const workDir = init.workDir ?? mkdtempSync(join(tmpdir(), 'twinledger-devnet-'));
  const logDir = join(workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const kafkaPort = basePort + KAFKA_OFFSET;
  const chaincodePort = basePort + KAFKA_OFFSET + 2;
  const shared = new Map<number, string>();
  if (withKafka) {
    shared.set(kafkaPort, 'kafka');
    shared.set(kafkaPort + 1, 'kafka controller');
  }
  if (withFabric) shared.set(chaincodePort, 'chaincode server');

  const started: ManagedProcess[] = [];
  let kafka: KafkaBroker | undefined;
  let orgs: OrgHandle[] = [];
  let outsider: DevNetwork['outsider'];
  let chaincodeServer: ManagedProcess | undefined;
  const stopAll = async (): Promise<void> => {
    await Promise.all([...started].reverse().map((p) => p.stop()));
    if (init.basePort === undefined) releaseRange(basePort);
  };

  const startKafka = async (): Promise<void> => {
    if (!withKafka || !engines.kafka) return;
    kafka = new KafkaBroker({ install: engines.kafka, workDir, logDir, port: kafkaPort, controllerPort: kafkaPort + 1 });
    started.push(kafka.managedProcess);
    await kafka.start();
    log(`kafka: broker ${engines.kafka.version} (KRaft) on ${kafka.bootstrap}`);
  };
  const startFabric = async (): Promise<void> => {
    if (!withFabric) return;
    const fabric = engines.fabric as FabricInstall;
    const cryptoDir = await generateCrypto(join(fabric.binDir, 'cryptogen'), workDir, orgNames, ['outsider']);
    const topo = orgNames.map((n, i) => orgTopology(n, i, basePort, cryptoDir));
    await assertPortsFree(portsOf(topo, shared));
    const o = orgTopology('outsider', MAX_ORGS - 1, basePort, cryptoDir);
    outsider = { ...o.users[0]!, name: 'outsider' };
    const ctx: NodeContext = {
      fabric,
      workDir,
      logDir,
      loggingSpec: 'warn:gateway=info:chaincode=info',
      ...(init.totalQueryLimit !== undefined ? { totalQueryLimit: init.totalQueryLimit } : {}),
    };

    log(`fabric: ${topo.length} orgs (${topo.map((t) => t.mspId).join(', ')}), ${consensus === 'bft' ? 'SmartBFT' : 'Raft'} ordering, ports ${basePort}-${basePort + topo.length * PORTS_PER_ORG - 1}`);
    const block = await createGenesisBlock(join(fabric.binDir, 'configtxgen'), workDir, topo, { batchTimeout: init.batchTimeout ?? '250ms', consensus });

    orgs = topo.map((t, i) => ({
      ...t,
      ordererProcess: ordererProcess(ctx, t),
      peerProcess: peerProcess(ctx, t, topo[(i + 1) % topo.length]!.peer.endpoint),
    }));
    await Promise.all(
      orgs.map(async (org) => {
        started.push(org.ordererProcess);
        await startAndWait(org.ordererProcess, org.orderer.operationsPort, [org.orderer.adminPort]);
        await joinOrderer(ctx, org, block);
      }),
    );
    log('fabric: orderers up and joined to channel twins');
    await Promise.all(
      orgs.map(async (org) => {
        started.push(org.peerProcess);
        await startAndWait(org.peerProcess, org.peer.operationsPort, [org.peer.port]);
        await joinPeer(ctx, org, block);
      }),
    );
    log('fabric: peers up and joined to channel twins');

    const chaincodeDir = init.chaincodeDir ?? repoChaincodeDir();
    await buildChaincode(chaincodeDir, log);
    const deploy = { sourceDir: chaincodeDir, port: chaincodePort, version: '1.0', sequence: 1 };
    const pkg = await packageChaincode(workDir, deploy);
    chaincodeServer = chaincodeServerProcess(ctx, deploy, pkg.packageId);
    started.push(chaincodeServer);
    await startChaincodeServer(chaincodeServer, chaincodePort);
    await deployChaincode(ctx, orgs, deploy, pkg);
    await waitChaincodeReady(ctx, orgs, chaincodeServer);
    await waitEndorsable(orgs);
    log(`fabric: chaincode ${CHAINCODE_NAME} committed and serving (${pkg.packageId.slice(0, 32)}...)`);
  };

  try {
    // Ports are checked before anything starts; then Kafka and Fabric come up side by side.
    await assertPortsFree(shared);
    // allSettled, not all: when one side fails, the other must finish starting before
    // everything is stopped, or a broker still formatting its storage would start afterwards
    // and outlive the network (holding ports another network may then claim).
    const results = await Promise.allSettled([startFabric(), startKafka()]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  } catch (err) {
    await stopAll();
    log(`start failed; logs kept in ${logDir}`);
    throw err;
  }

  const startMs = Date.now() - t1;
  const descriptorFile = join(workDir, 'network.json');
  const network: DevNetwork = {
    channel: CHANNEL,
    chaincode: CHAINCODE_NAME,
    workDir,
    logDir,
    basePort,
    consensus: withFabric ? consensus : undefined,
    orgs,
    outsider,
    kafka,
    chaincodeServer,
    timings: { installMs, startMs },
    descriptorFile,
    async stop() {
      await stopAll();
      if (init.workDir === undefined && !init.keepWorkDir) rmSync(workDir, { recursive: true, force: true });
    },
  };
  writeFileSync(descriptorFile, JSON.stringify(describe(network), null, 2));
  return network;
}

/** The connection facts other processes need, without process handles. */
export function describe(net: DevNetwork): unknown {
  return {
    channel: net.channel,
    chaincode: net.chaincode,
    consensus: net.consensus,
    kafka: net.kafka ? { brokers: [net.kafka.bootstrap] } : undefined,
    orgs: net.orgs.map(({ peerProcess: _p, ordererProcess: _o, ...rest }) => rest),
    outsider: net.outsider,
  };
}
