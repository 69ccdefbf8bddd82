import './node20-compat.js';
import { createRequire } from 'node:module';
import type { AbortOptions, ConnectionProtector, MessageStream, MultiaddrConnection } from '@libp2p/interface';
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils';
import { swarmKeyBytes } from './key-files.js';

/**
 * The consortium's private network: libp2p's pnet protocol (PSK v1: each side sends a random
 * 24-byte nonce, then every byte in each direction is XORed with the XSalsa20 keystream of the
 * swarm key and the sender's nonce), with libsodium's XSalsa20 (sodium-native) instead of the
 * `xsalsa20` WebAssembly build @libp2p/pnet ships with.
 *
 * Why: every byte between nodes passes this layer twice (sender and receiver), under noise.
 * Measured on one core here: `xsalsa20` 1.2.0 ~520 MB/s, libsodium ~3,100 MB/s; pnet was the
 * largest single cost of a replicated put (bench/RESULTS.md, dht). The wire format is
 * unchanged, so a node using @libp2p/pnet and one using this talk to each other (tested in
 * test/psk-protector.test.ts), and the WebAssembly memory-growth bug of `xsalsa20` (which once
 * crashed a node) is gone with it. ADR-9 in docs/architecture-decisions.md.
 */

interface SodiumStream {
  readonly crypto_stream_xor_STATEBYTES: number;
  crypto_stream_xor_init(state: Uint8Array, nonce: Uint8Array, key: Uint8Array): void;
  crypto_stream_xor_update(state: Uint8Array, out: Uint8Array, input: Uint8Array): void;
  crypto_stream_xor_final(state: Uint8Array): void;
}

const sodium = createRequire(import.meta.url)('sodium-native') as SodiumStream;

export const PSK_NONCE_BYTES = 24;

/** One direction's XSalsa20 keystream, continued across calls (byte-exact at any split). */
export interface KeystreamXor {
  /** XORs `parts` (in order) with the next keystream bytes into one new buffer. */
  update(parts: Iterable<Uint8Array> | Uint8Array): Uint8Array;
  /**
   * XORs `parts` (in order) with the next keystream bytes where they lie. Only for bytes that
   * no one reads afterwards (socket reads coming in): no new buffer per read, so a replica
   * receiving a 64 MiB copy no longer allocates (and its garbage collector frees) 64 MB more.
   */
  updateInPlace(parts: Iterable<Uint8Array> | Uint8Array): void;
}

export function xsalsa20Stream(nonce: Uint8Array, key: Uint8Array): KeystreamXor {
  const state = new Uint8Array(sodium.crypto_stream_xor_STATEBYTES);
  sodium.crypto_stream_xor_init(state, nonce, key);
  return {
    update(parts) {
      const list = parts instanceof Uint8Array ? [parts] : [...parts];
      let total = 0;
      for (const p of list) total += p.byteLength;
      const out = Buffer.allocUnsafe(total);
      let at = 0;
      for (const p of list) {
        sodium.crypto_stream_xor_update(state, out.subarray(at, at + p.byteLength), p);
        at += p.byteLength;
      }
      return out;
    },
    updateInPlace(parts) {
      for (const p of parts instanceof Uint8Array ? [parts] : parts) sodium.crypto_stream_xor_update(state, p, p);
    },
  };
}

type SendData = Parameters<AbstractMultiaddrConnection['sendData']>[0];

/** The protected connection: decrypts what the transport delivers, encrypts what it sends. */
class PskConnection extends AbstractMultiaddrConnection {
  private readonly inner: MultiaddrConnection;
  private readonly inbound: KeystreamXor;
  private readonly outbound: KeystreamXor;

  constructor(inner: MultiaddrConnection, psk: Uint8Array, localNonce: Uint8Array, remoteNonce: Uint8Array) {
    super({ remoteAddr: inner.remoteAddr, direction: inner.direction, log: inner.log.newScope('psk') });
    this.inner = inner;
    this.inbound = xsalsa20Stream(remoteNonce, psk);
    this.outbound = xsalsa20Stream(localNonce, psk);
    inner.addEventListener('message', (evt) => {
      // The socket's read buffers are this layer's alone (nothing else sees the ciphertext).
      this.inbound.updateInPlace(evt.data);
      this.onData(evt.data);
    });
    inner.addEventListener('drain', () => this.onMuxerDrain());
    inner.addEventListener('close', (evt) => {
      if (evt.error === undefined || evt.error === null) this.onTransportClosed();
      else if (evt.local) this.abort(evt.error);
      else this.onRemoteReset();
    });
  }

  override async sendClose(options?: AbortOptions): Promise<void> {
    await this.inner.close(options);
  }

  sendData(data: SendData): { sentBytes: number; canSendMore: boolean } {
    // Not in place, although noise's output is read by nothing after this: it arrives as parts
    // (a 2-byte length, then the sealed frame), and the TCP layer makes a socket write of each
    // part. XORing into one new buffer joins them: one write per frame.
    return { sentBytes: data.byteLength, canSendMore: this.inner.send(this.outbound.update(data)) };
  }

  sendReset(err: Error): void {
    this.inner.abort(err);
  }

  sendPause(): void {
    this.inner.pause();
  }

  sendResume(): void {
    this.inner.resume();
  }
}

export interface PskProtectorInit {
  /** The swarm key, in swarm-key file format (see generateSwarmKey). */
  readonly swarmKey: Uint8Array;
  /** How long the nonce exchange may take, ms. */
  readonly handshakeTimeoutMs?: number;
}

/** A libp2p `connectionProtector` factory (the drop-in for @libp2p/pnet's preSharedKey). */
export function pskProtector(init: Readonly<PskProtectorInit>): () => ConnectionProtector {
  const psk = swarmKeyBytes(init.swarmKey);
  const timeout = init.handshakeTimeoutMs ?? 5000;
  return () => ({
    async protect(connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
      const localNonce = crypto.getRandomValues(new Uint8Array(PSK_NONCE_BYTES));
      const opts = options?.signal ? options : { signal: AbortSignal.timeout(timeout) };
      const bytes = byteStream(connection as MultiaddrConnection);
      const [remote] = await Promise.all([bytes.read({ bytes: PSK_NONCE_BYTES, ...opts }), bytes.write(localNonce, opts)]);
      return new PskConnection(bytes.unwrap(), psk, localNonce, remote.subarray());
    },
  });
}
