import { readFile } from 'node:fs/promises';
import { ValidationError } from '@twinledger/errors';

/**
 * The consortium swarm key: the full swarm-key file text (`/key/swarm/psk/1.0.0/`, `/base16/`,
 * 64 hex) or just the 64 hex digits.
 */
export function swarmKeyFrom(text: string): Uint8Array {
  const t = text.trim();
  const hex = /^[0-9a-f]{64}$/i.test(t) ? t : /^\/key\/swarm\/psk\/1\.0\.0\/\s*\n\/base16\/\s*\n([0-9a-f]{64})$/i.exec(t)?.[1];
  if (hex === undefined) throw new ValidationError('swarm key must be a swarm-key file or 64 hex digits');
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${hex.toLowerCase()}`);
}

/** A 32-byte key stored as 64 hex digits (the organization's X25519 private key). */
export async function readHexKeyFile(file: string): Promise<Uint8Array> {
  const t = (await readFile(file, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/i.test(t)) throw new ValidationError('key file must hold 64 hex digits', { details: { file } });
  return new Uint8Array(Buffer.from(t, 'hex'));
}
