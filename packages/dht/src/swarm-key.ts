import { randomBytes } from 'node:crypto';
import { parseSwarmKey } from './key-files.js';

/**
 * A fresh pre-shared key for the consortium's private network, in the swarm-key file format
 * (`/key/swarm/psk/1.0.0/`, base16, 32 bytes). Every organization's node gets the same one
 * (a Kubernetes secret in deployment); a host without it cannot complete a handshake.
 */
export function generateSwarmKey(): Uint8Array {
  return parseSwarmKey(randomBytes(32).toString('hex'));
}
