import { join } from 'node:path';

export const CHANNEL = 'twins';
export const CHAINCODE_NAME = 'twinledger';
export const LOOPBACK = '127.0.0.1';

/** Ports an organization needs, relative to its slot: base + slot * PORTS_PER_ORG + offset. */
export const PORTS_PER_ORG = 10;
const PEER = 0;
const PEER_CHAINCODE = 1;
const PEER_OPERATIONS = 2;
const ORDERER = 3;
const ORDERER_ADMIN = 4;
const ORDERER_OPERATIONS = 5;
export const MAX_ORGS = 8;
/** Shared ports after the org slots. */
export const KAFKA_OFFSET = MAX_ORGS * PORTS_PER_ORG;

/** The files of one identity, as cryptogen lays them out. */
export interface IdentityFiles {
  readonly mspId: string;
  /** The MSP folder (signcerts/, keystore/). */
  readonly mspDir: string;
  readonly certPath: string;
  readonly keyPath: string;
}

export interface OrgTopology {
  /** Lower-case name, e.g. `manufacturer`. */
  readonly name: string;
  /** e.g. `ManufacturerMSP`. */
  readonly mspId: string;
  readonly domain: string;
  readonly peer: {
    readonly name: string;
    readonly endpoint: string;
    readonly port: number;
    readonly chaincodePort: number;
    readonly operationsPort: number;
    readonly tlsDir: string;
    readonly mspDir: string;
    /** The TLS CA clients verify this peer against. */
    readonly tlsRootCertPath: string;
    /** The name clients verify in the peer's TLS certificate (its SANs include localhost). */
    readonly hostAlias: string;
  };
  readonly orderer: {
    readonly mspId: string;
    readonly domain: string;
    readonly name: string;
    readonly endpoint: string;
    readonly port: number;
    readonly adminPort: number;
    readonly operationsPort: number;
    readonly tlsDir: string;
    readonly mspDir: string;
    readonly tlsRootCertPath: string;
    /** The node's signing certificate: its identity as a BFT consenter. */
    readonly signCertPath: string;
    /** Admin TLS client credentials for osnadmin. */
    readonly adminTlsCert: string;
    readonly adminTlsKey: string;
  };
  readonly admin: IdentityFiles;
  /** Ordinary client identities (OU=client): users[0] is User1, users[1] is User2. */
  readonly users: readonly IdentityFiles[];
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export const USERS_PER_ORG = 2;

function identity(orgDir: string, mspId: string, user: string, domain: string): IdentityFiles {
  const mspDir = join(orgDir, 'users', `${user}@${domain}`, 'msp');
  return {
    mspId,
    mspDir,
    certPath: join(mspDir, 'signcerts', `${user}@${domain}-cert.pem`),
    keyPath: join(mspDir, 'keystore', 'priv_sk'),
  };
}

/** Names, ports and crypto paths of an organization; pure, so tests and tools can compute them. */
export function orgTopology(name: string, slot: number, basePort: number, cryptoDir: string): OrgTopology {
  const mspId = `${capitalize(name)}MSP`;
  const domain = `${name}.twinledger.local`;
  const ordererDomain = `orderer.${domain}`;
  const base = basePort + slot * PORTS_PER_ORG;
  const peerOrgDir = join(cryptoDir, 'peerOrganizations', domain);
  const ordererOrgDir = join(cryptoDir, 'ordererOrganizations', ordererDomain);
  const peerName = `peer0.${domain}`;
  const ordererName = `orderer0.${ordererDomain}`;
  return {
    name,
    mspId,
    domain,
    peer: {
      name: peerName,
      endpoint: `${LOOPBACK}:${base + PEER}`,
      port: base + PEER,
      chaincodePort: base + PEER_CHAINCODE,
      operationsPort: base + PEER_OPERATIONS,
      tlsDir: join(peerOrgDir, 'peers', peerName, 'tls'),
      mspDir: join(peerOrgDir, 'peers', peerName, 'msp'),
      tlsRootCertPath: join(peerOrgDir, 'tlsca', `tlsca.${domain}-cert.pem`),
      hostAlias: 'localhost',
    },
    orderer: {
      mspId: `${capitalize(name)}OrdererMSP`,
      domain: ordererDomain,
      name: ordererName,
      endpoint: `${LOOPBACK}:${base + ORDERER}`,
      port: base + ORDERER,
      adminPort: base + ORDERER_ADMIN,
      operationsPort: base + ORDERER_OPERATIONS,
      tlsDir: join(ordererOrgDir, 'orderers', ordererName, 'tls'),
      mspDir: join(ordererOrgDir, 'orderers', ordererName, 'msp'),
      tlsRootCertPath: join(ordererOrgDir, 'tlsca', `tlsca.${ordererDomain}-cert.pem`),
      signCertPath: join(ordererOrgDir, 'orderers', ordererName, 'msp', 'signcerts', `${ordererName}-cert.pem`),
      adminTlsCert: join(ordererOrgDir, 'users', `Admin@${ordererDomain}`, 'tls', 'client.crt'),
      adminTlsKey: join(ordererOrgDir, 'users', `Admin@${ordererDomain}`, 'tls', 'client.key'),
    },
    admin: identity(peerOrgDir, mspId, 'Admin', domain),
    users: Array.from({ length: USERS_PER_ORG }, (_, i) => identity(peerOrgDir, mspId, `User${i + 1}`, domain)),
  };
}

/** Every port the network will listen on, with what it is for (for the in-use check). */
export function portsOf(orgs: readonly OrgTopology[], shared: ReadonlyMap<number, string>): Map<number, string> {
  const ports = new Map<number, string>(shared);
  for (const o of orgs) {
    ports.set(o.peer.port, `${o.peer.name}`);
    ports.set(o.peer.chaincodePort, `${o.peer.name} chaincode`);
    ports.set(o.peer.operationsPort, `${o.peer.name} operations`);
    ports.set(o.orderer.port, `${o.orderer.name}`);
    ports.set(o.orderer.adminPort, `${o.orderer.name} admin`);
    ports.set(o.orderer.operationsPort, `${o.orderer.name} operations`);
  }
  return ports;
}
