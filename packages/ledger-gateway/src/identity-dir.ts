import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IdentityFiles } from '@twinledger/fabric-client';

/** Identity names as they appear in tokens' `fabric_identity` claim (e.g. `User1`). */
export const IDENTITY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

async function firstFile(dir: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names.sort()) if (await isFile(join(dir, n))) return join(dir, n);
  return undefined;
}

/**
 * Finds the certificate and key of identity `name` under `dir`. Accepted layouts, first match
 * wins (the second and third are what Kubernetes secrets and cryptogen produce):
 * `<dir>/<name>/cert.pem + key.pem`, `<dir>/<name>/msp/{signcerts,keystore}/*`,
 * `<dir>/<name>/{signcerts,keystore}/*`.
 */
export async function findIdentityFiles(dir: string, name: string, mspId: string): Promise<IdentityFiles | undefined> {
  if (!IDENTITY_NAME.test(name)) return undefined;
  const base = join(dir, name);
  const cert = join(base, 'cert.pem');
  const key = join(base, 'key.pem');
  if ((await isFile(cert)) && (await isFile(key))) return { mspId, certPath: cert, keyPath: key };
  for (const msp of [join(base, 'msp'), base]) {
    const certPath = await firstFile(join(msp, 'signcerts'));
    const keyPath = await firstFile(join(msp, 'keystore'));
    if (certPath && keyPath) return { mspId, certPath, keyPath };
  }
  return undefined;
}

/** The identity names present under `dir` (for logs at boot and readiness). */
export async function listIdentityNames(dir: string, mspId: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const found: string[] = [];
  for (const n of names.sort()) if (await findIdentityFiles(dir, n, mspId)) found.push(n);
  return found;
}
