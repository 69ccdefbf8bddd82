import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { EngineInstallError } from '../errors.js';
import { run } from '../exec.js';
import { FABRIC_BINARIES, FABRIC_COMMIT, FABRIC_VERSION } from '../versions.js';
import { readMarker, writeMarker } from './cache.js';

export interface FabricInstall {
  /** Directory holding peer, orderer, osnadmin, configtxgen, cryptogen. */
  readonly binDir: string;
  /** Directory holding the adjusted core.yaml and orderer.yaml (FABRIC_CFG_PATH material). */
  readonly configDir: string;
  /** The chaincode-as-a-service external builder (bin/detect, bin/build, bin/release). */
  readonly ccaasBuilderDir: string;
}

export interface FabricInstallInit {
  readonly cacheDir: string;
  /**
   * A Fabric 3.1.x laid out like the official release archive (bin/ and config/), used instead
   * of `go install`. For hosts whose Go module proxy does not serve Fabric.
   */
  readonly fabricHome?: string;
  readonly log?: (line: string) => void;
}

const MODULE = 'github.com/hyperledger/fabric';

/** Installs (or finds in the cache) the Fabric binaries, the adjusted config and the ccaas builder. */
export async function installFabric(init: FabricInstallInit): Promise<FabricInstall> {
  const root = join(init.cacheDir, `fabric-${FABRIC_VERSION}-${FABRIC_COMMIT.slice(0, 12)}`);
  const configDir = join(root, 'config');
  const ccaasBuilderDir = join(root, 'ccaas-builder');
  writeCcaasBuilder(ccaasBuilderDir);

  if (init.fabricHome !== undefined) {
    const binDir = join(init.fabricHome, 'bin');
    for (const b of FABRIC_BINARIES) {
      if (!existsSync(join(binDir, b))) {
        throw new EngineInstallError(`TWINLEDGER_FABRIC_HOME=${init.fabricHome} has no bin/${b}`, { details: { fabricHome: init.fabricHome } });
      }
    }
    writeAdjustedConfig(join(init.fabricHome, 'config'), configDir, ccaasBuilderDir);
    return { binDir, configDir, ccaasBuilderDir };
  }

  const binDir = join(root, 'bin');
  if (readMarker(root)?.['commit'] === FABRIC_COMMIT) return { binDir, configDir, ccaasBuilderDir };

  mkdirSync(binDir, { recursive: true });
  const targets = FABRIC_BINARIES.map((b) => `${MODULE}/cmd/${b}@${FABRIC_COMMIT}`);
  init.log?.(`installing Hyperledger Fabric ${FABRIC_VERSION} (${FABRIC_COMMIT.slice(0, 12)}) with go install ...`);
  const env = { ...process.env, GOBIN: binDir, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
  try {
    await run('go', ['install', ...targets], { env, timeoutMs: 30 * 60_000 });
  } catch (err) {
    const output = (err as { details?: { output?: string } }).details?.output ?? String(err);
    throw new EngineInstallError(
      `could not install Hyperledger Fabric: \`GOBIN=${binDir} CGO_ENABLED=0 go install ${targets.join(' ')}\` failed:\n${output}\n` +
        'If this host\'s Go module proxy does not serve github.com/hyperledger/fabric, set TWINLEDGER_FABRIC_HOME to a Fabric ' +
        `${FABRIC_VERSION} installation laid out like the release archive (bin/ and config/).`,
      { cause: err, details: { command: `go install ${targets.join(' ')}`, output } },
    );
  }
  const gomodcache = (await run('go', ['env', 'GOMODCACHE'])).stdout.trim();
  const modRoot = join(gomodcache, 'github.com', 'hyperledger');
  const moduleDir = readdirSync(modRoot)
    .filter((d) => d.startsWith('fabric@') && d.endsWith(FABRIC_COMMIT.slice(0, 12)))
    .map((d) => join(modRoot, d))[0];
  if (moduleDir === undefined) throw new EngineInstallError(`installed Fabric module not found under ${modRoot}`);
  writeAdjustedConfig(join(moduleDir, 'sampleconfig'), configDir, ccaasBuilderDir);
  writeMarker(root, { commit: FABRIC_COMMIT, version: FABRIC_VERSION });
  return { binDir, configDir, ccaasBuilderDir };
}

/**
 * Copies core.yaml and orderer.yaml from Fabric's own sample config and adjusts what a
 * Docker-free local network needs; the files are never committed to this repo.
 */
function writeAdjustedConfig(sourceDir: string, configDir: string, ccaasBuilderDir: string): void {
  mkdirSync(configDir, { recursive: true });
  const core = parseDocument(readFileSync(join(sourceDir, 'core.yaml'), 'utf8'));
  // No Docker: with vm.endpoint unset the peer never tries to build chaincode images.
  core.deleteIn(['vm', 'endpoint']);
  core.setIn(['chaincode', 'externalBuilders'], [{ name: 'ccaas', path: ccaasBuilderDir, propagateEnvironment: ['HOME'] }]);
  core.setIn(['peer', 'gateway', 'enabled'], true);
  core.setIn(['metrics', 'provider'], 'prometheus');
  writeFileSync(join(configDir, 'core.yaml'), core.toString());

  const orderer = parseDocument(readFileSync(join(sourceDir, 'orderer.yaml'), 'utf8'));
  orderer.setIn(['General', 'BootstrapMethod'], 'none');
  orderer.setIn(['ChannelParticipation', 'Enabled'], true);
  orderer.setIn(['Metrics', 'Provider'], 'prometheus');
  writeFileSync(join(configDir, 'orderer.yaml'), orderer.toString());
  copyFileSync(join(sourceDir, 'configtx.yaml'), join(configDir, 'configtx.sample.yaml'));
}

// The ccaas external builder, as three small scripts of our own: a package whose
// metadata.json says type "ccaas" carries a connection.json; "build" and "release" hand that
// file to the peer, which then dials the chaincode server instead of launching anything.
const DETECT = `#!/bin/sh
# detect <source dir> <metadata dir>: claim packages of type ccaas
grep -q '"type"[[:space:]]*:[[:space:]]*"ccaas"' "$2/metadata.json"
`;
const BUILD = `#!/bin/sh
# build <source dir> <metadata dir> <output dir>: the "build" is the connection file
set -e
[ -f "$1/connection.json" ] || { echo "ccaas: connection.json missing from package" >&2; exit 1; }
cp "$1/connection.json" "$3/connection.json"
`;
const RELEASE = `#!/bin/sh
# release <build output dir> <release dir>: where the peer looks for the server's address
set -e
mkdir -p "$2/chaincode/server"
cp "$1/connection.json" "$2/chaincode/server/connection.json"
`;

function writeCcaasBuilder(dir: string): void {
  const bin = join(dir, 'bin');
  rmSync(bin, { recursive: true, force: true });
  mkdirSync(bin, { recursive: true });
  for (const [name, body] of [['detect', DETECT], ['build', BUILD], ['release', RELEASE]] as const) {
    writeFileSync(join(bin, name), body);
    chmodSync(join(bin, name), 0o755);
  }
}
