import { EVERYONE, ROLE_PERMISSIONS, docRead, type ConfidentialityLevel, type Permission } from './constants.js';
import type { Grant, GrantSpec, Party } from './types.js';

/**
 * The organizations whose unexpired grants (at `now`) confer `permission` on the twin: the one
 * policy for deriving an off-chain party set (DHT ACL) from the ledger's grants. `*` grants
 * expand to every registered party. An identity-scoped grant counts for its whole organization
 * (DHT keys are wrapped per organization). `ownMspId` is always included: the writer keeps
 * reading what it writes.
 */
export function permissionHolders(
  grants: readonly (Grant | GrantSpec)[],
  permission: Permission,
  parties: readonly Pick<Party, 'mspId'>[],
  ownMspId: string,
  now: Date = new Date(),
): string[] {
  const out = new Set<string>([ownMspId]);
  for (const g of grants) {
    if (g.expiresAt !== undefined && Date.parse(g.expiresAt) <= now.getTime()) continue;
    const perms = g.role !== undefined ? ROLE_PERMISSIONS[g.role] : g.permission !== undefined ? [g.permission] : [];
    if (!perms.includes(permission)) continue;
    if (g.mspId === EVERYONE) for (const p of parties) out.add(p.mspId);
    else out.add(g.mspId);
  }
  return [...out].sort();
}

/**
 * The organizations whose grants let them read documents of `level` at time `now`: the DHT ACL
 * of such a document (its data key is wrapped to exactly these parties). `*` grants expand to
 * every registered party. The uploading organization is always included.
 */
export function documentReaders(
  grants: readonly (Grant | GrantSpec)[],
  level: ConfidentialityLevel,
  parties: readonly Pick<Party, 'mspId'>[],
  ownMspId: string,
  now: Date = new Date(),
): string[] {
  return permissionHolders(grants, docRead(level), parties, ownMspId, now);
}
