import { ChaincodeError, ErrorCodes, fail } from '../errors';
import { compositeKey, KeyTypes } from '../ledger/keys';
import { latestChangeMs } from '../ledger/order';
import { list, type StateReader } from '../ledger/state';
import type { Tx } from '../ledger/tx';
import { onlyKeys } from '../util/args';
import { parseTimestamp } from '../util/time';
import type { Caller } from './identity';
import { isPermission, isReadOnly, isRole, Permissions, ROLE_PERMISSIONS, Roles, type Role } from './roles';

export const EVERYONE = '*';
const ANY_IDENTITY = '*';
const MSP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A grant: a role or a single permission, to a whole MSP ('*' = every MSP) or one identity. */
export interface Grant {
  twinId: string;
  mspId: string;
  /** ctx.clientIdentity.getID() of the one identity; absent = every identity of the MSP. */
  identity?: string;
  role?: Role;
  permission?: string;
  /** ISO 8601; the grant stops counting at this transaction time. */
  expiresAt?: string;
  grantedBy: { mspId: string; id: string };
  grantedAt: string;
  txId: string;
}

export interface GrantSpec {
  mspId: string;
  identity?: string;
  role?: Role;
  permission?: string;
  expiresAt?: string;
}

export function grantKey(twinId: string, g: Pick<GrantSpec, 'mspId' | 'identity' | 'role' | 'permission'>): string {
  return compositeKey(KeyTypes.grant, [twinId, g.mspId, g.identity ?? ANY_IDENTITY, (g.role ?? g.permission) as string]);
}

/** Narrows one grant object from JSON; nowMs is the transaction time (expiry must lie after it). */
/** What a grant-set key holds: every grant record of one MSP ('*' too) on a twin, in key order. */
export interface GrantSet {
  twinId: string;
  mspId: string;
  grants: Grant[];
  /**
   * On the '*' set only: every MSP holding grants on the twin has its own set, so a missing set
   * means no grants. A twin granted before grant sets existed lacks it until its first grant
   * change, which writes every set at once (writeGrants).
   */
  complete?: true;
}

export function grantSetKey(twinId: string, mspId: string): string {
  return compositeKey(KeyTypes.grantSet, [twinId, mspId]);
}

type ByKey = Map<string, Grant>;

/**
 * The grant records of mspId and of every MSP ('*') on a twin: two point reads. A twin whose
 * grants predate grant sets has its records read directly (two range scans) instead.
 */
export async function grantsOf(r: StateReader, twinId: string, mspId: string): Promise<Grant[]> {
  const everyone = await r.get<GrantSet>(grantSetKey(twinId, EVERYONE));
  if (!everyone?.complete) {
    const records = async (m: string) => (await list<Grant>(r, KeyTypes.grant, [twinId, m])).map((e) => e.value);
    return [...(await records(mspId)), ...(mspId === EVERYONE ? [] : await records(EVERYONE))];
  }
  if (mspId === EVERYONE) return everyone.grants;
  const own = await r.get<GrantSet>(grantSetKey(twinId, mspId));
  return [...(own?.grants ?? []), ...everyone.grants];
}

/**
 * The one way grant records are written: each change (a grant, or null to delete the record
 * at the spec's key) goes to its record and to its MSP's grant set together, so the sets the
 * access check reads are always exactly the records. Fabric answers a transaction's reads from
 * committed state, not from its own pending writes, so every grant change of a transaction
 * must come through a single call.
 */
export async function writeGrants(tx: Tx, twinId: string, changes: readonly { spec: GrantSpec; grant: Grant | null }[]): Promise<void> {
  const sets = new Map<string, ByKey>();
  const everyone = await tx.state.get<GrantSet>(grantSetKey(twinId, EVERYONE));
  if (everyone?.complete) {
    for (const mspId of new Set(changes.map((c) => c.spec.mspId))) {
      const set = mspId === EVERYONE ? everyone : await tx.state.get<GrantSet>(grantSetKey(twinId, mspId));
      sets.set(mspId, new Map((set?.grants ?? []).map((g) => [grantKey(twinId, g), g])));
    }
  } else {
    // A new twin, or the first grant change of a twin from before grant sets: every MSP's set
    // is made from the records now, and '*' marks them complete.
    sets.set(EVERYONE, new Map());
    for (const { value: g } of await list<Grant>(tx.state, KeyTypes.grant, [twinId])) {
      let m = sets.get(g.mspId);
      if (!m) sets.set(g.mspId, (m = new Map()));
      m.set(grantKey(twinId, g), g);
    }
  }
  for (const { spec, grant } of changes) {
    const key = grantKey(twinId, spec);
    let m = sets.get(spec.mspId);
    if (!m) sets.set(spec.mspId, (m = new Map()));
    if (grant) {
      tx.put(key, grant);
      m.set(key, grant);
    } else {
      tx.del(key);
      m.delete(key);
    }
  }
  for (const [mspId, m] of sets) {
    const grants = [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
    const set: GrantSet = { twinId, mspId, grants, ...(mspId === EVERYONE ? { complete: true as const } : {}) };
    tx.putDerived(grantSetKey(twinId, mspId), set);
  }
}

export function parseGrantSpec(v: unknown, nowMs: number | undefined, what = 'grant'): GrantSpec {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(ErrorCodes.VALIDATION_FAILED, `${what} must be a JSON object`);
  const o = v as Record<string, unknown>;
  onlyKeys(what, o, ['mspId', 'identity', 'role', 'permission', 'expiresAt']);
  const { mspId, identity, role, permission, expiresAt } = o;
  if (typeof mspId !== 'string' || (mspId !== EVERYONE && !MSP_ID.test(mspId))) {
    fail(ErrorCodes.VALIDATION_FAILED, `${what}.mspId must be an MSP ID or '*'`);
  }
  const spec: GrantSpec = { mspId };
  if (identity !== undefined && identity !== '') {
    if (typeof identity !== 'string' || !identity.startsWith('x509::') || identity.length > 2048 || identity.includes('\u0000')) {
      fail(ErrorCodes.VALIDATION_FAILED, `${what}.identity must be an identity ID (x509::<subject>::<issuer>)`);
    }
    if (mspId === EVERYONE) fail(ErrorCodes.VALIDATION_FAILED, `${what}: an identity grant needs its MSP ID`);
    spec.identity = identity;
  }
  if ((role === undefined) === (permission === undefined)) {
    fail(ErrorCodes.VALIDATION_FAILED, `${what} needs exactly one of role and permission`);
  }
  if (role !== undefined) {
    if (typeof role !== 'string' || !isRole(role)) fail(ErrorCodes.VALIDATION_FAILED, `${what}.role is not a known role`);
    spec.role = role;
  } else {
    if (typeof permission !== 'string' || !isPermission(permission)) {
      fail(ErrorCodes.VALIDATION_FAILED, `${what}.permission is not a known permission`);
    }
    spec.permission = permission;
  }
  if (mspId === EVERYONE && !isReadOnly((spec.role ?? spec.permission) as string)) {
    fail(ErrorCodes.VALIDATION_FAILED, `${what}: grants to every MSP ('*') may only confer reading`);
  }
  if (expiresAt !== undefined && expiresAt !== '') {
    const t = typeof expiresAt === 'string' ? parseTimestamp(expiresAt) : undefined;
    if (!t || typeof expiresAt !== 'string' || /^\d+$/.test(expiresAt)) {
      fail(ErrorCodes.VALIDATION_FAILED, `${what}.expiresAt must be an ISO 8601 timestamp with zone`);
    }
    if (nowMs !== undefined && t.seconds * 1000 + t.nanos / 1e6 <= nowMs) {
      fail(ErrorCodes.VALIDATION_FAILED, `${what}.expiresAt lies in the past`);
    }
    spec.expiresAt = new Date(t.seconds * 1000 + t.nanos / 1e6).toISOString();
  }
  return spec;
}

export function makeGrant(tx: Tx, twinId: string, spec: GrantSpec): Grant {
  return { twinId, ...spec, grantedBy: tx.who, grantedAt: tx.time.iso, txId: tx.txId };
}

export function isExpired(g: Grant, nowMs: number): boolean {
  return g.expiresAt !== undefined && Date.parse(g.expiresAt) <= nowMs;
}

export interface Access {
  roles: Role[];
  permissions: string[];
}

/**
 * Effective roles and permissions of (mspId, identity) at transaction time nowMs.
 *
 * nowMs is the submitter's proposal timestamp, which peers accept within their
 * peer.authentication.timewindow of their own clocks. A grant with an expiry that is still
 * running at nowMs is judged at the later of nowMs and ledgerNowMs() (the recorded time of the
 * twin's latest committed change): a proposal back-dated to before the expiry is then refused
 * once any change of the twin has been recorded at or after it. ledgerNowMs reads the twin's
 * change-order key as a versioned read, so such a transaction also fails validation
 * (MVCC_READ_CONFLICT) if any change of the twin commits between its endorsement and its
 * commit; only callers whose access rests on an expiring grant pay that, everyone else never
 * reads the key.
 */
export async function accessOf(
  r: StateReader,
  twinId: string,
  mspId: string,
  identity: string,
  nowMs: number,
  ledgerNowMs?: () => Promise<number | undefined>,
): Promise<Access> {
  const grants = (await grantsOf(r, twinId, mspId)).filter((g) => g.identity === undefined || g.identity === identity);
  let now = nowMs;
  if (ledgerNowMs && grants.some((g) => g.expiresAt !== undefined && !isExpired(g, nowMs))) {
    now = Math.max(nowMs, (await ledgerNowMs()) ?? nowMs);
  }
  const roles = new Set<Role>();
  const perms = new Set<string>();
  for (const g of grants) {
    if (isExpired(g, now)) continue;
    if (g.role) {
      roles.add(g.role);
      for (const p of ROLE_PERMISSIONS[g.role]) {
        // program:ack counts only from a DEVICE_AGENT grant naming this very identity, so a
        // grant that predates the grant rules (device-agent.ts) cannot confer it either.
        if (p === Permissions.PROGRAM_ACK && g.identity === undefined) continue;
        perms.add(p);
      }
    }
    if (g.permission && g.permission !== Permissions.PROGRAM_ACK) perms.add(g.permission);
  }
  return { roles: [...roles].sort(), permissions: [...perms].sort() };
}

export function nowMs(tx: Tx): number {
  return tx.time.seconds * 1000 + Math.floor(tx.time.nanos / 1e6);
}

/** accessOf's ledgerNowMs for a twin: the recorded time of its latest committed change. */
export function ledgerClock(tx: Tx, twinId: string): () => Promise<number | undefined> {
  return () => latestChangeMs(tx.state, twinId);
}

export async function callerAccess(tx: Tx, twinId: string): Promise<Access> {
  return accessOf(tx.state, twinId, tx.caller.mspId, tx.caller.id, nowMs(tx), ledgerClock(tx, twinId));
}

/** Throws ACCESS_DENIED unless the caller holds the permission on the twin. */
export async function requirePermission(tx: Tx, twinId: string, permission: string): Promise<Access> {
  const access = await callerAccess(tx, twinId);
  if (!access.permissions.includes(permission)) throw denied(tx.caller, twinId, permission);
  return access;
}

export function denied(caller: Caller, twinId: string, permission: string): ChaincodeError {
  return new ChaincodeError(ErrorCodes.ACCESS_DENIED, `${caller.mspId} identity lacks ${permission} on twin ${twinId}`);
}

export const DEFAULT_READER_GRANT: GrantSpec = { mspId: EVERYONE, role: Roles.READER };
