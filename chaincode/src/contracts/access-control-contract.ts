import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import {
  accessOf,
  callerAccess,
  grantKey,
  writeGrants,
  isExpired,
  ledgerClock,
  makeGrant,
  nowMs,
  parseGrantSpec,
  requirePermission,
  type Grant,
} from '../access/grants';
import { checkAckGrant } from '../access/device-agent';
import { listNamespaces, MAX_NAMESPACES_PER_ORG, NAMESPACE_PREFIX, namespaceKey, type DeviceNamespace } from '../access/namespaces';
import { isPermission, Permissions, Roles } from '../access/roles';
import { ErrorCodes, fail } from '../errors';
import { Events } from '../events';
import { compositeKey, KeyTypes } from '../ledger/keys';
import { pageOf, parsePage } from '../ledger/paging';
import { Tx } from '../ledger/tx';
import { grants as listGrantRecords, requireTwin } from '../spec/views';
import { canonicalJson } from '../util/canonical-json';
import { parseJsonArg, requireString, requireTwinId } from '../util/args';

export interface Party {
  mspId: string;
  /** libp2p peer IDs of the organization's DHT nodes. */
  peerIds: string[];
  /** Base64 of the 32-byte X25519 public key data keys are wrapped to. */
  x25519PublicKey: string;
  updatedBy: string;
  updatedAt: string;
  txId: string;
  /** 1 on first registration, +1 on every change. */
  version: number;
}

// libp2p peer IDs in base58btc: Ed25519 "12D3KooW..." (52 chars) or RSA/SHA-256 "Qm..." (46 chars).
const PEER_ID = /^(12D3KooW|16Uiu2HA|Qm)[1-9A-HJ-NP-Za-km-z]{40,60}$/;
const MAX_PEER_IDS = 32;
const MSP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const partyKey = (mspId: string) => compositeKey(KeyTypes.party, [mspId]);
const partyPeerKey = (peerId: string) => compositeKey(KeyTypes.partyPeer, [peerId]);

function requirePermissionName(v: unknown): string {
  const p = requireString('permission', v);
  if (!isPermission(p)) fail(ErrorCodes.VALIDATION_FAILED, `unknown permission '${p}'`);
  return p;
}

@Info({ title: 'AccessControlContract', description: 'Roles and grants per twin; the party registry' })
export class AccessControlContract extends Contract {
  constructor() {
    super('acl');
  }

  @Transaction()
  @Returns('string')
  async grant(ctx: Context, twinId: string, grantJson: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const spec = parseGrantSpec(parseJsonArg('grantJson', grantJson), nowMs(tx));
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.GRANTS_MANAGE);
    checkAckGrant(spec, tx.caller, await listGrantRecords(tx.state, twinId), nowMs(tx));
    const g = makeGrant(tx, twinId, spec);
    await writeGrants(tx, twinId, [{ spec, grant: g }]);
    tx.touch('grant', `${spec.mspId}/${spec.identity ?? '*'}/${spec.role ?? spec.permission ?? ''}`);
    await tx.commit({ twinId, operation: 'grant', event: Events.GrantAdded, payload: { grant: spec } });
    return canonicalJson(g);
  }

  @Transaction()
  @Returns('string')
  async revoke(ctx: Context, twinId: string, grantJson: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const spec = parseGrantSpec(parseJsonArg('grantJson', grantJson), undefined);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.GRANTS_MANAGE);
    const key = grantKey(twinId, spec);
    const existing = await tx.state.get<Grant>(key);
    if (!existing) fail(ErrorCodes.NOT_FOUND, 'no such grant');
    if (existing.role === Roles.OWNER) {
      // A twin nobody can manage any more could never be repaired: keep at least one owner.
      const now = nowMs(tx);
      const owners = (await listGrantRecords(tx.state, twinId)).filter((g) => g.role === Roles.OWNER && !isExpired(g, now));
      if (owners.filter((g) => grantKey(twinId, g) !== key).length === 0) {
        fail(ErrorCodes.INVALID_STATE, 'the last OWNER grant of a twin cannot be revoked');
      }
    }
    await writeGrants(tx, twinId, [{ spec, grant: null }]);
    tx.touch('grant', `${spec.mspId}/${spec.identity ?? '*'}/${spec.role ?? spec.permission ?? ''}`);
    const { expiresAt: _e, ...revoked } = spec;
    await tx.commit({ twinId, operation: 'revoke', event: Events.GrantRevoked, payload: { grant: revoked } });
    return canonicalJson({ twinId, revoked, txId: tx.txId });
  }

  @Transaction(false)
  @Returns('string')
  async listGrants(ctx: Context, twinId: string, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const page = parsePage(pageSize, bookmark);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    return canonicalJson(await pageOf<Grant>(tx.state, KeyTypes.grant, [twinId], page));
  }

  /** May the caller do `permission` on the twin? Never throws ACCESS_DENIED: it answers. */
  @Transaction(false)
  @Returns('string')
  async checkAccess(ctx: Context, twinId: string, permission: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    const p = requirePermissionName(permission);
    await requireTwin(tx.state, twinId);
    const a = await callerAccess(tx, twinId);
    return canonicalJson({
      twinId,
      mspId: tx.caller.mspId,
      identity: tx.caller.id,
      permission: p,
      allowed: a.permissions.includes(p),
      roles: a.roles,
      permissions: a.permissions,
    });
  }

  /** The same answer for another principal (for services deciding on behalf of their users). */
  @Transaction(false)
  @Returns('string')
  async checkAccessFor(ctx: Context, twinId: string, mspId: string, identity: string, permission: string): Promise<string> {
    const tx = new Tx(ctx);
    requireTwinId(twinId);
    if (typeof mspId !== 'string' || !MSP_ID.test(mspId)) fail(ErrorCodes.VALIDATION_FAILED, 'mspId is not an MSP ID');
    const id = requireString('identity', identity);
    const p = requirePermissionName(permission);
    await requireTwin(tx.state, twinId);
    await requirePermission(tx, twinId, Permissions.SPEC_READ);
    const a = await accessOf(tx.state, twinId, mspId, id, nowMs(tx), ledgerClock(tx, twinId));
    return canonicalJson({ twinId, mspId, identity: id, permission: p, allowed: a.permissions.includes(p), roles: a.roles, permissions: a.permissions });
  }

  // ---------------------------------------------------------------- party registry

  @Transaction()
  @Returns('string')
  async registerParty(ctx: Context, peerIdsJson: string, x25519PublicKeyB64: string): Promise<string> {
    const tx = new Tx(ctx);
    const ids = parseJsonArg('peerIdsJson', peerIdsJson);
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_PEER_IDS) {
      fail(ErrorCodes.VALIDATION_FAILED, `peerIdsJson must be a JSON array of 1..${MAX_PEER_IDS} libp2p peer IDs`);
    }
    for (const id of ids) {
      if (typeof id !== 'string' || !PEER_ID.test(id)) fail(ErrorCodes.VALIDATION_FAILED, `'${String(id)}' is not a base58btc libp2p peer ID`);
    }
    if (new Set(ids).size !== ids.length) fail(ErrorCodes.VALIDATION_FAILED, 'peerIdsJson lists a peer ID twice');
    const key = requireString('x25519PublicKeyB64', x25519PublicKeyB64);
    if (!/^[A-Za-z0-9+/]{43}=$/.test(key) || Buffer.from(key, 'base64').length !== 32) {
      fail(ErrorCodes.VALIDATION_FAILED, 'x25519PublicKeyB64 must be the base64 of 32 bytes');
    }
    // Only an admin of the MSP writes the MSP's entry: the entry key is the caller's own MSP.
    if (!tx.caller.isAdmin) fail(ErrorCodes.ACCESS_DENIED, `only an admin identity (OU=admin) of ${tx.caller.mspId} may register it`);
    const prev = await tx.state.get<Party>(partyKey(tx.caller.mspId));
    // A peer ID is one organization's: the DHT admits and serves a peer as the organization
    // the registry names, so a second claim would let one member be served as another.
    for (const id of ids as string[]) {
      const owner = await tx.state.get<{ mspId: string }>(partyPeerKey(id));
      if (owner && owner.mspId !== tx.caller.mspId) {
        fail(ErrorCodes.ALREADY_EXISTS, `peer ID ${id} is registered to another organization (${owner.mspId})`);
      }
    }
    for (const id of prev?.peerIds ?? []) if (!(ids as string[]).includes(id)) tx.del(partyPeerKey(id));
    for (const id of ids as string[]) tx.put(partyPeerKey(id), { mspId: tx.caller.mspId });
    const party: Party = {
      mspId: tx.caller.mspId,
      peerIds: [...(ids as string[])].sort(),
      x25519PublicKey: key,
      updatedBy: tx.caller.id,
      updatedAt: tx.time.iso,
      txId: tx.txId,
      version: (prev?.version ?? 0) + 1,
    };
    tx.put(partyKey(party.mspId), party);
    await tx.commit({ operation: 'registerParty', event: Events.PartyRegistered, payload: { mspId: party.mspId, version: party.version } });
    return canonicalJson(party);
  }

  // ---------------------------------------------------------------- device-ID namespaces

  /**
   * Claims a device-ID namespace for the caller's organization (its admin only, like the party
   * registry). Refused if it overlaps another organization's claim in either direction. Twins
   * created before the claim keep their creators.
   */
  @Transaction()
  @Returns('string')
  async claimDeviceNamespace(ctx: Context, prefix: string): Promise<string> {
    const tx = new Tx(ctx);
    const p = requireString('prefix', prefix);
    if (!NAMESPACE_PREFIX.test(p)) fail(ErrorCodes.VALIDATION_FAILED, `prefix must match ${NAMESPACE_PREFIX.source}`);
    if (!tx.caller.isAdmin) fail(ErrorCodes.ACCESS_DENIED, `only an admin identity (OU=admin) of ${tx.caller.mspId} may claim a namespace for it`);
    const all = await listNamespaces(tx.state);
    for (const ns of all) {
      if (ns.mspId !== tx.caller.mspId && (ns.prefix.startsWith(p) || p.startsWith(ns.prefix))) {
        fail(ErrorCodes.ALREADY_EXISTS, `'${p}' overlaps the namespace '${ns.prefix}' of ${ns.mspId}`);
      }
    }
    const existing = all.find((ns) => ns.prefix === p);
    if (existing) return canonicalJson(existing);
    if (all.filter((ns) => ns.mspId === tx.caller.mspId).length >= MAX_NAMESPACES_PER_ORG) {
      fail(ErrorCodes.TOO_LARGE, `an organization holds at most ${MAX_NAMESPACES_PER_ORG} namespaces`);
    }
    const ns: DeviceNamespace = { prefix: p, mspId: tx.caller.mspId, claimedBy: tx.caller.id, claimedAt: tx.time.iso, txId: tx.txId };
    tx.put(namespaceKey(p), ns);
    await tx.commit({ operation: 'claimDeviceNamespace', event: Events.DeviceNamespaceChanged, payload: { prefix: p, mspId: ns.mspId, claimed: true } });
    return canonicalJson(ns);
  }

  /** Gives a namespace up (its organization's admin only). */
  @Transaction()
  @Returns('string')
  async releaseDeviceNamespace(ctx: Context, prefix: string): Promise<string> {
    const tx = new Tx(ctx);
    const p = requireString('prefix', prefix);
    if (!NAMESPACE_PREFIX.test(p)) fail(ErrorCodes.VALIDATION_FAILED, `prefix must match ${NAMESPACE_PREFIX.source}`);
    if (!tx.caller.isAdmin) fail(ErrorCodes.ACCESS_DENIED, `only an admin identity (OU=admin) of ${tx.caller.mspId} may release its namespace`);
    const ns = await tx.state.get<DeviceNamespace>(namespaceKey(p));
    if (!ns) fail(ErrorCodes.NOT_FOUND, `namespace '${p}' is not claimed`);
    if (ns.mspId !== tx.caller.mspId) fail(ErrorCodes.ACCESS_DENIED, `namespace '${p}' is ${ns.mspId}'s`);
    tx.del(namespaceKey(p));
    await tx.commit({ operation: 'releaseDeviceNamespace', event: Events.DeviceNamespaceChanged, payload: { prefix: p, mspId: ns.mspId, claimed: false } });
    return canonicalJson(ns);
  }

  @Transaction(false)
  @Returns('string')
  async listDeviceNamespaces(ctx: Context, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    const page = parsePage(pageSize, bookmark);
    return canonicalJson(await pageOf<DeviceNamespace>(tx.state, KeyTypes.deviceNamespace, [], page));
  }

  @Transaction(false)
  @Returns('string')
  async getParty(ctx: Context, mspId: string): Promise<string> {
    const tx = new Tx(ctx);
    if (typeof mspId !== 'string' || !MSP_ID.test(mspId)) fail(ErrorCodes.VALIDATION_FAILED, 'mspId is not an MSP ID');
    const p = await tx.state.get<Party>(partyKey(mspId));
    if (!p) fail(ErrorCodes.NOT_FOUND, `party ${mspId} is not registered`);
    return canonicalJson(p);
  }

  @Transaction(false)
  @Returns('string')
  async listParties(ctx: Context, pageSize: string, bookmark: string): Promise<string> {
    const tx = new Tx(ctx);
    const page = parsePage(pageSize, bookmark);
    return canonicalJson(await pageOf<Party>(tx.state, KeyTypes.party, [], page));
  }
}
