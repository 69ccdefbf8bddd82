// The secured OPC UA link between the plant and the Owner's device agent, provisioned the way an
// operator would: each side makes its own application certificate and key, each side is given a
// copy of the other's certificate to trust (and nothing else), and the agent gets a user the
// plant knows. Private keys never leave their side's folder.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ServiceStartError } from './errors.js';
import { repoRoot } from './layout.js';

/** The Owner's operating envelope for the bottling plant (services/device-agent/config). */
export const PLANT_ENVELOPE_FILE = (): string => resolve(repoRoot(), 'services', 'device-agent', 'config', 'bottling-plant.envelope.json');

export const PLANT_SECURITY_POLICY = 'Basic256Sha256';

export interface PlantLink {
  /** Environment for the plant process (its trust list and users). */
  readonly plantEnv: Readonly<Record<string, string>>;
  /** Environment for the agent, given the plant's certificate as its /state reports it. */
  agentEnv(plantCertificatePem: string): Record<string, string>;
}

export async function preparePlantLink(init: { readonly plantDir: string; readonly agentDataDir: string; readonly mspId: string; readonly twinId: string }): Promise<PlantLink> {
  const pkiDir = join(init.agentDataDir, 'opcua-pki');
  const applicationUri = `urn:twinledger:device-agent:${init.mspId}:${init.twinId}`;
  const cli = resolve(repoRoot(), 'packages', 'opcua', 'dist', 'opcua-cert.js');
  let out: string;
  try {
    out = (await promisify(execFile)(process.execPath, [cli, pkiDir, applicationUri, `device-agent ${init.mspId}`], { timeout: 120_000 })).stdout;
  } catch (err) {
    throw new ServiceStartError(`could not make the device agent's OPC UA certificate: ${(err as Error).message}`, { cause: err });
  }
  // node-opcua prints warnings on stdout too: the result is the JSON line.
  const line = out.split('\n').find((l) => l.startsWith('{'));
  const agentCert = line ? (JSON.parse(line) as { certificateFile?: unknown }).certificateFile : undefined;
  if (typeof agentCert !== 'string') throw new ServiceStartError(`opcua-cert.js printed no certificate: ${out.slice(0, 500)}`);

  const user = { username: `device-agent-${init.mspId}`, password: randomBytes(24).toString('base64url') };
  mkdirSync(join(init.plantDir, 'trusted-agents'), { recursive: true });
  const trustedAgent = join(init.plantDir, 'trusted-agents', 'device-agent.pem');
  copyFileSync(agentCert, trustedAgent);
  const usersFile = join(init.plantDir, 'users.json');
  writeFileSync(usersFile, JSON.stringify([user]), { mode: 0o600 });
  mkdirSync(init.agentDataDir, { recursive: true });
  const userFile = join(init.agentDataDir, 'opcua-user.json');
  writeFileSync(userFile, JSON.stringify(user), { mode: 0o600 });

  return {
    plantEnv: { PLANT_OPCUA_SECURITY_POLICY: PLANT_SECURITY_POLICY, PLANT_TRUSTED_CLIENT_CERTS: trustedAgent, PLANT_USERS_FILE: usersFile },
    agentEnv(plantCertificatePem) {
      const trustedDir = join(init.agentDataDir, 'opcua-trusted');
      mkdirSync(trustedDir, { recursive: true });
      const plantCert = join(trustedDir, 'bottling-plant.pem');
      writeFileSync(plantCert, plantCertificatePem);
      return {
        OPCUA_SECURITY_POLICY: PLANT_SECURITY_POLICY,
        OPCUA_PKI_DIR: pkiDir,
        OPCUA_APPLICATION_URI: applicationUri,
        OPCUA_TRUSTED_SERVER_CERTS: plantCert,
        OPCUA_USER_FILE: userFile,
        SAFETY_ENVELOPE_FILE: PLANT_ENVELOPE_FILE(),
      };
    },
  };
}
