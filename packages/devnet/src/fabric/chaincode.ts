import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../exec.js';
import { tcpOpen, waitHealthy } from '../health.js';
import { ManagedProcess } from '../process.js';
import { peerCliEnv, type NodeContext } from './nodes.js';
import { CHAINCODE_NAME, CHANNEL, LOOPBACK, type OrgTopology } from './topology.js';

export interface ChaincodeDeployInit {
  /** The chaincode package folder (its own package.json and lockfile). */
  readonly sourceDir: string;
  /** Where the chaincode server listens; every peer dials it. */
  readonly port: number;
  readonly version: string;
  readonly sequence: number;
}

/** Installs the chaincode's own dependencies when its lockfile changed, then compiles it. */
export async function buildChaincode(sourceDir: string, log?: (line: string) => void): Promise<void> {
  const lock = join(sourceDir, 'package-lock.json');
  const installed = join(sourceDir, 'node_modules', '.package-lock.json');
  if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
    log?.('installing chaincode dependencies (npm ci) ...');
    await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: sourceDir, timeoutMs: 15 * 60_000 });
  }
  await run('npm', ['run', 'build'], { cwd: sourceDir });
}

/**
 * A chaincode-as-a-service package: metadata.json says "ccaas", code.tar.gz holds only the
 * server's address. Its id is label:sha256(package), as the peer computes it.
 */
export async function packageChaincode(workDir: string, init: ChaincodeDeployInit): Promise<{ file: string; packageId: string }> {
  const dir = join(workDir, 'chaincode-package');
  mkdirSync(join(dir, 'src'), { recursive: true });
  const label = `${CHAINCODE_NAME}_${init.version}`;
  writeFileSync(join(dir, 'src', 'connection.json'), JSON.stringify({ address: `${LOOPBACK}:${init.port}`, dial_timeout: '10s', tls_required: false }));
  writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ type: 'ccaas', label }));
  await run('tar', ['-czf', join(dir, 'code.tar.gz'), '-C', join(dir, 'src'), 'connection.json']);
  const file = join(workDir, `${label}.tar.gz`);
  await run('tar', ['-czf', file, '-C', dir, 'metadata.json', 'code.tar.gz']);
  const packageId = `${label}:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
  return { file, packageId };
}

export function chaincodeServerProcess(ctx: NodeContext, init: ChaincodeDeployInit, packageId: string): ManagedProcess {
  return new ManagedProcess({
    name: 'chaincode-server',
    command: process.execPath,
    args: [
      join(init.sourceDir, 'node_modules', 'fabric-shim', 'cli.js'),
      'server',
      '--chaincode-address', `${LOOPBACK}:${init.port}`,
      '--chaincode-id', packageId,
      '--module-path', init.sourceDir,
    ],
    cwd: init.sourceDir,
    logFile: join(ctx.logDir, 'chaincode-server.log'),
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], CORE_CHAINCODE_LOGGING_LEVEL: 'info' },
  });
}

/** The real lifecycle: install on every peer, approve for every org, commit once. */
export async function deployChaincode(ctx: NodeContext, orgs: readonly OrgTopology[], init: ChaincodeDeployInit, pkg: { file: string; packageId: string }): Promise<void> {
  const peer = join(ctx.fabric.binDir, 'peer');
  await Promise.all(orgs.map((o) => run(peer, ['lifecycle', 'chaincode', 'install', pkg.file], { env: peerCliEnv(ctx, o) })));
  const common = ['--channelID', CHANNEL, '--name', CHAINCODE_NAME, '--version', init.version, '--sequence', String(init.sequence)];
  await Promise.all(
    orgs.map((o) =>
      run(peer, [
        'lifecycle', 'chaincode', 'approveformyorg', ...common,
        '--package-id', pkg.packageId,
        '-o', o.orderer.endpoint, '--tls', '--cafile', o.orderer.tlsRootCertPath,
        '--waitForEvent',
      ], { env: peerCliEnv(ctx, o) }),
    ),
  );
  const first = orgs[0]!;
  const peers = orgs.flatMap((o) => ['--peerAddresses', o.peer.endpoint, '--tlsRootCertFiles', o.peer.tlsRootCertPath]);
  await run(peer, [
    'lifecycle', 'chaincode', 'commit', ...common,
    '-o', first.orderer.endpoint, '--tls', '--cafile', first.orderer.tlsRootCertPath,
    ...peers,
  ], { env: peerCliEnv(ctx, first) });
}

export async function startChaincodeServer(proc: ManagedProcess, port: number): Promise<void> {
  proc.start();
  await waitHealthy(proc, tcpOpen(LOOPBACK, port), 30_000);
}

/**
 * Ready once every peer answers a query through the chaincode (the contract API's metadata),
 * which proves the peer reached the chaincode server.
 */
export async function waitChaincodeReady(ctx: NodeContext, orgs: readonly OrgTopology[], proc: ManagedProcess, timeoutMs = 60_000): Promise<void> {
  const peer = join(ctx.fabric.binDir, 'peer');
  const args = ['chaincode', 'query', '-C', CHANNEL, '-n', CHAINCODE_NAME, '-c', '{"Args":["org.hyperledger.fabric:GetMetadata"]}'];
  for (const o of orgs) {
    await waitHealthy(
      proc,
      async () => {
        try {
          await run(peer, args, { env: peerCliEnv(ctx, o), timeoutMs: 15_000 });
          return true;
        } catch {
          return false;
        }
      },
      timeoutMs,
    );
  }
}
