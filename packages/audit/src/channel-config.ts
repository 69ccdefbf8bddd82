import { X509Certificate, createPublicKey, verify, type KeyObject } from 'node:crypto';
import fabricProtos from '@hyperledger/fabric-protos';
import type { SerializedIdentity } from './fabric.js';

const { common, msp, orderer } = fabricProtos;

/** What the verifier needs of one organization's MSP definition. */
export interface MspDefinition {
  readonly mspId: string;
  readonly roots: readonly X509Certificate[];
  readonly intermediates: readonly X509Certificate[];
  readonly admins: readonly X509Certificate[];
  /** NodeOU identifiers when the MSP classifies identities by OU (peer, client, admin, orderer). */
  readonly nodeOus: { readonly peer: string; readonly client: string; readonly admin: string; readonly orderer: string } | undefined;
}

/** A signature policy: n of the rules, or one principal. */
export type SignatureRule = { readonly signedBy: number } | { readonly n: number; readonly rules: readonly SignatureRule[] };
export interface OrgPolicy {
  readonly principals: readonly { readonly mspId: string; readonly role: 'MEMBER' | 'ADMIN' | 'CLIENT' | 'PEER' | 'ORDERER' }[];
  readonly rule: SignatureRule;
}

export interface ChannelConfig {
  readonly msps: ReadonlyMap<string, MspDefinition>;
  readonly applicationOrgs: readonly string[];
  readonly ordererOrgs: readonly string[];
  /** /Channel/Application/Endorsement, the default endorsement policy of chaincodes. */
  readonly endorsement: { readonly rule: 'ANY' | 'ALL' | 'MAJORITY'; readonly subPolicy: string } | undefined;
  /** Each application org's policy named by `endorsement.subPolicy`. */
  readonly orgEndorsement: ReadonlyMap<string, OrgPolicy>;
  readonly consensus: string;
  /** SmartBFT consenters by ID (empty with Raft). */
  readonly consenters: ReadonlyMap<number, { readonly mspId: string; readonly identity: Uint8Array }>;
}

const ROLES = ['MEMBER', 'ADMIN', 'CLIENT', 'PEER', 'ORDERER'] as const;
const RULES = ['ANY', 'ALL', 'MAJORITY'] as const;

const certs = (list: readonly Uint8Array[]): X509Certificate[] => list.map((c) => new X509Certificate(Buffer.from(c)));

type ConfigGroup = InstanceType<typeof common.ConfigGroup>;

function mspOf(group: ConfigGroup): MspDefinition | undefined {
  const value = group.getValuesMap().get('MSP');
  if (!value) return undefined;
  const mspConfig = msp.MSPConfig.deserializeBinary(value.getValue_asU8());
  if (mspConfig.getType() !== 0) return undefined; // 0 = FABRIC (X.509); idemix is not verified here
  const f = msp.FabricMSPConfig.deserializeBinary(mspConfig.getConfig_asU8());
  const ous = f.getFabricNodeOus();
  const ou = (x: { getOrganizationalUnitIdentifier(): string } | undefined, dflt: string): string => x?.getOrganizationalUnitIdentifier() || dflt;
  return {
    mspId: f.getName(),
    roots: certs(f.getRootCertsList_asU8()),
    intermediates: certs(f.getIntermediateCertsList_asU8()),
    admins: certs(f.getAdminsList_asU8()),
    nodeOus: ous?.getEnable()
      ? {
          peer: ou(ous.getPeerOuIdentifier(), 'peer'),
          client: ou(ous.getClientOuIdentifier(), 'client'),
          admin: ou(ous.getAdminOuIdentifier(), 'admin'),
          orderer: ou(ous.getOrdererOuIdentifier(), 'orderer'),
        }
      : undefined,
  };
}

function signatureRule(p: InstanceType<typeof common.SignaturePolicy>): SignatureRule {
  const nOutOf = p.getNOutOf();
  if (nOutOf) return { n: nOutOf.getN(), rules: nOutOf.getRulesList().map(signatureRule) };
  return { signedBy: p.getSignedBy() };
}

function orgPolicy(group: ConfigGroup, name: string): OrgPolicy | undefined {
  const policy = group.getPoliciesMap().get(name)?.getPolicy();
  if (!policy || policy.getType() !== common.Policy.PolicyType.SIGNATURE) return undefined;
  const env = common.SignaturePolicyEnvelope.deserializeBinary(policy.getValue_asU8());
  const rule = env.getRule();
  if (!rule) return undefined;
  return {
    rule: signatureRule(rule),
    principals: env.getIdentitiesList().map((p) => {
      if (p.getPrincipalClassification() !== msp.MSPPrincipal.Classification.ROLE) return { mspId: '', role: 'MEMBER' as const }; // unsupported principal: matches no one
      const r = msp.MSPRole.deserializeBinary(p.getPrincipal_asU8());
      return { mspId: r.getMspIdentifier(), role: ROLES[r.getRole()] ?? 'MEMBER' };
    }),
  };
}

export function readChannelConfig(config: InstanceType<typeof common.Config>): ChannelConfig {
  const channel = config.getChannelGroup();
  if (!channel) throw new Error('config has no channel group');
  const msps = new Map<string, MspDefinition>();
  const app = channel.getGroupsMap().get('Application');
  const ord = channel.getGroupsMap().get('Orderer');
  const applicationOrgs: string[] = [];
  const ordererOrgs: string[] = [];
  const orgGroups = new Map<string, ConfigGroup>();
  for (const [groups, into] of [[app, applicationOrgs], [ord, ordererOrgs]] as const) {
    groups?.getGroupsMap().forEach((g: ConfigGroup) => {
      const m = mspOf(g);
      if (!m) return;
      msps.set(m.mspId, m);
      into.push(m.mspId);
      if (groups === app) orgGroups.set(m.mspId, g);
    });
  }
  let endorsement: ChannelConfig['endorsement'];
  const ep = app?.getPoliciesMap().get('Endorsement')?.getPolicy();
  if (ep && ep.getType() === common.Policy.PolicyType.IMPLICIT_META) {
    const imp = common.ImplicitMetaPolicy.deserializeBinary(ep.getValue_asU8());
    endorsement = { rule: RULES[imp.getRule()] ?? 'MAJORITY', subPolicy: imp.getSubPolicy() };
  }
  const orgEndorsement = new Map<string, OrgPolicy>();
  if (endorsement) {
    for (const [mspId, g] of orgGroups) {
      const p = orgPolicy(g, endorsement.subPolicy);
      if (p) orgEndorsement.set(mspId, p);
    }
  }
  const ct = ord?.getValuesMap().get('ConsensusType');
  const consensus = ct ? orderer.ConsensusType.deserializeBinary(ct.getValue_asU8()).getType() : '';
  const consenters = new Map<number, { mspId: string; identity: Uint8Array }>();
  const os = ord?.getValuesMap().get('Orderers');
  if (os) {
    for (const c of common.Orderers.deserializeBinary(os.getValue_asU8()).getConsenterMappingList()) {
      consenters.set(c.getId(), { mspId: c.getMspId(), identity: c.getIdentity_asU8() });
    }
  }
  return { msps, applicationOrgs, ordererOrgs, endorsement, orgEndorsement, consensus, consenters };
}

/** Why an identity is not valid for an MSP, or undefined when it is. */
/**
 * Per configuration, the verdict on each identity seen: a day of feed anchors is the same few
 * endorser and creator certificates over and over, and each verdict is an X.509 parse plus a
 * chain of signature checks.
 */
const verdicts = new WeakMap<ChannelConfig, Map<string, string | undefined>>();

export function identityProblem(config: ChannelConfig, id: SerializedIdentity): string | undefined {
  let known = verdicts.get(config);
  if (!known) verdicts.set(config, (known = new Map()));
  const key = `${id.mspId}\u0000${Buffer.from(id.idBytes).toString('base64')}`;
  if (known.has(key)) return known.get(key);
  const verdict = identityProblemUncached(config, id);
  known.set(key, verdict);
  return verdict;
}

function identityProblemUncached(config: ChannelConfig, id: SerializedIdentity): string | undefined {
  const def = config.msps.get(id.mspId);
  if (!def) return `${id.mspId} is not an organization of the channel`;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(id.idBytes));
  } catch {
    return 'the identity is not an X.509 certificate';
  }
  if (!chainsTo(cert, def)) return `the certificate of '${cert.subject.replace(/\n/g, ', ')}' does not chain to a root CA of ${id.mspId}`;
  return undefined;
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function chainsTo(cert: X509Certificate, def: MspDefinition, depth = 0): boolean {
  if (def.roots.some((r) => issuedBy(cert, r))) return true;
  if (depth > 4) return false;
  return def.intermediates.some((i) => issuedBy(cert, i) && chainsTo(i, def, depth + 1));
}

const ouLines = (cert: X509Certificate): string[] =>
  cert.subject
    .split('\n')
    .filter((l) => l.startsWith('OU='))
    .map((l) => l.slice(3));

/** Whether a valid identity of `mspId` holds `role` (NodeOUs, or the admin list). */
export function hasRole(config: ChannelConfig, id: SerializedIdentity, role: OrgPolicy['principals'][number]['role']): boolean {
  const def = config.msps.get(id.mspId);
  if (!def) return false;
  if (role === 'MEMBER') return true;
  const cert = new X509Certificate(Buffer.from(id.idBytes));
  if (role === 'ADMIN' && def.admins.some((a) => a.raw.equals(cert.raw))) return true;
  if (!def.nodeOus) return false;
  const ou = { ADMIN: def.nodeOus.admin, CLIENT: def.nodeOus.client, PEER: def.nodeOus.peer, ORDERER: def.nodeOus.orderer }[role];
  return ouLines(cert).includes(ou);
}

/** Fabric signatures: DER ECDSA (or RSA/Ed25519, by key type) over SHA-256 of the data. */
/** Public keys by certificate (PEM, base64): the same few certificates sign every transaction. */
const publicKeys = new Map<string, KeyObject>();

function publicKeyOf(pem: Uint8Array): KeyObject {
  const k = Buffer.from(pem).toString('base64');
  let key = publicKeys.get(k);
  if (key === undefined) {
    key = createPublicKey(new X509Certificate(Buffer.from(pem)).publicKey.export({ type: 'spki', format: 'pem' }));
    if (publicKeys.size >= 1024) publicKeys.clear();
    publicKeys.set(k, key);
  }
  return key;
}

export function signatureValid(id: SerializedIdentity | Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = publicKeyOf('idBytes' in id ? id.idBytes : id);
    return verify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', data, key, signature);
  } catch {
    return false;
  }
}

/** Evaluates a signature policy over the valid signers (each signer satisfies at most one principal use). */
export function satisfies(config: ChannelConfig, policy: OrgPolicy, signers: readonly SerializedIdentity[]): boolean {
  const used = new Set<number>();
  const evalRule = (r: SignatureRule): boolean => {
    if ('signedBy' in r) {
      const p = policy.principals[r.signedBy];
      if (!p) return false;
      const i = signers.findIndex((s, idx) => !used.has(idx) && s.mspId === p.mspId && hasRole(config, s, p.role));
      if (i < 0) return false;
      used.add(i);
      return true;
    }
    let ok = 0;
    for (const sub of r.rules) if (evalRule(sub)) ok++;
    return ok >= r.n;
  };
  return evalRule(policy.rule);
}
