#!/usr/bin/env node
// Installs the chart tooling into the project cache (~/.cache/twinledger or $TWINLEDGER_CACHE),
// pinned and idempotent, so a fresh machine (CI included) gets exactly what the chart checks use:
//   - helm, built from source by `go install` (the Go module proxy is reachable; release
//     tarballs are not);
//   - kubernetes-validate from PyPI in a venv: it ships the Kubernetes JSON schemas inside the
//     wheel, so validation works offline (kubeconform would download schemas at run time).
// Plain JavaScript so it runs before any build. Usage as a script prints the tool paths as JSON;
// as a module, `ensureChartTools()` returns them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Pinned versions. helm v3.19.0 builds with Go 1.24+, including Go 1.26 here. A helm built by
 * `go install` lacks the release ldflags and believes the cluster runs Kubernetes v1.20.0: always
 * pass `--kube-version KUBE_VERSION` to lint and template.
 */
export const HELM_VERSION = 'v3.19.0';
export const KUBERNETES_VALIDATE_VERSION = '1.37.0';
/** The Kubernetes version the chart is rendered and validated for: the newest kubernetes-validate 1.37.0 has schemas for. */
export const KUBE_VERSION = '1.37.0';

export function cacheDir() {
  return process.env.TWINLEDGER_CACHE || join(homedir(), '.cache', 'twinledger');
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (res.error) throw new Error(`${cmd} ${args.join(' ')}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.status}:\n${res.stderr}${res.stdout}`);
  return res.stdout;
}

/** A stamp file next to each tool records the pinned version it was installed at; a version bump reinstalls. */
function stamped(stampPath, version) {
  return existsSync(stampPath) && readFileSync(stampPath, 'utf8').trim() === version;
}

function ensureHelm(root) {
  const bin = join(root, 'tools', 'bin');
  const helm = join(bin, 'helm');
  const stamp = join(bin, '.helm-version');
  if (existsSync(helm) && stamped(stamp, HELM_VERSION)) return helm;
  mkdirSync(bin, { recursive: true });
  // Static binary (no cgo); -modcacherw keeps the Go module cache removable without chmod.
  run('go', ['install', `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], {
    env: { ...process.env, GOBIN: bin, GOFLAGS: '-modcacherw', CGO_ENABLED: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  writeFileSync(stamp, `${HELM_VERSION}\n`);
  return helm;
}

function ensureKubernetesValidate(root) {
  const venv = join(root, 'tools', 'kubernetes-validate');
  const exe = join(venv, 'bin', 'kubernetes-validate');
  const stamp = join(venv, '.version');
  if (existsSync(exe) && stamped(stamp, KUBERNETES_VALIDATE_VERSION)) return exe;
  // The stamp is written last: a venv without it (an interrupted install) is rebuilt whole.
  rmSync(venv, { recursive: true, force: true });
  mkdirSync(join(root, 'tools'), { recursive: true });
  const python = process.env.PYTHON || 'python3';
  run(python, ['-m', 'venv', venv]);
  run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}`]);
  writeFileSync(stamp, `${KUBERNETES_VALIDATE_VERSION}\n`);
  return exe;
}

/** Ensures helm and kubernetes-validate are installed at their pinned versions; returns their paths. */
export function ensureChartTools() {
  const root = cacheDir();
  return { helm: ensureHelm(root), kubernetesValidate: ensureKubernetesValidate(root), kubeVersion: KUBE_VERSION };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(ensureChartTools(), null, 2)}\n`);
}
