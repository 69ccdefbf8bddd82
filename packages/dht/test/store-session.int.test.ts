import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import type { Stream } from '@libp2p/interface';
import { STORE_PROTOCOL, STORE_SESSION_PROTOCOL, type DhtNode } from '@twinledger/dht';
import { dialRawProtocol, holdsBlob, spawnTestNetwork, storeSessionPeers, withOutsiders, type TestNetwork } from '@twinledger/dht/testing';
import { createFrameDecoder, encodeFrame, type Frame } from '../src/framing.js';

// Three orgs, r = 3: every node holds every object. Org3's node is of the previous version (it
// serves and uses only /twinledger/store/1.0.0), as during a rolling upgrade. No node runs the
// data channel: since 1.3.0 it carries every store op, and this file is about the session path.
const CHUNK = 64 * 1024;
const LIMITS = { maxHeaderBytes: 64 * 1024, maxBodyBytes: 2 * 1024 * 1024 };
jest.setTimeout(60_000);

let net: TestNetwork;
const n = (i: number): DhtNode => net.nodes[i] as DhtNode;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  net = await spawnTestNetwork({
    orgs: ['Org1', 'Org2', 'Org3'],
    nodeInit: { replicationFactor: 3, faultTolerance: 1, chunkSize: CHUNK, requestTimeoutMs: 10_000, dataChannel: false },
    nodeInitAt: (i) => (i === 2 ? { storeSessions: false } : undefined),
  });
  await net.connectAll();
});

afterAll(async () => {
  await net?.teardown();
});

/** Frames the peer sends on `stream` until `count` arrived or it ended its side. */
function collect(stream: Stream, count: number): Promise<{ frames: Frame[]; ended: boolean }> {
  const decoder = createFrameDecoder(LIMITS);
  const frames: Frame[] = [];
  return new Promise((resolve) => {
    const done = (ended: boolean): void => resolve({ frames, ended });
    stream.addEventListener('message', (evt) => {
      frames.push(...decoder.push(evt.data));
      if (frames.length >= count) done(false);
    });
    stream.addEventListener('remoteCloseWrite', () => done(true));
    stream.addEventListener('close', () => done(true));
  });
}

const missing = (id: number): Uint8Array => encodeFrame({ op: 'get-blob', kind: 'chunk', hash: 'ab'.repeat(32), id });

describe('rolling upgrade: store protocol 1.1.0 (sessions) beside 1.0.0', () => {
  it("stores on a previous-version node and each version reads the other's objects", async () => {
    const data = randomBytes(5 * CHUNK + 17);
    const put = await n(0).putObject(data, { acl: ['Org1', 'Org2', 'Org3'] });
    expect(put.replicas).toHaveLength(3);
    const manifest = await n(0).getManifest(put.ref);
    for (const c of manifest.chunks) expect(await holdsBlob(n(2), 'chunk', c.hash)).toBe(true);
    expect(sha(await n(2).getObject(put.ref))).toBe(sha(data));
    expect(sha(await n(1).getObject(put.ref))).toBe(sha(data));

    const back = randomBytes(3 * CHUNK);
    const put2 = await n(2).putObject(back, { acl: ['Org1', 'Org2', 'Org3'] });
    expect(put2.replicas).toHaveLength(3);
    expect(sha(await n(0).getObject(put2.ref))).toBe(sha(back));

    // New nodes talk over a session; towards the old node, and from it, a stream per request.
    expect(storeSessionPeers(n(0))).toContain(n(1).peerId);
    expect(storeSessionPeers(n(0))).not.toContain(n(2).peerId);
    expect(storeSessionPeers(n(2))).toEqual([]);
    await expect(dialRawProtocol(n(0), n(2).peerId, STORE_SESSION_PROTOCOL)).rejects.toThrow();
    await expect(dialRawProtocol(n(2), n(0).peerId, STORE_PROTOCOL)).resolves.toBeDefined();
  });
});

describe('the session protocol on the wire', () => {
  it('answers pipelined requests by id, with the same refusals as 1.0.0, beyond its in-flight limit', async () => {
    const data = randomBytes(2 * CHUNK);
    const put = await n(0).putObject(data, { acl: ['Org1'] });
    const chunk = (await n(0).getManifest(put.ref)).chunks[0]!.hash;

    // From Org2 (outside the ACL) to Org1's node, three requests in one write.
    const s = await dialRawProtocol(n(1), n(0).peerId, STORE_SESSION_PROTOCOL);
    let got = collect(s, 3);
    s.send(Buffer.concat([missing(1), encodeFrame({ op: 'nope', id: 2 }), encodeFrame({ op: 'get-blob', kind: 'chunk', hash: chunk, id: 3 })]));
    const first = await got;
    const byId = new Map(first.frames.map((f) => [f.header['id'], f.header]));
    expect(byId.get(1)).toMatchObject({ ok: false, code: 'DHT_NOT_FOUND' });
    expect(byId.get(2)).toMatchObject({ ok: false, code: 'DHT_MALFORMED_MESSAGE' });
    expect(byId.get(3)).toMatchObject({ ok: false, code: 'DHT_ACL_DENIED' });

    // 40 requests at once: more than a session runs at a time; every one is answered once.
    got = collect(s, 40);
    s.send(Buffer.concat(Array.from({ length: 40 }, (_, i) => missing(100 + i))));
    const many = await got;
    expect(many.ended).toBe(false);
    expect(many.frames.map((f) => f.header['id']).sort()).toEqual(Array.from({ length: 40 }, (_, i) => 100 + i).sort());
    await s.close();
  });

  it('ends a session that keeps far more requests open than allowed, after answering those it took', async () => {
    const s = await dialRawProtocol(n(1), n(0).peerId, STORE_SESSION_PROTOCOL);
    const got = collect(s, 1000);
    s.send(Buffer.concat(Array.from({ length: 1000 }, (_, i) => missing(i + 1))));
    const res = await got;
    expect(res.ended).toBe(true);
    const last = res.frames.at(-1)!.header;
    expect(last).toMatchObject({ ok: false, code: 'DHT_MALFORMED_MESSAGE', id: null });
    const answered = res.frames.slice(0, -1);
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.length).toBeLessThan(1000);
    for (const f of answered) expect(f.header).toMatchObject({ ok: false, code: 'DHT_NOT_FOUND' });
  });

  it('answers what was sent before the requester closed its side, beyond the in-flight limit', async () => {
    const s = await dialRawProtocol(n(1), n(0).peerId, STORE_SESSION_PROTOCOL);
    const got = collect(s, 20);
    s.send(Buffer.concat(Array.from({ length: 20 }, (_, i) => missing(i + 1))));
    await s.close();
    const res = await got;
    expect(res.frames.map((f) => f.header['id']).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // The node still serves.
    const data = randomBytes(CHUNK);
    const put = await n(0).putObject(data, { acl: ['Org1', 'Org2'] });
    expect(sha(await n(1).getObject(put.ref))).toBe(sha(data));
  });

  it('ends a session whose framing breaks (no id, oversize prefix), and later requests still work', async () => {
    const noId = await dialRawProtocol(n(0), n(1).peerId, STORE_SESSION_PROTOCOL);
    let got = collect(noId, 2);
    noId.send(encodeFrame({ op: 'get-blob', kind: 'chunk', hash: 'ab'.repeat(32) }));
    let res = await got;
    expect(res.frames).toHaveLength(1);
    expect(res.frames[0]!.header).toMatchObject({ ok: false, code: 'DHT_MALFORMED_MESSAGE', id: null });
    expect(res.ended).toBe(true);

    const oversize = await dialRawProtocol(n(0), n(1).peerId, STORE_SESSION_PROTOCOL);
    got = collect(oversize, 2);
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setUint32(0, 0x7fffffff);
    oversize.send(prefix);
    res = await got;
    expect(res.frames[0]!.header).toMatchObject({ ok: false, code: 'DHT_MESSAGE_TOO_LARGE', id: null });
    expect(res.ended).toBe(true);

    const data = randomBytes(CHUNK + 1);
    const put = await n(0).putObject(data, { acl: ['Org1', 'Org2'] });
    expect(sha(await n(1).getObject(put.ref))).toBe(sha(data));
  });
});

describe('membership on the session protocol', () => {
  it('gives a node outside the registry no session, with or without the swarm key', async () => {
    const { ref } = await n(0).putObject(randomBytes(100), { acl: ['Org1', 'Org2', 'Org3'] });
    await withOutsiders(net, async (outsider) => {
      await outsider.dial(n(0).multiaddrs()[0]!).catch(() => undefined);
      // Neither store protocol answers it: the dial fails, or (libp2p may hand out a stream
      // before the remote confirmed the protocol) the stream ends without a single frame. A
      // request that reached the store handler would be answered, if only with a refusal.
      for (const protocol of [STORE_SESSION_PROTOCOL, STORE_PROTOCOL]) {
        const stream = await dialRawProtocol(outsider, n(0).peerId, protocol).catch(() => undefined);
        if (stream === undefined) continue;
        const got = collect(stream, 1);
        stream.send(encodeFrame({ op: 'get-blob', kind: 'manifest', hash: ref, ...(protocol === STORE_SESSION_PROTOCOL ? { id: 1 } : {}) }));
        const res = await got;
        expect(res.frames).toEqual([]);
        expect(res.ended).toBe(true);
      }
      expect(n(0).status().peers.map((p) => p.peerId)).not.toContain(outsider.peerId);
      expect(storeSessionPeers(n(0))).not.toContain(outsider.peerId);
    });
  });
});
