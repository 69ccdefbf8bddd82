#!/usr/bin/env node
// Container tooling for the image builds and the container smoke test (test/containers.int.test.ts),
// lazy and idempotent so a clean CI machine (Debian 12, root, no Docker engine, no reachable image
// registry) does everything inside `npm test`:
//   - ensurePodman(): apt-get installs podman + runc when missing, writes a containers.conf that
//     works in this sandbox into the project cache (used through CONTAINERS_CONF, so the machine's
//     own /etc/containers is left alone), and serves Podman's Docker-compatible API on a socket
//     under the project cache; returns DOCKER_HOST for testcontainers.
//   - ensureBaseImage(): no registry can be reached, so the image every Dockerfile's FROM names
//     (docker.io/library/node:20-bookworm-slim) is made here: debootstrap bookworm + this machine's
//     Node 20 and npm, imported with `podman import` and tagged with that name. Cached by a
//     content key (recipe version, Node binary, npm version) stored as an image label and as a
//     rootfs tarball in the cache.
//   - buildImages(): `podman build` of docker/Dockerfile (one target per service) and
//     docker/chaincode.Dockerfile, tagged twinledger/<name>:<version>. Layer caching does the rest:
//     the shared build stage runs once for all service targets.
// Plain JavaScript so it runs before any build. As a script: `node scripts/container-tools.mjs
// [podman|base|build]` does the steps up to the one named (default: build) and prints a JSON summary.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { setTimeout } from 'node:timers';
import { cacheDir } from './chart-tools.mjs';

export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
/** The name every Dockerfile's FROM uses, fully qualified the way Docker reads `node:20-bookworm-slim`. */
export const BASE_IMAGE = 'docker.io/library/node:20-bookworm-slim';
/** Bump when the base recipe below changes: the content key changes and the base is rebuilt. */
const BASE_RECIPE = 'bookworm-minbase-4';
/**
 * Site CA certificates (e.g. a TLS-intercepting egress proxy's) the machine trusts: the base gets
 * them too, as a site's own base image would, so `npm ci` in the build stage reaches the registry
 * without changing the Dockerfiles.
 */
const SITE_CA_DIR = '/usr/local/share/ca-certificates';
const DEBIAN_MIRROR = process.env.TWINLEDGER_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
/** The uid/gid of the `node` user in the official node images; the Dockerfiles run as 1000:1000. */
export const NODE_UID = 1000;

/** Images built from docker/: name -> Dockerfile and target. Service images share one Dockerfile. */
export const IMAGES = Object.freeze({
  'spec-service': { dockerfile: 'docker/Dockerfile', target: 'spec-service' },
  'acl-service': { dockerfile: 'docker/Dockerfile', target: 'acl-service' },
  'dht-gateway': { dockerfile: 'docker/Dockerfile', target: 'dht-gateway' },
  'feed-ingest': { dockerfile: 'docker/Dockerfile', target: 'feed-ingest' },
  'device-agent': { dockerfile: 'docker/Dockerfile', target: 'device-agent' },
  chaincode: { dockerfile: 'docker/chaincode.Dockerfile', target: undefined },
});

/**
 * The build context: the repository root, or TWINLEDGER_IMAGE_CONTEXT (a directory with the same
 * layout, e.g. `git archive HEAD` unpacked) to build a committed state while the working tree is
 * being edited.
 */
export function contextDir() {
  return process.env.TWINLEDGER_IMAGE_CONTEXT || ROOT;
}

/** Every image docker/ builds; the console's once services/console exists in the context. */
export function imageNames() {
  const names = Object.keys(IMAGES);
  if (existsSync(join(contextDir(), 'services', 'console', 'src', 'server.ts'))) names.push('console');
  return names;
}

function imageSpec(name) {
  if (name === 'console') return { dockerfile: 'docker/Dockerfile', target: 'console' };
  const spec = IMAGES[name];
  if (spec === undefined) throw new Error(`unknown image ${name}; known: ${imageNames().join(', ')}`);
  return spec;
}

/** The chart's appVersion: the tag its image references use (twinledger/<name>:<appVersion>). */
export function imageVersion() {
  const m = /^appVersion:\s*"?([^"\s]+)"?\s*$/m.exec(readFileSync(join(contextDir(), 'helm', 'twinledger', 'Chart.yaml'), 'utf8'));
  if (m === null) throw new Error('helm/twinledger/Chart.yaml has no appVersion');
  return m[1];
}

export function imageTag(name) {
  return `twinledger/${name}:${imageVersion()}`;
}

function containersDir() {
  return join(cacheDir(), 'containers');
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts });
  if (res.error) throw new Error(`${cmd} ${args.join(' ')}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.status}:\n${(res.stderr ?? '').slice(-8000)}${(res.stdout ?? '').slice(-4000)}`);
  return res.stdout ?? '';
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env });
  } catch {
    // A fresh machine may have no package lists yet.
    run('apt-get', ['update'], { env });
    run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env });
  }
}

// The sandbox refuses setrlimit (default ulimits make the runtime fail) and crun fails on its
// cgroup layout; runc works. cgroup_manager cgroupfs: there is no systemd to delegate to.
const CONTAINERS_CONF = `# Written by scripts/container-tools.mjs (see /work/shared/notes/containers.md)
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
# Exec sessions (the tests' container.exec) are cleaned up 15 s after they end instead of 300 s:
# their conmon monitors outlived the test run by five minutes. Not 0: the client reads the
# session's exit code after its output ends, and a session already removed answers 404.
exit_command_delay = 15
`;

/** Environment for every podman invocation: our containers.conf, not the machine's. */
export function podmanEnv() {
  return { ...process.env, CONTAINERS_CONF: join(containersDir(), 'containers.conf') };
}

export function podman(args, opts = {}) {
  return run('podman', args, { env: podmanEnv(), ...opts });
}

function ping(socketPath) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * Podman installed and configured, its Docker-compatible API served on
 * <cache>/containers/podman.sock. Reuses a service already answering there. `stop()` stops the
 * service only when this call started it.
 */
export async function ensurePodman() {
  if (!has('podman') || !has('runc')) aptInstall(['podman', 'runc']);
  const dir = containersDir();
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'containers.conf');
  if (!existsSync(conf) || readFileSync(conf, 'utf8') !== CONTAINERS_CONF) writeFileSync(conf, CONTAINERS_CONF);
  const socketPath = join(dir, 'podman.sock');
  const dockerHost = `unix://${socketPath}`;
  if (await ping(socketPath)) return { dockerHost, socketPath, started: false, stop: async () => {} };
  rmSync(socketPath, { force: true });
  const logFd = openSync(join(dir, 'podman-service.log'), 'a');
  const child = spawn('podman', ['system', 'service', '--time=0', dockerHost], { env: podmanEnv(), detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  child.unref();
  const deadline = Date.now() + 30_000;
  while (!(await ping(socketPath))) {
    if (child.exitCode !== null) throw new Error(`podman system service exited ${child.exitCode}; see ${join(dir, 'podman-service.log')}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`podman system service did not answer on ${socketPath} within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  };
  return { dockerHost, socketPath, started: true, stop };
}

function sha256File(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The Node this machine runs (must be 20.x, the version the Dockerfiles name) and its npm. */
function hostNode() {
  const node = process.execPath;
  const version = process.version;
  if (!version.startsWith('v20.')) throw new Error(`the base image carries this machine's Node, which must be 20.x (is ${version})`);
  const npmDir = [join(dirname(node), '..', 'lib', 'node_modules', 'npm'), '/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm'].find((d) => existsSync(join(d, 'package.json')));
  if (npmDir === undefined) throw new Error(`npm not found next to ${node}`);
  const npmVersion = JSON.parse(readFileSync(join(npmDir, 'package.json'), 'utf8')).version;
  return { node, version, npmDir, npmVersion };
}

function siteCaFiles() {
  if (!existsSync(SITE_CA_DIR)) return [];
  return readdirSync(SITE_CA_DIR).filter((f) => f.endsWith('.crt')).sort().map((f) => join(SITE_CA_DIR, f));
}

function baseKey(host) {
  const h = createHash('sha256').update(`${BASE_RECIPE}\n${host.version}\n${sha256File(host.node)}\n${host.npmVersion}\n`);
  for (const f of siteCaFiles()) h.update(`${f}\n${sha256File(f)}\n`);
  return h.digest('hex').slice(0, 16);
}

function imageLabel(ref, label) {
  const res = spawnSync('podman', ['image', 'inspect', '--format', `{{index .Config.Labels "${label}"}}`, ref], { encoding: 'utf8', env: podmanEnv() });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

/** Builds the root filesystem tarball: Debian bookworm (minbase) + Node 20 + npm + user node (1000). */
function buildRootfs(host, tarball) {
  if (!has('debootstrap')) aptInstall(['debootstrap']);
  const work = `${tarball}.d`;
  rmSync(work, { recursive: true, force: true });
  run('debootstrap', ['--variant=minbase', '--include=ca-certificates', 'bookworm', work, DEBIAN_MIRROR], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Slim like the official -slim images: no apt lists, docs, man pages or caches.
  for (const d of ['var/lib/apt/lists', 'var/cache/apt', 'usr/share/doc', 'usr/share/man', 'usr/share/info', 'var/log']) {
    rmSync(join(work, d), { recursive: true, force: true });
    mkdirSync(join(work, d), { recursive: true });
  }
  mkdirSync(join(work, 'usr/local/bin'), { recursive: true });
  mkdirSync(join(work, 'usr/local/lib/node_modules'), { recursive: true });
  run('cp', [host.node, join(work, 'usr/local/bin/node')]);
  run('cp', ['-a', host.npmDir, join(work, 'usr/local/lib/node_modules/npm')]);
  run('ln', ['-sf', '../lib/node_modules/npm/bin/npm-cli.js', join(work, 'usr/local/bin/npm')]);
  run('ln', ['-sf', '../lib/node_modules/npm/bin/npx-cli.js', join(work, 'usr/local/bin/npx')]);
  const cas = siteCaFiles();
  if (cas.length > 0) {
    mkdirSync(join(work, SITE_CA_DIR), { recursive: true });
    run('cp', [...cas, join(work, SITE_CA_DIR)]);
    run('chroot', [work, 'update-ca-certificates']);
  }
  // Node and npm use the system bundle (the site CAs included) rather than only their built-in list.
  mkdirSync(join(work, 'usr/local/etc'), { recursive: true });
  writeFileSync(join(work, 'usr/local/etc/npmrc'), 'cafile=/etc/ssl/certs/ca-certificates.crt\n');
  // The official image's `node` user (uid/gid 1000, home /home/node).
  run('chroot', [work, 'groupadd', '--gid', String(NODE_UID), 'node']);
  run('chroot', [work, 'useradd', '--uid', String(NODE_UID), '--gid', 'node', '--shell', '/bin/bash', '--create-home', 'node']);
  run('chroot', [work, 'node', '--version']);
  const tmp = `${tarball}.tmp`;
  run('tar', ['--numeric-owner', '-C', work, '-cf', tmp, '.']);
  renameSync(tmp, tarball);
  rmSync(work, { recursive: true, force: true });
}

/**
 * The base image, present in Podman's storage under BASE_IMAGE with the current content key.
 * Returns timings so callers can report cold versus warm costs.
 */
export function ensureBaseImage() {
  const host = hostNode();
  const key = baseKey(host);
  const started = Date.now();
  if (imageLabel(BASE_IMAGE, 'org.twinledger.base-key') === key) return { image: BASE_IMAGE, key, built: false, seconds: 0 };
  const dir = join(containersDir(), 'base');
  mkdirSync(dir, { recursive: true });
  const tarball = join(dir, `rootfs-${key}.tar`);
  let debootstrapSeconds = 0;
  // Rootfs tarballs of earlier keys are dead weight (about 250 MB each).
  for (const f of readdirSync(dir)) if (f.startsWith('rootfs-') && f !== `rootfs-${key}.tar`) rmSync(join(dir, f), { recursive: true, force: true });
  if (!existsSync(tarball)) {
    const t = Date.now();
    buildRootfs(host, tarball);
    debootstrapSeconds = (Date.now() - t) / 1000;
  }
  podman([
    'import',
    '--change', `LABEL org.twinledger.base-key=${key}`,
    '--change', `ENV NODE_VERSION=${host.version.slice(1)}`,
    '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--change', 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
    '--change', 'CMD ["node"]',
    tarball, BASE_IMAGE,
  ]);
  return { image: BASE_IMAGE, key, built: true, debootstrapSeconds, seconds: (Date.now() - started) / 1000 };
}

/** Mirrors .dockerignore: what is not in the build context does not change an image. */
const CONTEXT_SKIP = new Set(['node_modules', 'dist', 'coverage', '.git', '.devnet', 'test-artifacts', 'helm', 'k8s', 'docs', 'docker']);

const ROOT_ONLY_SKIP = new Set(['bench/out', 'test', 'scripts', '.ci']);

function contextFiles(dir, rel = '') {
  const out = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const path = rel === '' ? e.name : `${rel}/${e.name}`;
    if (CONTEXT_SKIP.has(e.name) || ROOT_ONLY_SKIP.has(path) || e.name.endsWith('.tsbuildinfo')) continue;
    if (e.isDirectory()) out.push(...contextFiles(dir, path));
    else if (e.isFile()) out.push(path);
  }
  return out;
}

/**
 * A key of everything an image is built from: base image, Dockerfile, target and the build
 * context's files. An image already labelled with its key is not rebuilt: a cache hit in
 * `podman build --layers` still re-hashes the ~400 MB node_modules layer per image (about 30 s
 * each here), the key takes a fraction of a second.
 */
function buildKey(spec, baseId) {
  const ctx = contextDir();
  const h = createHash('sha256').update(`${baseId}\n${spec.dockerfile}\n${spec.target ?? ''}\n`);
  h.update(readFileSync(join(ctx, spec.dockerfile)));
  h.update(readFileSync(join(ctx, '.dockerignore')));
  for (const f of contextFiles(ctx).sort()) h.update(`${f}\n`).update(readFileSync(join(ctx, f)));
  return h.digest('hex').slice(0, 24);
}

/**
 * Builds the named images (default: all) with Podman, skipping those whose build key is
 * unchanged. `--network host` lets the build stage's `npm ci` reach the registry through the
 * host's network; `--pull=never` because the base is local. Returns per-image seconds.
 */
export function buildImages(names = imageNames(), opts = {}) {
  const results = [];
  const baseId = podman(['image', 'inspect', '--format', '{{.Id}}', BASE_IMAGE]).trim();
  for (const name of names) {
    const spec = imageSpec(name);
    const t = Date.now();
    const key = buildKey(spec, baseId);
    if (!opts.force && imageLabel(imageTag(name), 'org.twinledger.build-key') === key) {
      results.push({ name, tag: imageTag(name), built: false, seconds: (Date.now() - t) / 1000 });
      continue;
    }
    const args = ['build', '--pull=never', '--network', 'host', '--layers', '-f', join(contextDir(), spec.dockerfile), '-t', imageTag(name)];
    if (spec.target !== undefined) args.push('--target', spec.target);
    args.push('--label', `org.opencontainers.image.version=${imageVersion()}`, '--label', `org.twinledger.build-key=${key}`);
    args.push(contextDir());
    podman(args, { stdio: ['ignore', opts.verbose ? 'inherit' : 'pipe', opts.verbose ? 'inherit' : 'pipe'] });
    results.push({ name, tag: imageTag(name), built: true, seconds: (Date.now() - t) / 1000 });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const step = process.argv[2] ?? 'build';
  const out = {};
  const svc = await ensurePodman();
  out.dockerHost = svc.dockerHost;
  if (step !== 'podman') out.base = ensureBaseImage();
  if (step === 'build') {
    const names = process.argv.slice(3).filter((a) => a !== '--force');
    out.images = buildImages(names.length > 0 ? names : imageNames(), { verbose: true, force: process.argv.includes('--force') });
  }
  // The script leaves a service it started running for later commands (it is reused, not restarted).
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}
