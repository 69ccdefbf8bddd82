import type { Context } from 'fabric-contract-api';

/** Who submitted the transaction, as the chaincode sees it. */
export interface Caller {
  mspId: string;
  /** ctx.clientIdentity.getID(): `x509::<subject DN>::<issuer DN>` */
  id: string;
  /** Organizational units of the certificate subject (NodeOUs: admin, client, peer, orderer). */
  ous: string[];
  isAdmin: boolean;
}

/**
 * The subject OUs are read from the ID string (the shim builds it from the certificate
 * subject), which works the same for real certificates and test doubles.
 */
export function callerOf(ctx: Context): Caller {
  const mspId = ctx.clientIdentity.getMSPID();
  const id = ctx.clientIdentity.getID();
  const ous = subjectOus(id);
  return { mspId, id, ous, isAdmin: ous.some((o) => o.toLowerCase() === 'admin') };
}

export function subjectOus(id: string): string[] {
  const parts = id.split('::');
  const subject = parts.length >= 3 ? (parts[1] ?? '') : id;
  // Components are `/SHORTNAME=value`; the shim escapes '/' inside a value as '\/'.
  const comps = subject.split(/(?<!\\)\//).filter((c) => c.length > 0);
  return comps.filter((c) => c.startsWith('OU=')).map((c) => c.slice(3).replace(/\\\//g, '/'));
}
