import { X509Certificate } from 'node:crypto';
import type { Context } from 'fabric-contract-api';
import { ErrorCodes, fail } from '../errors';

/** The admin NodeOU identifier of every organization's MSP config (config.yaml, NodeOUs). */
const ADMIN_OU = 'admin';

/** Who submitted the transaction, as the chaincode sees it. */
export interface Caller {
  mspId: string;
  /** ctx.clientIdentity.getID(): `x509::<subject DN>::<issuer DN>`, the name grants and records use. */
  id: string;
  /** Organizational units of the certificate subject (NodeOUs: admin, client, peer, orderer). */
  ous: string[];
  /** The certificate subject's common name(s). */
  cns: string[];
  isAdmin: boolean;
}

/**
 * Role facts (OU, CN) come from the creator's X.509 certificate itself, never from the getID()
 * string: the shim builds that string by escaping only the first '/' of each DN value, so a
 * client certificate whose CN is `eve/x/OU=admin` reads as carrying OU=admin there (issue #20).
 * The certificate's subject is parsed as ASN.1 attributes, where a value cannot pose as a name.
 */
export function callerOf(ctx: Context): Caller {
  const mspId = ctx.clientIdentity.getMSPID();
  const id = ctx.clientIdentity.getID();
  const subject = certificateSubject(ctx.clientIdentity.getIDBytes());
  const ous = subject.OU;
  // Exactly the NodeOU identifier cryptogen and the chart configure ('admin'), compared as
  // Fabric compares it: case-sensitively. An affiliation OU 'Admin' on a client certificate is
  // no admin for the MSP, so it must not be one here either.
  return { mspId, id, ous, cns: subject.CN, isAdmin: ous.includes(ADMIN_OU) };
}

/** Subject attributes by short name; every attribute may occur several times. */
export function certificateSubject(idBytes: Uint8Array): { OU: string[]; CN: string[] } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(idBytes));
  } catch {
    // The peer's MSP validated the creator already; an identity that is not an X.509
    // certificate (an idemix one, say) has no OU this chaincode could trust.
    return fail(ErrorCodes.ACCESS_DENIED, 'the creator identity is not an X.509 certificate');
  }
  const subject = cert.toLegacyObject().subject as unknown as Record<string, string | string[] | undefined>;
  const all = (name: string): string[] => {
    const v = subject[name];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  return { OU: all('OU'), CN: all('CN') };
}
