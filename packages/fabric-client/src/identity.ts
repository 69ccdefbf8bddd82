import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import fabricGateway from '@hyperledger/fabric-gateway';
import type { Identity, Signer } from '@hyperledger/fabric-gateway';

/** Where an identity's certificate and private key live (MSP folder files or mounted secrets). */
export interface IdentityFiles {
  readonly mspId: string;
  readonly certPath: string;
  readonly keyPath: string;
}

export interface LoadedIdentity {
  readonly identity: Identity;
  readonly signer: Signer;
  /** The certificate PEM, for logs and audit ("who signed"). */
  readonly certificatePem: string;
}

export async function loadIdentity(files: IdentityFiles): Promise<LoadedIdentity> {
  const [cert, key] = await Promise.all([readFile(files.certPath), readFile(files.keyPath)]);
  return {
    identity: { mspId: files.mspId, credentials: cert },
    signer: fabricGateway.signers.newPrivateKeySigner(createPrivateKey(key)),
    certificatePem: cert.toString('utf8'),
  };
}
