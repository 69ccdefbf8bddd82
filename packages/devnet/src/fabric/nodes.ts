import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../exec.js';
import { httpOk, tcpOpen, waitHealthy } from '../health.js';
import { ManagedProcess } from '../process.js';
import { CHANNEL, LOOPBACK, type IdentityFiles, type OrgTopology } from './topology.js';
import type { FabricInstall } from '../install/fabric.js';

export interface NodeContext {
  readonly fabric: FabricInstall;
  readonly workDir: string;
  readonly logDir: string;
  /** FABRIC_LOGGING_SPEC for every node. */
  readonly loggingSpec: string;
  /** Peers' ledger.state.totalQueryLimit; undefined = core.yaml's. */
  readonly totalQueryLimit?: number;
}

function baseEnv(ctx: NodeContext): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'], HOME: process.env['HOME'], FABRIC_CFG_PATH: ctx.fabric.configDir, FABRIC_LOGGING_SPEC: ctx.loggingSpec };
}

export function ordererProcess(ctx: NodeContext, org: OrgTopology): ManagedProcess {
  const data = join(ctx.workDir, 'data', org.orderer.name);
  mkdirSync(data, { recursive: true });
  const tls = org.orderer.tlsDir;
  return new ManagedProcess({
    name: org.orderer.name,
    command: join(ctx.fabric.binDir, 'orderer'),
    args: [],
    logFile: join(ctx.logDir, `${org.orderer.name}.log`),
    env: {
      ...baseEnv(ctx),
      ORDERER_GENERAL_LISTENADDRESS: LOOPBACK,
      ORDERER_GENERAL_LISTENPORT: String(org.orderer.port),
      ORDERER_GENERAL_LOCALMSPID: org.orderer.mspId,
      ORDERER_GENERAL_LOCALMSPDIR: org.orderer.mspDir,
      ORDERER_GENERAL_TLS_ENABLED: 'true',
      ORDERER_GENERAL_TLS_PRIVATEKEY: join(tls, 'server.key'),
      ORDERER_GENERAL_TLS_CERTIFICATE: join(tls, 'server.crt'),
      ORDERER_GENERAL_TLS_ROOTCAS: `[${join(tls, 'ca.crt')}]`,
      ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE: join(tls, 'server.crt'),
      ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY: join(tls, 'server.key'),
      ORDERER_GENERAL_CLUSTER_ROOTCAS: `[${join(tls, 'ca.crt')}]`,
      ORDERER_GENERAL_BOOTSTRAPMETHOD: 'none',
      ORDERER_CHANNELPARTICIPATION_ENABLED: 'true',
      ORDERER_FILELEDGER_LOCATION: join(data, 'ledger'),
      // Raft keeps its WAL and snapshots here; SmartBFT only its WAL.
      ORDERER_CONSENSUS_WALDIR: join(data, 'consensus', 'wal'),
      ORDERER_CONSENSUS_SNAPDIR: join(data, 'consensus', 'snap'),
      ORDERER_OPERATIONS_LISTENADDRESS: `${LOOPBACK}:${org.orderer.operationsPort}`,
      // /metrics on the operations port: block height, and under BFT who leads (consensus_BFT_*).
      ORDERER_METRICS_PROVIDER: 'prometheus',
      ORDERER_ADMIN_LISTENADDRESS: `${LOOPBACK}:${org.orderer.adminPort}`,
      ORDERER_ADMIN_TLS_ENABLED: 'true',
      ORDERER_ADMIN_TLS_PRIVATEKEY: join(tls, 'server.key'),
      ORDERER_ADMIN_TLS_CERTIFICATE: join(tls, 'server.crt'),
      ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED: 'true',
      ORDERER_ADMIN_TLS_CLIENTROOTCAS: `[${org.orderer.tlsRootCertPath}]`,
    },
  });
}

export function peerProcess(ctx: NodeContext, org: OrgTopology, bootstrap: string): ManagedProcess {
  const data = join(ctx.workDir, 'data', org.peer.name);
  mkdirSync(data, { recursive: true });
  const tls = org.peer.tlsDir;
  return new ManagedProcess({
    name: org.peer.name,
    command: join(ctx.fabric.binDir, 'peer'),
    args: ['node', 'start'],
    logFile: join(ctx.logDir, `${org.peer.name}.log`),
    env: {
      ...baseEnv(ctx),
      CORE_PEER_ID: org.peer.name,
      CORE_PEER_ADDRESS: org.peer.endpoint,
      CORE_PEER_LISTENADDRESS: org.peer.endpoint,
      CORE_PEER_CHAINCODEADDRESS: `${LOOPBACK}:${org.peer.chaincodePort}`,
      CORE_PEER_CHAINCODELISTENADDRESS: `${LOOPBACK}:${org.peer.chaincodePort}`,
      CORE_PEER_GOSSIP_BOOTSTRAP: bootstrap,
      CORE_PEER_GOSSIP_EXTERNALENDPOINT: org.peer.endpoint,
      CORE_PEER_LOCALMSPID: org.mspId,
      CORE_PEER_MSPCONFIGPATH: org.peer.mspDir,
      CORE_PEER_TLS_ENABLED: 'true',
      CORE_PEER_TLS_CERT_FILE: join(tls, 'server.crt'),
      CORE_PEER_TLS_KEY_FILE: join(tls, 'server.key'),
      CORE_PEER_TLS_ROOTCERT_FILE: join(tls, 'ca.crt'),
      CORE_PEER_GATEWAY_ENABLED: 'true',
      CORE_OPERATIONS_LISTENADDRESS: `${LOOPBACK}:${org.peer.operationsPort}`,
      CORE_PEER_FILESYSTEMPATH: data,
      CORE_LEDGER_SNAPSHOTS_ROOTDIR: join(data, 'snapshots'),
      CORE_CHAINCODE_LOGGING_LEVEL: 'info',
      // The peer refuses proposals whose timestamp is further than this from its own clock
      // (Fabric's TimeWindowCheck auth filter, on in the shipped core.yaml; default 15m). The
      // chaincode takes grant expiry from proposal timestamps, so this bounds how far a
      // proposal can be back-dated (chaincode/README.md, "Time and expiry").
      CORE_PEER_AUTHENTICATION_TIMEWINDOW: '60s',
      // Faster gossip than the production defaults (4-5 s): the Gateway's discovery needs every
      // org's membership and chaincode state before it can collect a majority of endorsements,
      // and a local network should be usable seconds after start.
      CORE_PEER_GOSSIP_ALIVETIMEINTERVAL: '1s',
      CORE_PEER_GOSSIP_RECONNECTINTERVAL: '1s',
      CORE_PEER_GOSSIP_PULLINTERVAL: '1s',
      CORE_PEER_GOSSIP_PUBLISHSTATEINFOINTERVAL: '1s',
      CORE_PEER_GOSSIP_REQUESTSTATEINFOINTERVAL: '1s',
      CORE_PEER_GOSSIP_MEMBERSHIPTRACKERINTERVAL: '1s',
      // A frozen or lost peer of another organization (issue #27). The Gateway gives each
      // endorser this long before it tries the next layout (Fabric's default, 30 s, is beyond a
      // client's 15 s endorse deadline, so the write failed instead of routing around); and gossip
      // declares a peer dead after this long without an alive message (default 25 s), after which
      // discovery leaves it out and no write waits for it. So a write waits for a frozen peer of
      // another organization at most ENDORSEMENTTIMEOUT, and only while it is within
      // ALIVEEXPIRATIONTIMEOUT of freezing. Endorsing a large createTwin on a loaded machine takes
      // seconds: 10 s leaves room.
      CORE_PEER_GATEWAY_ENDORSEMENTTIMEOUT: '10s',
      CORE_PEER_GOSSIP_ALIVEEXPIRATIONTIMEOUT: '10s',
      ...(ctx.totalQueryLimit !== undefined ? { CORE_LEDGER_STATE_TOTALQUERYLIMIT: String(ctx.totalQueryLimit) } : {}),
    },
  });
}

/**
 * Starts a node and waits until it is healthy AND accepts connections on each of `listenPorts`.
 * The operations /healthz answers before the node's gRPC and admin listeners are up; on a loaded
 * machine that gap lasted seconds and `peer channel join` met "connection refused".
 */
export async function startAndWait(proc: ManagedProcess, operationsPort: number, listenPorts: readonly number[] = [], timeoutMs = 60_000): Promise<void> {
  proc.start();
  await waitHealthy(proc, httpOk(`http://${LOOPBACK}:${operationsPort}/healthz`), timeoutMs);
  for (const port of listenPorts) await waitHealthy(proc, tcpOpen(LOOPBACK, port), timeoutMs);
}

/** Environment for the `peer` CLI acting as `identity` against this org's peer. */
export function peerCliEnv(ctx: NodeContext, org: OrgTopology, identity: IdentityFiles = org.admin): NodeJS.ProcessEnv {
  return {
    ...baseEnv(ctx),
    CORE_PEER_LOCALMSPID: org.mspId,
    CORE_PEER_MSPCONFIGPATH: identity.mspDir,
    CORE_PEER_ADDRESS: org.peer.endpoint,
    CORE_PEER_TLS_ENABLED: 'true',
    CORE_PEER_TLS_ROOTCERT_FILE: org.peer.tlsRootCertPath,
  };
}

/** Joins this org's orderer to the channel through its admin endpoint (channel participation API). */
export async function joinOrderer(ctx: NodeContext, org: OrgTopology, block: string): Promise<void> {
  await run(join(ctx.fabric.binDir, 'osnadmin'), [
    'channel', 'join', '--channelID', CHANNEL, '--config-block', block,
    '-o', `${LOOPBACK}:${org.orderer.adminPort}`,
    '--ca-file', org.orderer.tlsRootCertPath,
    '--client-cert', org.orderer.adminTlsCert,
    '--client-key', org.orderer.adminTlsKey,
  ], { env: baseEnv(ctx) });
}

export async function joinPeer(ctx: NodeContext, org: OrgTopology, block: string): Promise<void> {
  await run(join(ctx.fabric.binDir, 'peer'), ['channel', 'join', '-b', block], { env: peerCliEnv(ctx, org) });
}
