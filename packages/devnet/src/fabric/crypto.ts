import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../exec.js';
import { USERS_PER_ORG, capitalize } from './topology.js';

const SANS = ['localhost', '127.0.0.1'];

/**
 * Generates every organization's MSP and TLS material with cryptogen, with Node OUs on so
 * that admin, client, peer and orderer identities are told apart (the chaincode relies on it).
 * `outsiders` get material too but join no channel: tests use them as unknown identities.
 */
export async function generateCrypto(cryptogen: string, workDir: string, orgs: readonly string[], outsiders: readonly string[]): Promise<string> {
  const cryptoDir = join(workDir, 'crypto');
  const config = {
    OrdererOrgs: orgs.map((name) => ({
      Name: `${capitalize(name)}Orderer`,
      Domain: `orderer.${name}.twinledger.local`,
      EnableNodeOUs: true,
      Specs: [{ Hostname: 'orderer0', SANS }],
    })),
    PeerOrgs: [...orgs, ...outsiders].map((name) => ({
      Name: capitalize(name),
      Domain: `${name}.twinledger.local`,
      EnableNodeOUs: true,
      Specs: [{ Hostname: 'peer0', SANS }],
      Users: { Count: USERS_PER_ORG },
    })),
  };
  const configFile = join(workDir, 'crypto-config.yaml');
  writeFileSync(configFile, stringify(config));
  await run(cryptogen, ['generate', `--config=${configFile}`, `--output=${cryptoDir}`]);
  return cryptoDir;
}
