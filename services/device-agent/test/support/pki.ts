// Provisions the two sides of a secured OPC UA link the way the launcher does: each side gets
// its own self-signed application certificate, and each trusts exactly the other's.
import { join } from 'node:path';
import { opcuaPki } from './opcua.js';

export interface SecurePair {
  readonly server: {
    readonly mode: 'SignAndEncrypt';
    readonly policy: 'Basic256Sha256' | 'Aes256_Sha256_RsaPss';
    readonly certificate: { certificateFile: string; privateKeyFile: string; applicationUri: string };
    readonly trustedClientCertificates: readonly string[];
    readonly users: readonly { username: string; password: string }[];
  };
  readonly client: {
    readonly mode: 'SignAndEncrypt';
    readonly policy: 'Basic256Sha256' | 'Aes256_Sha256_RsaPss';
    readonly certificate: { certificateFile: string; privateKeyFile: string; applicationUri: string };
    readonly trustedServerCertificates: readonly string[];
    readonly user: { username: string; password: string };
  };
}

export const AGENT_USER = { username: 'device-agent', password: 'correct horse battery staple' };

export async function securePair(dir: string, policy: 'Basic256Sha256' | 'Aes256_Sha256_RsaPss' = 'Basic256Sha256', name = 'plant'): Promise<SecurePair> {
  const plant = await opcuaPki.ensureApplicationCertificate({ pkiDir: join(dir, `${name}-pki`), applicationUri: `urn:twinledger:test:${name}`, commonName: name, dns: ['localhost', '127.0.0.1'] });
  const agent = await opcuaPki.ensureApplicationCertificate({ pkiDir: join(dir, 'agent-pki'), applicationUri: 'urn:twinledger:test:device-agent', commonName: 'device-agent' });
  return {
    server: { mode: 'SignAndEncrypt', policy, certificate: plant, trustedClientCertificates: [agent.certificateFile], users: [AGENT_USER] },
    client: { mode: 'SignAndEncrypt', policy, certificate: agent, trustedServerCertificates: [plant.certificateFile], user: AGENT_USER },
  };
}
