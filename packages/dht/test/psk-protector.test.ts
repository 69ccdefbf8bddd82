import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from '@jest/globals';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { ping } from '@libp2p/ping';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { xsalsa20 as reference } from '@noble/ciphers/salsa.js';
import { createLibp2p, type Libp2p } from 'libp2p';
import { swarmKeyBytes } from '../src/key-files.js';
import { pskProtector, xsalsa20Stream } from '../src/psk-protector.js';
import { generateSwarmKey } from '../src/swarm-key.js';

describe('PSK protector (pnet wire protocol on libsodium XSalsa20)', () => {
  it('produces the XSalsa20 keystream byte for byte, however the bytes are split', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    const plain = randomBytes(300_000);
    const expected = reference(key, nonce, plain);
    const xor = xsalsa20Stream(nonce, key);
    // Odd splits: inside a 64-byte block, single bytes, several parts in one call.
    const cuts = [0, 1, 63, 64, 65, 200, 4097, 70_001, 70_002, 299_999, 300_000];
    const out: Uint8Array[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const part = plain.subarray(cuts[i], cuts[i + 1]);
      out.push(i % 2 === 0 ? xor.update(part) : xor.update([part.subarray(0, 1), part.subarray(1)]));
    }
    expect(Buffer.compare(Buffer.concat(out), Buffer.from(expected))).toBe(0);
  });

  it('reads the key bytes from the swarm-key file format and from 64 hex digits', () => {
    const file = generateSwarmKey();
    const hex = new TextDecoder().decode(file).split('\n')[2] as string;
    expect(Buffer.from(swarmKeyBytes(file)).toString('hex')).toBe(hex);
    expect(Buffer.from(swarmKeyBytes(hex)).toString('hex')).toBe(hex);
    expect(() => swarmKeyBytes('not a key')).toThrow(expect.objectContaining({ code: 'KEY_FILE_INVALID' }));
  });

  describe('on real libp2p nodes over TCP', () => {
    const nodes: Libp2p[] = [];
    const make = async (protector: ReturnType<typeof pskProtector>): Promise<Libp2p<{ ping: ReturnType<ReturnType<typeof ping>> }>> => {
      const node = await createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        connectionProtector: protector,
        services: { ping: ping() },
      });
      nodes.push(node);
      return node;
    };
    afterEach(async () => {
      await Promise.all(nodes.splice(0).map((n) => n.stop()));
    });

    // @libp2p/pnet stays a dev dependency for this: the wire format must not drift from it.
    it('interoperates with @libp2p/pnet in both directions under the same swarm key', async () => {
      const swarmKey = generateSwarmKey();
      for (const oursDials of [true, false]) {
        const ours = await make(pskProtector({ swarmKey }));
        const theirs = await make(preSharedKey({ psk: swarmKey }));
        const [from, to] = oursDials ? [ours, theirs] : [theirs, ours];
        const rtt = await from.services.ping.ping(to.getMultiaddrs()[0]!);
        expect(rtt).toBeGreaterThanOrEqual(0);
        expect(from.getPeers().map(String)).toContain(to.peerId.toString());
        expect(to.getPeers().map(String)).toContain(from.peerId.toString());
      }
    }, 20_000);

    it('carries a large exchange intact (noise would reject a single wrong byte)', async () => {
      const swarmKey = generateSwarmKey();
      const a = await make(pskProtector({ swarmKey }));
      const b = await make(pskProtector({ swarmKey }));
      const payload = randomBytes(3 * 1024 * 1024 + 17);
      await b.handle('/twinledger/test-echo/1', async (stream) => {
        const parts: Uint8Array[] = [];
        for await (const chunk of stream) parts.push(chunk.subarray());
        stream.send(Buffer.concat(parts));
        await stream.close();
      });
      const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, '/twinledger/test-echo/1');
      for (let at = 0; at < payload.length; at += 100_000) stream.send(payload.subarray(at, at + 100_000));
      await stream.close();
      const back: Uint8Array[] = [];
      for await (const chunk of stream) back.push(chunk.subarray());
      expect(Buffer.compare(Buffer.concat(back), payload)).toBe(0);
    }, 20_000);

    it('refuses a node with another swarm key (no connection on either side)', async () => {
      const a = await make(pskProtector({ swarmKey: generateSwarmKey(), handshakeTimeoutMs: 2000 }));
      const b = await make(pskProtector({ swarmKey: generateSwarmKey(), handshakeTimeoutMs: 2000 }));
      await expect(a.dial(b.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(3000) })).rejects.toThrow();
      expect(a.getPeers()).toHaveLength(0);
      expect(b.getPeers()).toHaveLength(0);
    }, 20_000);
  });
});
