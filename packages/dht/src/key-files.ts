import { readFile } from 'node:fs/promises';
import { ValidationError } from '@twinledger/errors';

/**
 * The two key files every DHT service reads at boot, parsed one way everywhere (dht-gateway,
 * feed-ingest): the consortium swarm key and the organization's 32-byte X25519 private key.
 */

/** A key file or key value is not in any accepted format. Never echoes the key material. */
export class InvalidKeyFileError extends ValidationError {
  override readonly code: string = 'KEY_FILE_INVALID';
}

const SWARM_FILE = /^\/key\/swarm\/psk\/1\.0\.0\/\s*\n\/base16\/\s*\n([0-9a-f]{64})$/i;

/**
 * The swarm key in the exact form libp2p's pnet expects (`/key/swarm/psk/1.0.0/\n/base16/\n<64
 * lowercase hex>`), from either the swarm-key file text (any line endings, surrounding
 * whitespace) or just the 64 hex digits.
 */
export function parseSwarmKey(text: string | Uint8Array, source = 'swarm key'): Uint8Array {
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${swarmKeyHex(text, source)}`);
}

/** The 32 key bytes of a swarm key given in either form parseSwarmKey accepts. */
export function swarmKeyBytes(swarmKey: string | Uint8Array, source = 'swarm key'): Uint8Array {
  return new Uint8Array(Buffer.from(swarmKeyHex(swarmKey, source), 'hex'));
}

function swarmKeyHex(text: string | Uint8Array, source: string): string {
  const t = (typeof text === 'string' ? text : Buffer.from(text).toString('utf8')).replace(/\r\n/g, '\n').trim();
  const hex = /^[0-9a-f]{64}$/i.test(t) ? t : SWARM_FILE.exec(t)?.[1];
  if (hex === undefined) throw new InvalidKeyFileError('swarm key must be a swarm-key file (/key/swarm/psk/1.0.0/, /base16/, 64 hex) or 64 hex digits', { details: { source } });
  return hex.toLowerCase();
}

/** A 32-byte key written as 64 hex digits (surrounding whitespace allowed). */
export function parseHexKey(text: string | Uint8Array, source = 'key'): Uint8Array {
  const t = (typeof text === 'string' ? text : Buffer.from(text).toString('utf8')).trim();
  if (!/^[0-9a-f]{64}$/i.test(t)) throw new InvalidKeyFileError('key must be 64 hex digits (32 bytes)', { details: { source } });
  return new Uint8Array(Buffer.from(t, 'hex'));
}

export async function readSwarmKeyFile(file: string): Promise<Uint8Array> {
  return parseSwarmKey(await readKeyFile(file), file);
}

export async function readHexKeyFile(file: string): Promise<Uint8Array> {
  return parseHexKey(await readKeyFile(file), file);
}

async function readKeyFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw new InvalidKeyFileError('cannot read key file', { cause, details: { file, reason: (cause as NodeJS.ErrnoException).code ?? 'unknown' } });
  }
}
