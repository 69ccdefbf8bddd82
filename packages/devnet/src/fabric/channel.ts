import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../exec.js';
import { CHANNEL, LOOPBACK, type OrgTopology } from './topology.js';

export interface ChannelInit {
  /** Block cut: the orderer cuts a block at this age; short so tests are quick. */
  readonly batchTimeout: string;
}

const sig = (rule: string) => ({ Type: 'Signature', Rule: rule });
const meta = (rule: string) => ({ Type: 'ImplicitMeta', Rule: rule });

/**
 * Writes configtx.yaml for channel `twins`: one Raft consenter per organization (each org
 * runs its own ordering node, so no single party controls ordering), every org's peer as an
 * anchor peer, and majority policies for admin changes, endorsement and lifecycle.
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
      OrdererType: 'etcdraft',
      BatchTimeout: init.batchTimeout,
      BatchSize: { MaxMessageCount: 500, AbsoluteMaxBytes: '10 MB', PreferredMaxBytes: '2 MB' },
      EtcdRaft: {
        Consenters: orgs.map((o) => ({
          Host: LOOPBACK,
          Port: o.orderer.port,
          ClientTLSCert: join(o.orderer.tlsDir, 'server.crt'),
          ServerTLSCert: join(o.orderer.tlsDir, 'server.crt'),
        })),
        Options: { TickInterval: '250ms', ElectionTick: 10, HeartbeatTick: 1, MaxInflightBlocks: 5, SnapshotIntervalSize: '16 MB' },
      },
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
