import { EVERYONE, ROLE_PERMISSIONS, docRead, type ConfidentialityLevel, type Grant, type GrantSpec, type Party } from '@twinledger/ledger';

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
  const wanted = docRead(level);
  const out = new Set<string>([ownMspId]);
  for (const g of grants) {
    if (g.expiresAt !== undefined && Date.parse(g.expiresAt) <= now.getTime()) continue;
    const perms = g.role !== undefined ? ROLE_PERMISSIONS[g.role] : g.permission !== undefined ? [g.permission] : [];
    if (!perms.includes(wanted)) continue;
    if (g.mspId === EVERYONE) for (const p of parties) out.add(p.mspId);
    else out.add(g.mspId);
  }
  return [...out].sort();
}
