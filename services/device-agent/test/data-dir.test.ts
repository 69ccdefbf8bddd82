import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@twinledger/observability';
import { claimDataDir } from '../src/domain/data-dir.js';
import { opcuaPki } from './support/opcua.js';

const { OPCUACertificateManager } = await import('node-opcua');
const { ensureApplicationCertificate, trustExactly } = opcuaPki;

describe("the agent's data directory", () => {
  it('clears the certificate store lock a killed agent left, so the trust list updates at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'da-dir-'));
    try {
      const pki = join(dir, 'opcua-pki');
      const cert = await ensureApplicationCertificate({ pkiDir: pki, applicationUri: 'urn:t', commonName: 't' });
      // What a process killed inside a store update leaves: the lock directory, and an owner
      // file naming a process that no longer exists.
      mkdirSync(join(pki, 'mutex.lock'));
      writeFileSync(join(dir, 'agent.owner.json'), JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), since: '2026-01-01T00:00:00Z' }));
      await claimDataDir(dir, [pki], silentLogger());
      expect(existsSync(join(pki, 'mutex.lock'))).toBe(false);
      // With the lock left in place this waits until the lock is two minutes old.
      const cm = new OPCUACertificateManager({ rootFolder: pki, automaticallyAcceptUnknownCertificate: false });
      try {
        expect(await trustExactly(cm, [cert.certificateFile])).toHaveLength(1);
      } finally {
        await cm.dispose();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start beside a live agent on the same directory, and takes over once it is gone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'da-dir-'));
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'agent.owner.json'), JSON.stringify({ pid: other.pid, host: hostname(), since: '2026-01-01T00:00:00Z' }));
      mkdirSync(join(dir, 'opcua-pki', 'mutex.lock'), { recursive: true });
      await expect(claimDataDir(dir, [join(dir, 'opcua-pki')], silentLogger())).rejects.toMatchObject({ code: 'DATA_DIR_IN_USE' });
      // The live agent's lock is left alone.
      expect(existsSync(join(dir, 'opcua-pki', 'mutex.lock'))).toBe(true);
      const exited = new Promise((r) => other.once('exit', r));
      other.kill('SIGKILL');
      await exited;
      await claimDataDir(dir, [join(dir, 'opcua-pki')], silentLogger());
      expect(existsSync(join(dir, 'opcua-pki', 'mutex.lock'))).toBe(false);
    } finally {
      other.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
