// The floor under the dht suite's put64 figure on this machine: what an r = 3 put of 64 MiB
// costs with everything but the unavoidable work taken away. The writer seals each 256 KiB
// chunk (AES-256-GCM), hashes the ciphertext (its address) and the plaintext (the object hash)
// and sends three copies over raw loopback TCP (no libp2p, no pnet, no noise, no framing
// beyond a length); each of three receiver processes hashes what it gets (the address check)
// and stores it: `--store=none` (drop it), `log` (append to one file), `files` (a file per
// chunk, written and renamed into place) or `leveldb` (a batch, as the DHT's store did). Prints the one-core ceiling (seal + hash, as the dht suite), the
// put MB/s of five puts, the ratio of their median to the ceiling, and CPU seconds per put.
// Usage: node bench/floor/put-floor.mjs [--store=none|log|files|leveldb]
import { Buffer } from 'node:buffer';
import { fork } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const SIZE = 64 * 1024 * 1024;
const CHUNK = 256 * 1024;
const WINDOW = 8; // chunks in flight, as the DHT's writer
const store = (process.argv.find((a) => a.startsWith('--store=')) ?? '--store=log').slice('--store='.length);

if (process.argv[2] === 'receiver') {
  const dir = process.argv[3];
  let put;
  if (store === 'log') {
    const fh = await open(join(dir, 'log'), 'a');
    put = (_hash, body) => fh.write(body);
  } else if (store === 'files') {
    const { writeFile, rename } = await import('node:fs/promises');
    put = async (hash, body) => {
      await writeFile(join(dir, `${hash}.tmp`), body);
      await rename(join(dir, `${hash}.tmp`), join(dir, hash));
    };
  } else if (store === 'leveldb') {
    const { ClassicLevel } = await import('classic-level');
    const db = new ClassicLevel(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    put = (hash, body) => db.batch([{ type: 'put', key: `b/${hash}`, value: body }, { type: 'put', key: `i/${hash}`, value: new Uint8Array(0) }]);
  } else put = async () => undefined;
  const server = net.createServer((sock) => {
    let parts = [];
    let have = 0;
    let need = -1;
    let chain = Promise.resolve();
    sock.on('data', (d) => {
      parts.push(d);
      have += d.length;
      for (;;) {
        if (need < 0) {
          if (have < 4) return;
          const b = Buffer.concat(parts);
          need = b.readUInt32BE(0);
          parts = [b.subarray(4)];
          have -= 4;
        }
        if (have < need) return;
        const b = parts.length === 1 ? parts[0] : Buffer.concat(parts);
        const body = b.subarray(0, need);
        const rest = b.subarray(need);
        parts = rest.length > 0 ? [rest] : [];
        have = rest.length;
        need = -1;
        const hash = createHash('sha256').update(body).digest('hex');
        chain = chain.then(() => put(hash, body)).then(() => sock.write('k'));
      }
    });
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
} else {
  const root = mkdtempSync(join(tmpdir(), 'twinledger-put-floor-'));
  const receivers = [];
  const sockets = [];
  for (let i = 0; i < 3; i++) {
    const child = fork(new URL(import.meta.url), ['receiver', mkdtempSync(join(root, 'r')), `--store=${store}`]);
    const { port } = await new Promise((resolve) => child.once('message', resolve));
    receivers.push(child);
    const s = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => s.once('connect', resolve));
    s.setNoDelay(true);
    sockets.push(s);
  }
  const key = randomBytes(32);
  const seal = (p) => {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    const body = c.update(p);
    c.final();
    return Buffer.concat([iv, body, c.getAuthTag()]);
  };
  const data = randomBytes(SIZE);
  let t = performance.now();
  for (let i = 0; i < 3; i++) for (let o = 0; o < SIZE; o += CHUNK) createHash('sha256').update(seal(data.subarray(o, o + CHUNK))).digest();
  const ceiling = (3 * SIZE) / 1e6 / ((performance.now() - t) / 1000);
  const waiting = sockets.map(() => []);
  sockets.forEach((s, i) => s.on('data', (d) => { for (let j = 0; j < d.length; j++) waiting[i].shift()(); }));
  const put = async () => {
    const inflight = [];
    const objectHash = createHash('sha256');
    for (let o = 0; o < SIZE; o += CHUNK) {
      const plain = data.subarray(o, o + CHUNK);
      objectHash.update(plain);
      const sealed = seal(plain);
      createHash('sha256').update(sealed).digest();
      const len = Buffer.alloc(4);
      len.writeUInt32BE(sealed.length);
      inflight.push(Promise.all(sockets.map((s, i) => new Promise((resolve) => { waiting[i].push(resolve); s.write(len); s.write(sealed); }))));
      if (inflight.length >= WINDOW) await inflight.shift();
    }
    await Promise.all(inflight);
    objectHash.digest();
  };
  await put(); // warm-up
  const cpuOf = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
  const c0 = process.cpuUsage();
  const r0 = receivers.map((c) => cpuOf(c.pid));
  const rates = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    await put();
    rates.push(SIZE / 1e6 / ((performance.now() - t) / 1000));
  }
  const c = process.cpuUsage(c0);
  const receiverCpu = receivers.reduce((a, ch, i) => a + cpuOf(ch.pid) - r0[i], 0);
  rates.sort((a, b) => a - b);
  const writerCpu = (c.user + c.system) / 1e6 / 5;
  console.log(`store=${store} ceiling_mbps=${ceiling.toFixed(0)} put_mbps=${rates.map((r) => r.toFixed(0)).join(',')} ratio_median=${(rates[2] / ceiling).toFixed(3)} cpu_s_per_put writer=${writerCpu.toFixed(2)} receivers=${(receiverCpu / 5).toFixed(2)}`);
  sockets.forEach((s) => s.destroy());
  receivers.forEach((r) => r.kill());
  rmSync(root, { recursive: true, force: true });
}
