import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSwarmKey, InvalidKeyFileError, parseHexKey, parseSwarmKey, readHexKeyFile, readSwarmKeyFile } from '@twinledger/dht';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twinledger-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('key files', () => {
  const key = generateSwarmKey();
  const text = Buffer.from(key).toString('utf8');
  const hex = text.split('\n')[2] as string;

  it('reads a swarm key as the file libp2p wrote, CRLF text, upper-case hex or bare hex, always in pnet form', async () => {
    expect(Buffer.from(parseSwarmKey(text)).equals(Buffer.from(key))).toBe(true);
    expect(Buffer.from(parseSwarmKey(key)).equals(Buffer.from(key))).toBe(true);
    expect(Buffer.from(parseSwarmKey(`${text.replace(/\n/g, '\r\n')}\r\n`)).equals(Buffer.from(key))).toBe(true);
    expect(Buffer.from(parseSwarmKey(` ${hex.toUpperCase()}\n`)).equals(Buffer.from(key))).toBe(true);
    await writeFile(join(dir, 'swarm.key'), key);
    expect(Buffer.from(await readSwarmKeyFile(join(dir, 'swarm.key'))).equals(Buffer.from(key))).toBe(true);
  });

  it('refuses malformed swarm keys and missing files with KEY_FILE_INVALID, never echoing the key', async () => {
    expect(() => parseSwarmKey(hex.slice(2))).toThrow(InvalidKeyFileError);
    expect(() => parseSwarmKey(text.replace('base16', 'base64'))).toThrow(InvalidKeyFileError);
    try {
      parseSwarmKey(`${hex}zz`, 'DHT_SWARM_KEY');
      throw new Error('accepted');
    } catch (err) {
      expect(err).toMatchObject({ code: 'KEY_FILE_INVALID', httpStatus: 400, details: { source: 'DHT_SWARM_KEY' } });
      expect(JSON.stringify((err as InvalidKeyFileError).toJSON())).not.toContain(hex);
    }
    await expect(readSwarmKeyFile(join(dir, 'missing.key'))).rejects.toMatchObject({ code: 'KEY_FILE_INVALID', details: { reason: 'ENOENT' } });
  });

  it('reads a 32-byte hex key file and refuses other lengths or digits', async () => {
    await writeFile(join(dir, 'enc.key'), `${hex}\n`);
    expect(Buffer.from(await readHexKeyFile(join(dir, 'enc.key'))).toString('hex')).toBe(hex.toLowerCase());
    expect(parseHexKey(hex).byteLength).toBe(32);
    expect(() => parseHexKey(hex.slice(1))).toThrow(InvalidKeyFileError);
    expect(() => parseHexKey(`${hex.slice(1)}g`)).toThrow(InvalidKeyFileError);
  });
});
