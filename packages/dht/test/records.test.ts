import { describe, expect, it } from '@jest/globals';
import { generateEncryptionKeyPair, generateSigningKey } from '@twinledger/dht';
import { parseAclRecord, signAclRecord } from '../src/acl-record.js';
import { toHex, random } from '../src/codec.js';
import { decodeFrame, encodeFrame } from '../src/framing.js';
import { feedUpdateAddress, parseFeedHead, parseFeedUpdate, signFeedHead, signFeedUpdate } from '../src/feed-records.js';
import { unwrapKey, wrapKey } from '../src/key-wrap.js';
import { decodeManifest, encodeManifest, type Manifest } from '../src/manifest.js';
import { orderForKey } from '../src/placement.js';
import { fixedSizeChunks } from '../src/chunker.js';

const limits = { maxHeaderBytes: 1024, maxBodyBytes: 4096 };

describe('framing', () => {
  it('round-trips and rejects malformed or oversize frames with codes', () => {
    const f = decodeFrame(encodeFrame({ op: 'x' }, new Uint8Array([1, 2])), limits);
    expect(f.header).toEqual({ op: 'x' });
    expect(Array.from(f.body)).toEqual([1, 2]);
    expect(() => decodeFrame(new Uint8Array(3), limits)).toThrow(expect.objectContaining({ code: 'DHT_MALFORMED_MESSAGE' }));
    expect(() => decodeFrame(encodeFrame({ op: 'x' }, new Uint8Array(5000)), limits)).toThrow(expect.objectContaining({ code: 'DHT_MESSAGE_TOO_LARGE', httpStatus: 413 }));
    const notJson = encodeFrame({ op: 'x' });
    notJson[8] = 0x7b + 1;
    expect(() => decodeFrame(notJson, limits)).toThrow(expect.objectContaining({ code: 'DHT_MALFORMED_MESSAGE' }));
    expect(() => decodeFrame(encodeFrame({ op: 'x' }).subarray(0, 10), limits)).toThrow(expect.objectContaining({ code: 'DHT_MALFORMED_MESSAGE' }));
  });
});

describe('ACL records', () => {
  const owner = generateSigningKey().key;
  const nonce = toHex(random(16));

  it('verifies the owner signature and the objectId binding', () => {
    const rec = signAclRecord(owner, { nonce, version: 1, parties: ['Org2', 'Org1', 'Org1'] });
    expect(rec.parties).toEqual(['Org1', 'Org2']);
    expect(parseAclRecord(JSON.parse(JSON.stringify(rec)))).toEqual(rec);
    expect(() => parseAclRecord({ ...rec, version: 2 })).toThrow(expect.objectContaining({ code: 'DHT_BAD_SIGNATURE' }));
    const other = generateSigningKey().key;
    const hijack = signAclRecord(other, { nonce, version: 5, parties: ['Org9'] });
    expect(() => parseAclRecord({ ...hijack, objectId: rec.objectId })).toThrow(expect.objectContaining({ code: 'DHT_BAD_SIGNATURE' }));
    expect(() => parseAclRecord({ ...rec, extra: 1 })).toThrow(expect.objectContaining({ code: 'DHT_MALFORMED_MESSAGE' }));
    expect(() => signAclRecord(owner, { nonce, version: 1, parties: [] })).toThrow(expect.objectContaining({ code: 'DHT_MALFORMED_MESSAGE' }));
  });
});

describe('key wrapping', () => {
  it('unwraps only for the recipient and the same context', () => {
    const alice = generateEncryptionKeyPair();
    const bob = generateEncryptionKeyPair();
    const dataKey = random(32);
    const wrapped = wrapKey(dataKey, alice.publicKey, 'obj:Org1');
    expect(wrapped).toHaveLength(104);
    expect(Buffer.from(unwrapKey(wrapped, alice, 'obj:Org1')).equals(Buffer.from(dataKey))).toBe(true);
    expect(() => unwrapKey(wrapped, bob, 'obj:Org1')).toThrow(expect.objectContaining({ code: 'DHT_INTEGRITY_FAILED' }));
    expect(() => unwrapKey(wrapped, alice, 'obj:Org2')).toThrow(expect.objectContaining({ code: 'DHT_INTEGRITY_FAILED' }));
  });
});

describe('manifests', () => {
  it('is addressed by its hash and validated on decode', () => {
    const m: Manifest = { v: 1, objectId: 'a'.repeat(64), aclVersion: 1, cipher: 'aes-256-gcm', chunkSize: 1024, size: 10, plaintextHash: 'b'.repeat(64), chunks: [{ hash: 'c'.repeat(64), size: 38 }], acl: ['Org1'], keys: { Org1: 'x' } };
    const { bytes, ref } = encodeManifest(m);
    expect(decodeManifest(bytes, ref)).toEqual(m);
    expect(() => decodeManifest(bytes, 'd'.repeat(64))).toThrow(expect.objectContaining({ code: 'DHT_INTEGRITY_FAILED' }));
    expect(() => decodeManifest(encodeManifest({ ...m, size: 5000 }).bytes)).toThrow(expect.objectContaining({ code: 'DHT_MALFORMED_MESSAGE' }));
  });
});

describe('feed records', () => {
  it('binds updates to H(feedId || index) and the owner key', () => {
    const { key } = generateSigningKey();
    const u = signFeedUpdate(key, { topic: 't', index: 3, timeStart: 1, timeEnd: 2, ref: 'e'.repeat(64) });
    const addr = feedUpdateAddress(u.feedId, 3);
    expect(parseFeedUpdate(u, addr)).toEqual(u);
    expect(() => parseFeedUpdate(u, feedUpdateAddress(u.feedId, 4))).toThrow(expect.objectContaining({ code: 'DHT_WRONG_ADDRESS' }));
    expect(() => parseFeedUpdate({ ...u, timeEnd: 3 }, addr)).toThrow(expect.objectContaining({ code: 'DHT_BAD_SIGNATURE' }));
    expect(() => parseFeedUpdate({ ...u, topic: 'u' }, addr)).toThrow(expect.objectContaining({ code: 'DHT_WRONG_ADDRESS' }));
    const h = signFeedHead(key, { topic: 't', seq: 1, latestIndex: 3, latestTimeEnd: 2, objectId: 'f'.repeat(64) });
    expect(parseFeedHead(h)).toEqual(h);
    expect(() => parseFeedHead({ ...h, seq: 2 })).toThrow(expect.objectContaining({ code: 'DHT_BAD_SIGNATURE' }));
  });
});

describe('placement and chunking', () => {
  it('puts the closest node of each organization first', async () => {
    const { peerIdFromPrivateKey } = await import('@libp2p/peer-id');
    const { generateKeyPair } = await import('@libp2p/crypto/keys');
    const ids = await Promise.all([0, 1, 2, 3, 4, 5].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()));
    const cands = ids.map((peerId, i) => ({ peerId, mspId: i < 4 ? 'Org1' : `Org${i}` }));
    const order = orderForKey('ab'.repeat(32), cands);
    expect(order).toHaveLength(6);
    expect(new Set(order.slice(0, 3).map((c) => c.mspId)).size).toBe(3);
  });

  it('cuts fixed-size chunks and enforces the object limit', async () => {
    const parts: Uint8Array[] = [];
    for await (const c of fixedSizeChunks([new Uint8Array(1500), new Uint8Array(1000)], 1024, 10_000)) parts.push(c);
    expect(parts.map((p) => p.length)).toEqual([1024, 1024, 452]);
    await expect((async () => {
      for await (const _ of fixedSizeChunks(new Uint8Array(2000), 1024, 1500)) void _;
    })()).rejects.toMatchObject({ code: 'DHT_MESSAGE_TOO_LARGE' });
  });
});
