import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';

const IDENTITY_FILE = 'identity.key';

/**
 * Loads the node's libp2p private key from the data dir, creating (and persisting) an Ed25519
 * key on first start: the peer id, which the party registry binds to the organization,
 * survives restarts. Written atomically with mode 0600.
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<PrivateKey> {
  const file = join(dataDir, IDENTITY_FILE);
  try {
    return privateKeyFromProtobuf(new Uint8Array(await readFile(file)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dataDir, { recursive: true });
  const key = await generateKeyPair('Ed25519');
  const tmp = `${file}.tmp`;
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 });
  await rename(tmp, file);
  return key;
}

/**
 * The peer id a node on `dataDir` has (creating its identity when missing), so operators and
 * tests can bind it in the party registry before the node first starts.
 */
export async function peerIdOfDataDir(dataDir: string): Promise<string> {
  const { peerIdFromPrivateKey } = await import('@libp2p/peer-id');
  return peerIdFromPrivateKey(await loadOrCreateIdentity(dataDir)).toString();
}
