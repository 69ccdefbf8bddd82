import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../exec.js';
import { CHANNEL, LOOPBACK, type OrgTopology } from './topology.js';

/**
 * How the organizations' ordering nodes agree on the order of transactions. `raft` tolerates
 * crashed nodes but trusts the leader; `bft` (SmartBFT) tolerates f faulty or malicious nodes
 * among 3f + 1, so it needs at least four.
 */
export type Consensus = 'raft' | 'bft';

/** BFT needs 3f + 1 consenters to tolerate f faulty ones; below four it tolerates none. */
export const MIN_BFT_CONSENTERS = 4;

export interface ChannelInit {
  /** Block cut: the orderer cuts a block at this age; short so tests are quick. */
  readonly batchTimeout: string;
  readonly consensus: Consensus;
}

/**
 * SmartBFT timing for a local network. Fabric's defaults detect a silent leader after 60 s
 * (LeaderHeartbeatTimeout) and wait 20 s for a forwarded request (RequestComplainTimeout)
 * before asking for a view change; here a stopped leader is replaced within about 10 s, so
 * tests and a demo see fail-over, not a stall. Batches are cut after the batch timeout, as
 * with Raft. The view-change bound is stated in packages/devnet/README.md.
 */
function smartBftOptions(batchTimeout: string): Record<string, unknown> {
  return {
    RequestBatchMaxCount: 500,
    RequestBatchMaxBytes: 10 * 1024 * 1024,
    RequestBatchMaxInterval: batchTimeout,
    IncomingMessageBufferSize: 200,
    RequestPoolSize: 100_000,
    RequestForwardTimeout: '2s',
    RequestComplainTimeout: '6s',
    RequestAutoRemoveTimeout: '3m',
    ViewChangeResendInterval: '2s',
    ViewChangeTimeout: '10s',
    LeaderHeartbeatTimeout: '5s',
    LeaderHeartbeatCount: 10,
    CollectTimeout: '1s',
    SyncOnStart: false,
    SpeedUpViewChange: false,
  };
}

const sig = (rule: string) => ({ Type: 'Signature', Rule: rule });
const meta = (rule: string) => ({ Type: 'ImplicitMeta', Rule: rule });

/**
 * Writes configtx.yaml for channel `twins`: one consenter per organization (each org runs its
 * own ordering node, so no single party controls ordering), Raft or SmartBFT, every org's peer
 * as an anchor peer, and majority policies for admin changes, endorsement and lifecycle.
 */
function configtx(orgs: readonly OrgTopology[], init: ChannelInit): unknown {
  const applicationOrgs = orgs.map((o) => ({
    Name: o.mspId,
    ID: o.mspId,
    MSPDir: join(o.admin.mspDir, '..', '..', '..', 'msp'),
    Policies: {
      Readers: sig(`OR('${o.mspId}.admin', '${o.mspId}.peer', '${o.mspId}.client')`),
      Writers: sig(`OR('${o.mspId}.admin', '${o.mspId}.client')`),
      Admins: sig(`OR('${o.mspId}.admin')`),
      Endorsement: sig(`OR('${o.mspId}.peer')`),
    },
    AnchorPeers: [{ Host: LOOPBACK, Port: o.peer.port }],
  }));
  const ordererOrgs = orgs.map((o) => ({
    Name: o.orderer.mspId,
    ID: o.orderer.mspId,
    MSPDir: join(o.orderer.mspDir, '..', '..', '..', 'msp'),
    Policies: {
      Readers: sig(`OR('${o.orderer.mspId}.member')`),
      Writers: sig(`OR('${o.orderer.mspId}.member')`),
      Admins: sig(`OR('${o.orderer.mspId}.admin')`),
    },
    OrdererEndpoints: [o.orderer.endpoint],
  }));
  const profile = {
    Policies: { Readers: meta('ANY Readers'), Writers: meta('ANY Writers'), Admins: meta('MAJORITY Admins') },
    Capabilities: { V3_0: true },
    Orderer: {
      BatchTimeout: init.batchTimeout,
      BatchSize: { MaxMessageCount: 500, AbsoluteMaxBytes: '10 MB', PreferredMaxBytes: '2 MB' },
      ...(init.consensus === 'bft'
        ? {
            OrdererType: 'BFT',
            SmartBFT: smartBftOptions(init.batchTimeout),
            // configtxgen derives the block validation policy (a quorum of these identities'
            // signatures on every block) from the mapping, so peers accept a block only when
            // enough consenters signed it.
            ConsenterMapping: orgs.map((o, i) => ({
              ID: i + 1,
              Host: LOOPBACK,
              Port: o.orderer.port,
              MSPID: o.orderer.mspId,
              Identity: o.orderer.signCertPath,
              ClientTLSCert: join(o.orderer.tlsDir, 'server.crt'),
              ServerTLSCert: join(o.orderer.tlsDir, 'server.crt'),
            })),
          }
        : {
            OrdererType: 'etcdraft',
            EtcdRaft: {
              Consenters: orgs.map((o) => ({
                Host: LOOPBACK,
                Port: o.orderer.port,
                ClientTLSCert: join(o.orderer.tlsDir, 'server.crt'),
                ServerTLSCert: join(o.orderer.tlsDir, 'server.crt'),
              })),
              Options: { TickInterval: '250ms', ElectionTick: 10, HeartbeatTick: 1, MaxInflightBlocks: 5, SnapshotIntervalSize: '16 MB' },
            },
          }),
      Organizations: ordererOrgs,
      Policies: {
        Readers: meta('ANY Readers'),
        Writers: meta('ANY Writers'),
        Admins: meta('MAJORITY Admins'),
        BlockValidation: meta('ANY Writers'),
      },
      Capabilities: { V2_0: true },
    },
    Application: {
      Organizations: applicationOrgs,
      Policies: {
        Readers: meta('ANY Readers'),
        Writers: meta('ANY Writers'),
        Admins: meta('MAJORITY Admins'),
        LifecycleEndorsement: meta('MAJORITY Endorsement'),
        Endorsement: meta('MAJORITY Endorsement'),
      },
      Capabilities: { V2_5: true },
    },
  };
  return { Profiles: { TwinsChannel: profile } };
}

/** Writes configtx.yaml and makes the channel's genesis block with configtxgen. */
export async function createGenesisBlock(configtxgen: string, workDir: string, orgs: readonly OrgTopology[], init: ChannelInit): Promise<string> {
  const dir = join(workDir, 'configtx');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'configtx.yaml'), stringify(configtx(orgs, init)));
  const block = join(workDir, `${CHANNEL}.block`);
  await run(configtxgen, ['-configPath', dir, '-profile', 'TwinsChannel', '-channelID', CHANNEL, '-outputBlock', block]);
  return block;
}
