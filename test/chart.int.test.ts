// The Helm chart (helm/twinledger) and its rendered sample (k8s/): lint, offline validation of
// every rendered object against the Kubernetes API schemas, k8s/rendered.yaml kept in sync, the
// hardening and availability rules every workload must follow, the env contract with each
// service's exported env definition (config.ts), and the Grafana dashboard. Real tools, pinned and installed into the
// project cache by scripts/chart-tools.mjs (helm from `go install`, kubernetes-validate from PyPI).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { ensureChartTools, type ChartTools } from '../scripts/chart-tools.mjs';
import { CHART_DIR, RENDERED, ROOT, SAMPLE_NAMESPACE, SAMPLE_RELEASE, SAMPLE_VALUES, helmTemplate, renderSample } from '../scripts/chart-render.mjs';
import type { EnvSpec } from '@twinledger/config';
import { parsePartyRegistry } from '@twinledger/party-registry';
import { aclServiceEnv, adminCliEnv } from '../services/acl-service/src/config.js';
import { consoleConfig, consoleEnv } from '../services/console/src/config.js';
import { deviceAgentConfig, deviceAgentEnv } from '../services/device-agent/src/config.js';
import { dhtGatewayEnv } from '../services/dht-gateway/src/config.js';
import { checkFeedIngestEnv, feedIngestEnv } from '../services/feed-ingest/src/config.js';
import { specServiceEnv } from '../services/spec-service/src/config.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered Kubernetes objects are plain JSON trees */
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: any; stringData?: any };

const SERVICES = ['spec-service', 'acl-service', 'dht-gateway', 'feed-ingest', 'device-agent', 'console'] as const;
/** Device agents are one Deployment per device (values deviceAgent.agents): the sample has one, the defaults none. */
const AGENTS: Record<string, number> = { 'sample organization': 1, 'default values': 0 };
const STATEFUL = new Set(['dht-gateway', 'feed-ingest']);

let tools: ChartTools;
let work: string;
let sample: K8sObject[];
let defaults: K8sObject[];

function run(cmd: string, args: readonly string[]): { status: number; out: string } {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (res.error) throw res.error;
  return { status: res.status ?? -1, out: `${res.stdout}${res.stderr}` };
}

/** Strict YAML parse: duplicate keys and syntax errors fail (the API server refuses them too). */
function parseManifests(text: string): K8sObject[] {
  const docs = parseAllDocuments(text);
  const objects: K8sObject[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join('\n'));
    const o = d.toJS() as K8sObject | null;
    if (o !== null) objects.push(o);
  }
  return objects;
}

function ofKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

function workloads(objects: readonly K8sObject[]): K8sObject[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Validates manifests offline with kubernetes-validate; returns the tool's report lines. */
function validate(text: string): { status: number; lines: string[] } {
  const file = join(work, `validate-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  const res = run(tools.kubernetesValidate, ['--kubernetes-version', tools.kubeVersion, '--strict', file]);
  return { status: res.status, lines: res.out.split('\n').filter((l) => l.trim() !== '') };
}

/**
 * The env definitions services export from their config.ts (ADR-20): the names the chart must
 * set are read from the very object the service loads. `rules` is the service's check of what
 * the parsers alone cannot see; a variable is required when the check refuses a start without it.
 */
const SERVICE_ENV: Record<string, { readonly spec: EnvSpec; readonly rules?: (env: never) => unknown }> = {
  'spec-service': { spec: specServiceEnv },
  'acl-service': { spec: aclServiceEnv },
  'dht-gateway': { spec: dhtGatewayEnv },
  'device-agent': { spec: deviceAgentEnv, rules: deviceAgentConfig },
  // The ledger decides feed access: PEER_ENDPOINT/PEER_TLS_ROOT_CERT, optional in the shared
  // partyRegistryEnv, are required by feed-ingest's check (issue #17).
  'feed-ingest': { spec: feedIngestEnv, rules: checkFeedIngestEnv },
  console: { spec: consoleEnv, rules: consoleConfig },
};

/**
 * Which variables of an exported env definition the chart must set: those whose parser refuses
 * them unset, and (with `rules`, e.g. device-agent: a secured link without the simulator needs
 * the plant's certificate(s), a user and DEVICE_ENDPOINT, issue #19) those the service's check
 * names (ConfigError details.problems) when they are unset: added one refusal at a time to an
 * environment of only the required variables, until the check passes.
 */
function envOfSpec(spec: EnvSpec, rules?: (env: never) => unknown): { all: Set<string>; required: Set<string> } {
  const all = new Set(Object.keys(spec));
  const required = new Set<string>();
  const env: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(spec)) {
    try {
      env[name] = v.parse(undefined, name);
    } catch {
      required.add(name);
      env[name] = 'x';
    }
  }
  for (let round = 0; rules && round < all.size; round++) {
    let problems: unknown;
    try {
      rules(env as never);
      break;
    } catch (err) {
      problems = (err as { details?: { problems?: unknown } }).details?.problems;
    }
    if (!Array.isArray(problems) || problems.length === 0) throw new Error('a start-up check refused without naming the variable (details.problems)');
    for (const name of problems as string[]) {
      required.add(name);
      env[name] = Array.isArray(env[name]) ? ['x'] : 'x';
    }
  }
  return { all, required };
}

/** The env variables a service reads, and which of them it cannot start without. */
function serviceEnv(service: string): { all: Set<string>; required: Set<string> } | undefined {
  const exported = SERVICE_ENV[service];
  return exported ? envOfSpec(exported.spec, exported.rules) : undefined;
}

// A cold machine builds helm from source (about 2 minutes on 2 cores) and fills a venv: allow more than the usual hook timeout.
beforeAll(() => {
  tools = ensureChartTools();
  work = mkdtempSync(join(tmpdir(), 'twinledger-chart-'));
  sample = parseManifests(helmTemplate(tools.helm, tools.kubeVersion, SAMPLE_VALUES));
  defaults = parseManifests(helmTemplate(tools.helm, tools.kubeVersion, undefined, 'tl', 'default'));
}, 900_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('helm lint --strict', () => {
  it('passes with the default values', () => {
    const res = run(tools.helm, ['lint', '--strict', '--kube-version', tools.kubeVersion, CHART_DIR]);
    expect(res.out).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(res.status).toBe(0);
  });

  it('passes with the sample organization (k8s/sample-values.yaml)', () => {
    const res = run(tools.helm, ['lint', '--strict', '--kube-version', tools.kubeVersion, CHART_DIR, '--values', SAMPLE_VALUES]);
    expect(res.out).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(res.status).toBe(0);
  });

  it('fails through values.schema.json on missing or unsafe values', () => {
    const res = run(tools.helm, [
      'lint', '--strict', '--kube-version', tools.kubeVersion, CHART_DIR,
      '--set', 'org.mspId=',
      '--set', 'containerSecurityContext.readOnlyRootFilesystem=false',
      '--set', 'specService.replicas=2',
      '--set', 'networkPolicy.fabricPeer.to=null',
      '--set', 'dht.parties[0].mspId=Org9MSP',
      '--set', 'dht.parties[0].peerIds[0]=not-a-peer-id',
      '--set', 'dht.parties[0].encryptionPublicKey=abc',
    ]);
    expect(res.status).not.toBe(0);
    expect(res.out).toContain('/org/mspId');
    expect(res.out).toContain('/containerSecurityContext/readOnlyRootFilesystem');
    expect(res.out).toContain('/specService/replicas');
    expect(res.out).toContain("at '/networkPolicy/fabricPeer': missing property 'to'");
    expect(res.out).toContain('/dht/parties/0/peerIds/0');
    expect(res.out).toContain('/dht/parties/0/encryptionPublicKey');
  });

  it('refuses an Ingress without any host', () => {
    const res = run(tools.helm, ['template', 'x', CHART_DIR, '--kube-version', tools.kubeVersion, '--set', 'ingress.enabled=true']);
    expect(res.status).not.toBe(0);
    expect(res.out).toContain('ingress.enabled needs at least one of');
  });
});

describe(`rendered objects validate against the Kubernetes API schemas (offline)`, () => {
  it.each([
    ['sample organization', () => helmTemplate(tools.helm, tools.kubeVersion, SAMPLE_VALUES)],
    ['default values', () => helmTemplate(tools.helm, tools.kubeVersion, undefined, 'tl', 'default')],
  ])('%s', (_label, render) => {
    const text = render();
    const objects = parseManifests(text);
    const { status, lines } = validate(text);
    const errors = lines.filter((l) => l.startsWith('ERROR'));
    expect(errors).toEqual([]);
    expect(status).toBe(0);
    // Only the Prometheus Operator's CRD has no built-in schema; it is checked by hand below.
    const warnings = lines.filter((l) => l.startsWith('WARN'));
    expect(warnings.filter((w) => !/Couldn't find schema for kind ServiceMonitor with api version monitoring\.coreos\.com\/v1/.test(w))).toEqual([]);
    const passed = lines.filter((l) => l.startsWith('INFO') && l.includes(' passed for resource '));
    expect(passed).toHaveLength(objects.filter((o) => o.kind !== 'ServiceMonitor').length);
  });

  it('kubernetes-validate really rejects a broken object (the check can fail)', () => {
    const broken = readFileSync(RENDERED, 'utf8').replace('readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: "yes"');
    const { status, lines } = validate(broken);
    expect(status).not.toBe(0);
    expect(lines.some((l) => l.startsWith('ERROR') && l.includes('readOnlyRootFilesystem'))).toBe(true);
  });
});

describe('k8s/rendered.yaml', () => {
  it('is in sync with the chart and k8s/sample-values.yaml (run `node scripts/chart-render.mjs`)', () => {
    const expected = renderSample(tools);
    const actual = readFileSync(RENDERED, 'utf8');
    expect(actual === expected).toBe(true);
  });
});

describe.each([
  ['sample organization', () => sample, SAMPLE_RELEASE],
  ['default values', () => defaults, 'tl'],
])('rendered objects (%s)', (label, objectsOf, release) => {
  it('contain every service as a workload; dht-gateway and feed-ingest as StatefulSets with a data claim', () => {
    const objects = objectsOf();
    const agents = AGENTS[label] ?? 0;
    expect(workloads(objects)).toHaveLength(SERVICES.length - 1 + agents);
    for (const s of SERVICES) {
      if (s === 'device-agent' && agents === 0) continue;
      const w = workloads(objects).find((o) => o.metadata.labels?.['app.kubernetes.io/name'] === s);
      expect(w?.kind).toBe(STATEFUL.has(s) ? 'StatefulSet' : 'Deployment');
      if (STATEFUL.has(s)) {
        expect(w?.spec.volumeClaimTemplates.map((t: any) => t.metadata.name)).toEqual(['data']);
        expect(w?.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
      }
    }
  });

  it('run every container non-root, read-only, unprivileged, no capabilities, seccomp RuntimeDefault, with a writable /tmp', () => {
    const all = workloads(objectsOf());
    expect(all.length).toBeGreaterThanOrEqual(4);
    for (const w of all) {
      const pod = w.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.automountServiceAccountToken).toBe(false);
      const containers = [...pod.containers, ...(pod.initContainers ?? [])];
      for (const c of containers) {
        expect(c.securityContext).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(c.securityContext.privileged ?? false).toBe(false);
        expect(c.securityContext.capabilities.add ?? []).toEqual([]);
        const tmp = c.volumeMounts.find((m: any) => m.mountPath === '/tmp');
        expect(pod.volumes.find((v: any) => v.name === tmp?.name)?.emptyDir).toBeDefined();
        expect(c.image).toMatch(/^twinledger\/[a-z-]+:0\.1\.0$/);
        expect(c.image).toBe(`twinledger/${w.metadata.labels?.['app.kubernetes.io/name']}:0.1.0`);
      }
    }
  });

  it('give every workload probes on /healthz and /readyz and bounded resources', () => {
    for (const w of workloads(objectsOf())) {
      for (const c of w.spec.template.spec.containers) {
        expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
        expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
        expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
        for (const r of ['cpu', 'memory']) {
          expect(c.resources.requests[r]).toBeDefined();
          expect(c.resources.limits[r]).toBeDefined();
        }
        // Numbers reach the services as plain integers (Helm would print large floats as 1e+09).
        for (const e of c.env) if (typeof e.value === 'string') expect(e.value).not.toMatch(/^[0-9.]+e\+[0-9]+$/);
      }
    }
  });

  it('have one PodDisruptionBudget per workload selecting exactly its pods', () => {
    const objects = objectsOf();
    const pdbs = ofKind(objects, 'PodDisruptionBudget');
    expect(pdbs).toHaveLength(workloads(objects).length);
    for (const w of workloads(objects)) {
      const podLabels = w.spec.template.metadata.labels as Record<string, string>;
      const covering = pdbs.filter((p) => matches(p.spec.selector.matchLabels, podLabels));
      expect(covering).toHaveLength(1);
      expect(covering[0]?.spec.maxUnavailable).toBeGreaterThanOrEqual(1);
    }
  });

  it('deny all traffic by default and allow only named peers (never an empty from/to)', () => {
    const objects = objectsOf();
    const policies = ofKind(objects, 'NetworkPolicy');
    const deny = policies.find((p) => p.metadata.name.endsWith('-default-deny'));
    expect(deny?.spec).toEqual({ podSelector: { matchLabels: { 'app.kubernetes.io/instance': release } }, policyTypes: ['Ingress', 'Egress'] });
    for (const w of workloads(objects)) {
      const podLabels = w.spec.template.metadata.labels as Record<string, string>;
      expect(matches(deny?.spec.podSelector.matchLabels, podLabels)).toBe(true);
      // Each workload also has its own policy, covering both directions.
      const own = policies.filter((p) => p !== deny && p.spec.podSelector.matchLabels['app.kubernetes.io/name'] !== undefined && matches(p.spec.podSelector.matchLabels, podLabels));
      expect(own).toHaveLength(1);
      expect(own[0]?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    }
    for (const p of policies) {
      for (const rule of p.spec.ingress ?? []) {
        expect(rule.from?.length).toBeGreaterThan(0);
        expect(rule.ports?.length).toBeGreaterThan(0);
      }
      for (const rule of p.spec.egress ?? []) {
        expect(rule.to?.length).toBeGreaterThan(0);
        expect(rule.ports?.length).toBeGreaterThan(0);
      }
    }
    // dht-gateway's REST API is internal to the organization: reachable from spec-service and
    // acl-service (and Prometheus) only, never from the console or any user-facing pod (issue #17).
    const gw = policies.find((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/name'] === 'dht-gateway');
    const httpFrom = gw?.spec.ingress.filter((r: any) => r.ports.some((x: any) => x.port === 7400)).flatMap((r: any) => r.from);
    expect(httpFrom.map((f: any) => f.podSelector?.matchLabels?.['app.kubernetes.io/name'] ?? f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'])).toEqual(
      ['spec-service', 'acl-service', 'monitoring'],
    );
  });

  it('contain no Secret: key material is only referenced', () => {
    const objects = objectsOf();
    expect(ofKind(objects, 'Secret')).toEqual([]);
    for (const cm of ofKind(objects, 'ConfigMap')) expect(JSON.stringify(cm.data)).not.toMatch(/PRIVATE KEY|\/key\/swarm\/psk/);
  });

  it('give each service the env its config.ts defines: nothing unknown, nothing required missing', () => {
    for (const w of workloads(objectsOf())) {
      const service = w.metadata.labels?.['app.kubernetes.io/name'] as string;
      const env = serviceEnv(service);
      if (env === undefined) throw new Error(`${service}: no exported env definition in SERVICE_ENV`);
      const set = new Set<string>(w.spec.template.spec.containers[0].env.map((e: any) => e.name));
      expect([...set].filter((n) => !env.all.has(n))).toEqual([]);
      expect([...env.required].filter((n) => !set.has(n))).toEqual([]);
    }
  });

  it('mount every file the env points at', () => {
    for (const w of workloads(objectsOf())) {
      const c = w.spec.template.spec.containers[0];
      const mounts: string[] = c.volumeMounts.map((m: any) => m.mountPath);
      for (const e of c.env) {
        if (typeof e.value !== 'string' || !/^\/(etc|var)\//.test(e.value)) continue;
        expect(mounts.some((m) => e.value === m || e.value.startsWith(`${m}/`))).toBe(true);
      }
    }
  });
});

describe('sample organization specifics', () => {
  it('DHT services read the party registry from the ledger: peer, TLS CA and their identity mounted, egress to the peer', () => {
    expect(ofKind(sample, 'ConfigMap').find((o) => o.metadata.name === `${SAMPLE_RELEASE}-parties`)).toBeUndefined();
    for (const s of ['dht-gateway', 'feed-ingest']) {
      const w = workloads(sample).find((o) => o.metadata.labels?.['app.kubernetes.io/name'] === s);
      const pod = w?.spec.template.spec;
      const env = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value]));
      expect(env).toMatchObject({
        PEER_ENDPOINT: 'peer0.org2.plant.example:7051',
        PEER_HOST_ALIAS: 'peer0.org2.plant.example',
        PEER_TLS_ROOT_CERT: '/etc/twinledger/fabric/peer-tls/ca.crt',
        FABRIC_CERT_FILE: '/etc/twinledger/fabric/registry-identity/cert.pem',
        FABRIC_KEY_FILE: '/etc/twinledger/fabric/registry-identity/key.pem',
        CHANNEL: 'twins',
        CHAINCODE: 'twinledger',
        PARTY_REFRESH_MS: '60000',
      });
      expect(env['PARTY_REGISTRY_FILE']).toBeUndefined();
      const identity = pod.volumes.find((v: any) => v.name === 'registry-identity');
      expect(identity.secret).toMatchObject({ secretName: 'org2-fabric-user1', items: [{ key: 'cert.pem', path: 'cert.pem' }, { key: 'key.pem', path: 'key.pem' }] });
      expect(pod.volumes.find((v: any) => v.name === 'peer-tls').secret.secretName).toBe('org2-peer-tls-ca');
      const policy = ofKind(sample, 'NetworkPolicy').find((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/name'] === s);
      expect(policy?.spec.egress.some((r: any) => r.ports.some((p: any) => p.port === 7051))).toBe(true);
    }
  });

  it('static party registry (dht.partyRegistry.source=static): the ConfigMap holds both shapes, each service parses its own', () => {
    const values = join(work, 'static-parties.yaml');
    writeFileSync(values, [
      'dht:',
      '  partyRegistry: { source: static, identity: User1, refreshMs: 0 }',
      '  parties:',
      '    - { mspId: Org1MSP, peerIds: [12D3KooWKRnxSfb6wQPa9sY5h9BxZERnCFPFELp19ddF9EKbaQBi], encryptionPublicKey: a9fe86ead2b822ad9fe3249916b4f1c167a2ffda1e5e00781f0aa93fd34a6619 }',
      '    - { mspId: Org2MSP, peerIds: [12D3KooWLseF124WB4zjAbZvm2ttm6picSc32N3jVnoHZdwT4iaC, 12D3KooWBnwL98Y9yUkBcv3r5bKJzUH8ibWs6AurfDX4VcuHH8zQ], encryptionPublicKey: 36089de530d812ba2749b5994fd013399411841bee0dc8e2933a7c938f1d1e04 }',
      '    - { mspId: Org3MSP, peerIds: [12D3KooWMrGArsAgLfDbqqAPTQsfWDTHUK7QNKtD77F73nSSAAd7], encryptionPublicKey: ee604d43b9f90b11a07edaf00d6d6295a70d8cdc0529d3619afb0d721a418467 }',
      '',
    ].join('\n'));
    const res = run(tools.helm, ['template', SAMPLE_RELEASE, CHART_DIR, '--namespace', SAMPLE_NAMESPACE, '--kube-version', tools.kubeVersion, '--values', SAMPLE_VALUES, '--values', values]);
    expect(res.status).toBe(0);
    expect(validate(res.out).status).toBe(0);
    const objects = parseManifests(res.out);
    const cm = ofKind(objects, 'ConfigMap').find((o) => o.metadata.name === `${SAMPLE_RELEASE}-parties`);
    const registry = JSON.parse(cm?.data['registry.json']);
    const parties = parsePartyRegistry(registry);
    expect(parties.map((p) => p.mspId)).toEqual(['Org1MSP', 'Org2MSP', 'Org3MSP']);
    expect(parties[1]?.encryptionPublicKey).toHaveLength(32);
    // feed-ingest reads the same list as a bare array, which the same parser accepts.
    expect(JSON.parse(cm?.data['parties.json'])).toEqual(registry.parties);
    expect(parsePartyRegistry(JSON.parse(cm?.data['parties.json']))).toEqual(parties);
    for (const [s, file] of [['dht-gateway', 'registry.json'], ['feed-ingest', 'parties.json']] as const) {
      const w = workloads(objects).find((o) => o.metadata.labels?.['app.kubernetes.io/name'] === s);
      const env = Object.fromEntries(w?.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
      expect(env['PARTY_REGISTRY_FILE']).toBe(`/etc/twinledger/parties/${file}`);
      expect(env['FABRIC_CERT_FILE']).toBeUndefined();
      // feed-ingest keeps the peer: the ledger decides feed access whatever the party registry's source.
      if (s === 'dht-gateway') expect(env['PEER_ENDPOINT']).toBeUndefined();
      else expect(env['PEER_ENDPOINT']).toBe('peer0.org2.plant.example:7051');
      expect(w?.spec.template.spec.volumes.find((v: any) => v.name === 'parties').configMap.name).toBe(`${SAMPLE_RELEASE}-parties`);
    }
  });

  it('refuses a static registry without parties and a ledger registry with an unknown identity', () => {
    const base = ['template', 'x', CHART_DIR, '--kube-version', tools.kubeVersion];
    const empty = run(tools.helm, [...base, '--set', 'dht.partyRegistry.source=static']);
    expect(empty.status).not.toBe(0);
    expect(empty.out).toContain('dht.partyRegistry.source=static needs dht.parties');
    const unknown = run(tools.helm, [...base, '--set', 'dht.partyRegistry.identity=Nobody']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.out).toContain('dht.partyRegistry.identity "Nobody" must name one of fabric.identities');
    const bad = run(tools.helm, [...base, '--set', 'dht.partyRegistry.source=file']);
    expect(bad.status).not.toBe(0);
    expect(bad.out).toContain('/dht/partyRegistry/source');
  });

  it('ServiceMonitor scrapes /metrics on the http port of every service Service', () => {
    const [sm] = ofKind(sample, 'ServiceMonitor');
    expect(sm?.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm?.spec.namespaceSelector).toEqual({ matchNames: [SAMPLE_NAMESPACE] });
    expect(sm?.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    const scraped = ofKind(sample, 'Service').filter((s) => matches(sm?.spec.selector.matchLabels, s.metadata.labels));
    expect(scraped.map((s) => s.metadata.labels?.['app.kubernetes.io/name']).sort()).toEqual([...SERVICES].sort());
    expect(scraped.find((s) => s.metadata.name === `${SAMPLE_RELEASE}-device-agent-filler`)).toBeDefined();
    for (const s of scraped) expect(s.spec.ports.map((p: any) => p.name)).toContain('http');
  });

  it('device agent gets its own Fabric identity only, and its feed-ingest token from a Secret', () => {
    const agent = workloads(sample).find((w) => w.metadata.name === `${SAMPLE_RELEASE}-device-agent-filler`);
    const pod = agent?.spec.template.spec;
    const secrets = pod.volumes.filter((v: any) => v.secret).map((v: any) => v.secret.secretName);
    expect(secrets).toEqual([
      'org2-fabric-device-agent1',
      'org2-device-agent-filler-token',
      'org2-peer-tls-ca',
      'org2-jwks',
      'org2-device-agent-filler-opcua-cert',
      'org2-bottling-plant-opcua-cert',
      'org2-device-agent-filler-opcua-user',
    ]);
    const env = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env['TWIN_ID']).toBe('bottling-plant-1');
    // A mounted file the agent re-reads: tokens are short-lived (AUTH_MAX_TOKEN_LIFETIME_S), the Secret rotates.
    expect(env['FEED_INGEST_TOKEN']).toBeUndefined();
    expect(env['FEED_INGEST_TOKEN_FILE']).toBe('/etc/twinledger/feed-ingest-token/token');
    expect(pod.volumes.find((v: any) => v.name === 'feed-ingest-token').secret).toMatchObject({ secretName: 'org2-device-agent-filler-token', items: [{ key: 'token', path: 'token' }] });
    expect(env['FEED_INGEST_URL']).toBe(`http://${SAMPLE_RELEASE}-feed-ingest:8084`);
  });

  it('Ingress exposes only spec-service, acl-service, feed-ingest and the console', () => {
    const [ing] = ofKind(sample, 'Ingress');
    const backends = ing?.spec.rules.map((r: any) => r.http.paths[0].backend.service.name);
    expect(backends).toEqual([`${SAMPLE_RELEASE}-spec-service`, `${SAMPLE_RELEASE}-acl-service`, `${SAMPLE_RELEASE}-feed-ingest`, `${SAMPLE_RELEASE}-console`]);
    const consoleRule = ing?.spec.rules.find((r: any) => r.host === 'console.org2.plant.example');
    expect(consoleRule.http.paths).toEqual([{ path: '/', pathType: 'Prefix', backend: { service: { name: `${SAMPLE_RELEASE}-console`, port: { name: 'http' } } } }]);
  });

  it('console: probes on its own port, proxies to the org services by in-cluster URL, egress only to them', () => {
    const w = workloads(sample).find((o) => o.metadata.name === `${SAMPLE_RELEASE}-console`);
    expect(w?.kind).toBe('Deployment');
    const c = w?.spec.template.spec.containers[0];
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    expect(env).toMatchObject({
      HOST: '0.0.0.0',
      PORT: '8080',
      ORG_NAME: 'Org2MSP',
      SPEC_SERVICE_URL: `http://${SAMPLE_RELEASE}-spec-service:7300`,
      ACL_SERVICE_URL: `http://${SAMPLE_RELEASE}-acl-service:7301`,
      FEED_INGEST_URL: `http://${SAMPLE_RELEASE}-feed-ingest:8084`,
      DEVICE_AGENT_URL: `http://${SAMPLE_RELEASE}-device-agent-filler:8085`,
      MSP_ID: 'Org2MSP',
    });
    // The dht-gateway is internal to the organization: the console has no route to it.
    expect(env['DHT_GATEWAY_URL']).toBeUndefined();
    expect(Object.keys(env).filter((k) => k.startsWith('DEV_SIGNIN'))).toEqual([]);
    const policies = ofKind(sample, 'NetworkPolicy');
    const own = policies.find((p) => p.metadata.name === `${SAMPLE_RELEASE}-console`);
    const egressTo = own?.spec.egress.map((r: any) => r.to[0].podSelector.matchLabels['app.kubernetes.io/name']);
    expect(egressTo).toEqual(['spec-service', 'acl-service', 'feed-ingest', 'device-agent']);
    expect(own?.spec.ingress.flatMap((r: any) => r.from.map((f: any) => f.namespaceSelector.matchLabels['kubernetes.io/metadata.name']))).toEqual(['ingress-nginx', 'monitoring']);
    // Each service it proxies to admits it on its HTTP port.
    for (const [s, port] of [['spec-service', 7300], ['acl-service', 7301], ['feed-ingest', 8084], ['device-agent', 8085]] as const) {
      const p = policies.find((x) => x.spec.podSelector.matchLabels['app.kubernetes.io/name'] === s && x.metadata.name !== `${SAMPLE_RELEASE}-console`);
      const fromConsole = p?.spec.ingress.find((r: any) => r.from.some((f: any) => f.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'console'));
      expect(fromConsole?.ports).toEqual([{ protocol: 'TCP', port }]);
    }
  });

  it('dht-gateway: HTTP from the org\'s own services only (spec-service, acl-service; Prometheus), never from the console or an Ingress; service credentials only', () => {
    const policy = ofKind(sample, 'NetworkPolicy').find((p) => p.metadata.name === `${SAMPLE_RELEASE}-dht-gateway`);
    const http = policy?.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === 7400));
    const pods = http.flatMap((r: any) => r.from.filter((f: any) => f.podSelector).map((f: any) => f.podSelector.matchLabels['app.kubernetes.io/name']));
    expect(pods.sort()).toEqual(['acl-service', 'spec-service']);
    const namespaces = http.flatMap((r: any) => r.from.filter((f: any) => f.namespaceSelector).map((f: any) => f.namespaceSelector.matchLabels['kubernetes.io/metadata.name']));
    expect(namespaces).toEqual(['monitoring']);
    expect(http.flatMap((r: any) => r.from.filter((f: any) => f.ipBlock))).toEqual([]);
    const [ing] = ofKind(sample, 'Ingress');
    expect(JSON.stringify(ing)).not.toContain('dht-gateway');
    const env = (name: string): Record<string, string> => Object.fromEntries(workloads(sample).find((w) => w.metadata.labels?.['app.kubernetes.io/name'] === name)!.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    expect(env('dht-gateway')).toMatchObject({ DHT_AUTH_AUDIENCE: 'twinledger-dht', AUTH_MAX_TOKEN_LIFETIME_S: '3600' });
    expect(env('dht-gateway')['AUTH_AUDIENCE']).toBeUndefined();
    const spec = workloads(sample).find((w) => w.metadata.labels?.['app.kubernetes.io/name'] === 'spec-service')!.spec.template.spec;
    expect(env('spec-service')['DHT_TOKEN_FILE']).toBe('/etc/twinledger/dht-token/token');
    expect(spec.volumes.find((v: any) => v.name === 'dht-token').secret).toMatchObject({ secretName: 'org2-spec-service-dht-token', items: [{ key: 'token', path: 'token' }] });
    // The gateway's audience may not be the users' one.
    const same = run(tools.helm, ['template', 'x', CHART_DIR, '--kube-version', tools.kubeVersion, '--set', 'dhtGateway.authAudience=twinledger']);
    expect(same.status).not.toBe(0);
    expect(same.out).toContain('dhtGateway.authAudience must differ from auth.audience');
  });

  it('reaches every DHT node from other organizations through its own Service', () => {
    const ext = ofKind(sample, 'Service').filter((s) => s.metadata.name.endsWith('-external'));
    expect(ext.map((s) => s.spec.selector['statefulset.kubernetes.io/pod-name'])).toEqual([`${SAMPLE_RELEASE}-dht-gateway-0`, `${SAMPLE_RELEASE}-feed-ingest-0`]);
    for (const s of ext) {
      expect(s.spec.externalTrafficPolicy).toBe('Local');
      expect(s.spec.ports).toEqual([
        { name: 'p2p', port: 4001, targetPort: 'p2p', protocol: 'TCP' },
        { name: 'dht-data', port: 4002, targetPort: 'dht-data', protocol: 'TCP' },
      ]);
    }
  });
});

/** Every Secret name an object's pod template (or the object itself) mounts, projected sources included. */
function mountedSecrets(o: K8sObject): string[] {
  const pod = o.kind === 'Job' || o.kind === 'Deployment' || o.kind === 'StatefulSet' ? o.spec.template.spec : undefined;
  if (pod === undefined) return [];
  return (pod.volumes ?? []).flatMap((v: any) => [
    ...(v.secret ? [v.secret.secretName] : []),
    ...(v.projected?.sources ?? []).filter((x: any) => x.secret).map((x: any) => x.secret.name),
  ]);
}

function envOf(container: any): Record<string, string> {
  return Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
}

describe('the Admin identity (issue #17): no service pod holds it; only the explicitly enabled registration Job', () => {
  const ADMIN_SECRET = 'org2-fabric-admin';
  let withJob: K8sObject[];
  let withJobText: string;

  beforeAll(() => {
    const res = run(tools.helm, ['template', SAMPLE_RELEASE, CHART_DIR, '--namespace', SAMPLE_NAMESPACE, '--kube-version', tools.kubeVersion, '--values', SAMPLE_VALUES, '--set', 'adminJobs.registerParty.enabled=true']);
    if (res.status !== 0) throw new Error(res.out);
    withJobText = res.out;
    withJob = parseManifests(res.out);
  });

  it.each([
    ['sample organization', () => sample],
    ['default values', () => defaults],
  ])('no workload mounts an Admin identity (%s)', (_label, objectsOf) => {
    for (const w of workloads(objectsOf())) {
      expect(mountedSecrets(w)).not.toContain(ADMIN_SECRET);
      expect(mountedSecrets(w).filter((n) => /admin/i.test(n))).toEqual([]);
      const paths = w.spec.template.spec.volumes.flatMap((v: any) => [...(v.secret?.items ?? []), ...(v.projected?.sources ?? []).flatMap((x: any) => x.secret?.items ?? [])].map((i: any) => i.path));
      expect(paths.filter((x: string) => /^admin\//i.test(x))).toEqual([]);
    }
    // The default fabric.identities has no Admin.
    const values = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8');
    expect(values).not.toMatch(/^\s+- name: Admin$/m);
  });

  it('renders the registration Job only when enabled', () => {
    expect(ofKind(sample, 'Job')).toEqual([]);
    expect(ofKind(defaults, 'Job')).toEqual([]);
    expect(JSON.stringify(sample)).not.toContain(ADMIN_SECRET);
    expect(ofKind(withJob, 'Job')).toHaveLength(1);
    // The rest of the release is the same with or without the Job (and its NetworkPolicy).
    const rest = withJob.filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] !== 'register-party');
    expect(rest).toEqual(sample);
  });

  it('the Job is the only object that mounts the Admin Secret, runs admin-cli register-party from acl-service\'s image, hardened', () => {
    const holders = withJob.filter((o) => JSON.stringify(o).includes(ADMIN_SECRET));
    expect(holders.map((o) => o.kind)).toEqual(['Job']);
    const [job] = ofKind(withJob, 'Job') as [K8sObject];
    expect(mountedSecrets(job)).toEqual([ADMIN_SECRET, 'org2-peer-tls-ca']);
    const pod = job.spec.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    const [c] = pod.containers;
    expect(c.image).toBe('twinledger/acl-service:0.1.0');
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect([...c.command, ...c.args]).toEqual([
      'node', 'dist/admin-cli.js', 'register-party',
      '--peer-ids', '12D3KooWLseF124WB4zjAbZvm2ttm6picSc32N3jVnoHZdwT4iaC,12D3KooWBnwL98Y9yUkBcv3r5bKJzUH8ibWs6AurfDX4VcuHH8zQ',
      '--x25519', 'Ngid5TDYEronSbWZT9ATOZQRhBvuDcjikzp8k48dHgQ=',
      '--cert', '/etc/twinledger/fabric/admin/cert.pem',
      '--key', '/etc/twinledger/fabric/admin/key.pem',
    ]);
    // acl-service's image holds the command (docker/Dockerfile target acl-service copies its dist).
    expect(readFileSync(join(ROOT, 'docker', 'Dockerfile'), 'utf8')).toMatch(/FROM runtime AS acl-service[\s\S]*?COPY --from=build \/out\/services\/acl-service\/ services\/acl-service\/\nWORKDIR \/app\/services\/acl-service/);
    expect(existsSync(join(ROOT, 'services', 'acl-service', 'src', 'admin-cli.ts'))).toBe(true);
    // The env contract with admin-cli.ts (adminCliEnv): nothing unknown, nothing required missing.
    const spec = envOfSpec(adminCliEnv);
    const env = envOf(c);
    expect(Object.keys(env).filter((n) => !spec.all.has(n))).toEqual([]);
    expect([...spec.required].filter((n) => !(n in env))).toEqual([]);
    expect(env).toMatchObject({ MSP_ID: 'Org2MSP', PEER_ENDPOINT: 'peer0.org2.plant.example:7051', PEER_TLS_ROOT_CERT: '/etc/twinledger/fabric/peer-tls/ca.crt' });
    // Every file it is given is mounted.
    const mounts: string[] = c.volumeMounts.map((m: any) => m.mountPath);
    for (const f of [env['PEER_TLS_ROOT_CERT'], '/etc/twinledger/fabric/admin/cert.pem']) expect(mounts.some((m) => f?.startsWith(`${m}/`))).toBe(true);
    expect(c.volumeMounts.find((m: any) => m.mountPath === '/tmp')).toBeDefined();
    // Default deny covers it; its own policy admits nothing and lets it reach the peer only.
    const policies = ofKind(withJob, 'NetworkPolicy');
    const own = policies.filter((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/name'] === 'register-party');
    expect(own).toHaveLength(1);
    expect(own[0]?.spec.ingress).toBeUndefined();
    expect(own[0]?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(own[0]?.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '10.42.7.0/24' } }], ports: [{ protocol: 'TCP', port: 7051 }] }]);
    expect(matches(policies.find((p) => p.metadata.name.endsWith('-default-deny'))?.spec.podSelector.matchLabels, pod.containers && job.spec.template.metadata.labels)).toBe(true);
    const v = validate(withJobText);
    expect(v.lines.filter((l) => l.startsWith('ERROR'))).toEqual([]);
    expect(v.status).toBe(0);
  });

  it('refuses an Admin identity for the services: by name, by the admin flag, by the Admin Secret', () => {
    /** Renders the defaults with User1 plus one more identity (a list is replaced whole by a values file). */
    const withIdentity = (extra: string, ...more: string[]): { status: number; out: string } => {
      const file = join(work, `identities-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, `fabric:\n  identities:\n    - { name: User1, existingSecret: twinledger-fabric-user1 }\n    - ${extra}\n`);
      return run(tools.helm, ['template', 'x', CHART_DIR, '--kube-version', tools.kubeVersion, '--values', file, ...more]);
    };
    const byName = withIdentity('{ name: Admin, existingSecret: org-admin }');
    expect(byName.status).not.toBe(0);
    expect(byName.out).toContain('"Admin" looks like the organization\'s Admin identity');
    const lower = withIdentity('{ name: admin@org1, existingSecret: org-admin }');
    expect(lower.status).not.toBe(0);
    expect(lower.out).toContain('"admin@org1" looks like the organization\'s Admin identity');
    const flagged = withIdentity('{ name: Ops, existingSecret: ops, admin: true }');
    expect(flagged.status).not.toBe(0);
    expect(flagged.out).toContain('"Ops" is marked admin: true');
    const shared = withIdentity('{ name: Ops, existingSecret: org-admin }', '--set', 'adminJobs.registerParty.adminIdentity.existingSecret=org-admin');
    expect(shared.status).not.toBe(0);
    expect(shared.out).toContain('uses Secret "org-admin", the Admin Secret of adminJobs.registerParty');
    // Other names pass: the check is not a blanket refusal.
    expect(withIdentity('{ name: Administrator2, existingSecret: x }').status).toBe(0);
    expect(withIdentity('{ name: Maintainer1, existingSecret: x, admin: false }').status).toBe(0);
  });

  it('refuses an enabled Job without its Admin Secret, peer IDs or X25519 key', () => {
    const res = run(tools.helm, ['template', 'x', CHART_DIR, '--kube-version', tools.kubeVersion, '--set', 'adminJobs.registerParty.enabled=true']);
    expect(res.status).not.toBe(0);
    expect(res.out).toContain('/adminJobs/registerParty');
    const badKey = run(tools.helm, [
      'template', 'x', CHART_DIR, '--kube-version', tools.kubeVersion, '--set', 'adminJobs.registerParty.enabled=true',
      '--set', 'adminJobs.registerParty.adminIdentity.existingSecret=org-admin', '--set', 'adminJobs.registerParty.peerIds[0]=12D3KooWLseF124WB4zjAbZvm2ttm6picSc32N3jVnoHZdwT4iaC',
      '--set', 'adminJobs.registerParty.x25519PublicKey=36089de530d812ba2749b5994fd013399411841bee0dc8e2933a7c938f1d1e04',
    ]);
    expect(badKey.status).not.toBe(0);
    expect(badKey.out).toContain('/adminJobs/registerParty/x25519PublicKey');
  });
});

describe('services as they are now (issues #17, #19)', () => {
  function workload(objects: readonly K8sObject[], name: string): K8sObject {
    const w = workloads(objects).find((o) => o.metadata.labels?.['app.kubernetes.io/name'] === name);
    if (w === undefined) throw new Error(`no ${name}`);
    return w;
  }

  it.each([
    ['sample organization', () => sample],
    ['default values', () => defaults],
  ])('feed-ingest uses the ledger: identities folder, service identity, decision TTL, ACL reconcile, the peer; egress to it (%s)', (_label, objectsOf) => {
    const w = workload(objectsOf(), 'feed-ingest');
    const pod = w.spec.template.spec;
    const env = envOf(pod.containers[0]);
    expect(env).toMatchObject({
      FABRIC_IDENTITIES_DIR: '/etc/twinledger/fabric/identities',
      SERVICE_IDENTITY: 'User1',
      AUTH_DECISION_TTL_MS: '5000',
      FEED_ACL_RECONCILE_MS: '15000',
      PEER_TLS_ROOT_CERT: '/etc/twinledger/fabric/peer-tls/ca.crt',
      CHANNEL: 'twins',
      CHAINCODE: 'twinledger',
    });
    expect(env['PEER_ENDPOINT']).toMatch(/:7051$/);
    // The identities are mounted as spec-service and acl-service have them.
    const identities = pod.volumes.find((v: any) => v.name === 'fabric-identities');
    const spec = workload(objectsOf(), 'spec-service').spec.template.spec.volumes.find((v: any) => v.name === 'fabric-identities');
    expect(identities).toEqual(spec);
    expect(identities.projected.sources.flatMap((x: any) => x.secret.items.map((i: any) => i.path))).toContain('User1/cert.pem');
    expect(pod.containers[0].volumeMounts.find((m: any) => m.name === 'fabric-identities')).toEqual({ name: 'fabric-identities', mountPath: '/etc/twinledger/fabric/identities', readOnly: true });
    // One volume per name (the peer's TLS CA is mounted once).
    const names = pod.volumes.map((v: any) => v.name);
    expect(new Set(names).size).toBe(names.length);
    const policy = ofKind(objectsOf(), 'NetworkPolicy').find((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/name'] === 'feed-ingest');
    expect(policy?.spec.egress.some((r: any) => r.ports.some((x: any) => x.port === 7051))).toBe(true);
  });

  it('feed-ingest reaches the peer with a static party registry too', () => {
    const res = run(tools.helm, [
      'template', 'x', CHART_DIR, '--kube-version', tools.kubeVersion,
      '--set', 'dht.partyRegistry.source=static', '--set', 'dht.parties[0].mspId=Org1MSP',
      '--set', 'dht.parties[0].peerIds[0]=12D3KooWKRnxSfb6wQPa9sY5h9BxZERnCFPFELp19ddF9EKbaQBi',
      '--set', 'dht.parties[0].encryptionPublicKey=a9fe86ead2b822ad9fe3249916b4f1c167a2ffda1e5e00781f0aa93fd34a6619',
    ]);
    expect(res.status).toBe(0);
    const objects = parseManifests(res.out);
    const env = envOf(workload(objects, 'feed-ingest').spec.template.spec.containers[0]);
    expect(env).toMatchObject({ PEER_ENDPOINT: 'peer0.org1.example.com:7051', FABRIC_IDENTITIES_DIR: '/etc/twinledger/fabric/identities', PARTY_REGISTRY_FILE: '/etc/twinledger/parties/parties.json' });
    const policy = ofKind(objects, 'NetworkPolicy').find((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/name'] === 'feed-ingest');
    expect(policy?.spec.egress.some((r: any) => r.ports.some((x: any) => x.port === 7051))).toBe(true);
  });

  it('refuses a service identity that is not among fabric.identities', () => {
    const res = run(tools.helm, ['template', 'x', CHART_DIR, '--kube-version', tools.kubeVersion, '--set', 'feedIngest.serviceIdentity=Nobody']);
    expect(res.status).not.toBe(0);
    expect(res.out).toContain('feedIngest.serviceIdentity "Nobody" must name one of fabric.identities');
  });

  it('acl-service: KEY_RECONCILE_MS and a writable DATA_DIR for its event checkpoint', () => {
    const pod = workload(sample, 'acl-service').spec.template.spec;
    const env = envOf(pod.containers[0]);
    expect(env).toMatchObject({ KEY_RECONCILE_MS: '30000', DATA_DIR: '/var/lib/twinledger/acl-service' });
    const mount = pod.containers[0].volumeMounts.find((m: any) => m.mountPath === '/var/lib/twinledger/acl-service');
    expect(mount.readOnly ?? false).toBe(false);
    // An emptyDir on purpose (see templates/acl-service.yaml): the start-up reconcile covers a lost checkpoint.
    expect(pod.volumes.find((v: any) => v.name === mount.name)).toEqual({ name: 'state', emptyDir: { sizeLimit: '16Mi' } });
  });

  it('device-agent: the secured OPC UA link with the plant\'s certificate, a user file and the operator\'s envelope', () => {
    const agent = workloads(sample).find((w) => w.metadata.name === `${SAMPLE_RELEASE}-device-agent-filler`) as K8sObject;
    const pod = agent.spec.template.spec;
    const env = envOf(pod.containers[0]);
    expect(env).toMatchObject({
      OPCUA_SECURITY_POLICY: 'Basic256Sha256',
      OPCUA_PKI_DIR: '/var/lib/twinledger/device-agent/opcua-pki',
      OPCUA_CERT_FILE: '/etc/twinledger/opcua/application/cert.pem',
      OPCUA_KEY_FILE: '/etc/twinledger/opcua/application/key.pem',
      OPCUA_TRUSTED_SERVER_CERTS: '/etc/twinledger/opcua/trusted/plant.pem',
      OPCUA_USER_FILE: '/etc/twinledger/opcua/user/user.json',
      SAFETY_ENVELOPE_FILE: '/etc/twinledger/envelope/envelope.json',
    });
    expect(env['OPCUA_ALLOW_INSECURE']).toBeUndefined();
    const vol = (n: string): any => pod.volumes.find((v: any) => v.name === n);
    expect(vol('opcua-trusted').secret).toMatchObject({ secretName: 'org2-bottling-plant-opcua-cert', items: [{ key: 'plant.pem', path: 'plant.pem' }] });
    expect(vol('opcua-user').secret).toMatchObject({ secretName: 'org2-device-agent-filler-opcua-user', items: [{ key: 'user.json', path: 'user.json' }] });
    expect(vol('opcua-application').secret).toMatchObject({ secretName: 'org2-device-agent-filler-opcua-cert', items: [{ key: 'tls.crt', path: 'cert.pem' }, { key: 'tls.key', path: 'key.pem' }] });
    // The envelope ConfigMap holds the Owner's shipped envelope for the bottling plant.
    expect(vol('envelope').configMap).toMatchObject({ name: `${SAMPLE_RELEASE}-device-agent-filler-envelope`, items: [{ key: 'envelope.json', path: 'envelope.json' }] });
    const cm = ofKind(sample, 'ConfigMap').find((o) => o.metadata.name === `${SAMPLE_RELEASE}-device-agent-filler-envelope`);
    const shipped = JSON.parse(readFileSync(join(ROOT, 'services', 'device-agent', 'config', 'bottling-plant.envelope.json'), 'utf8'));
    expect(JSON.parse(cm?.data['envelope.json'])).toEqual(shipped);
    expect(agent.spec.template.metadata.annotations['checksum/safety-envelope']).toMatch(/^[0-9a-f]{64}$/);
  });

  describe('device-agent: secure by default, insecure only when explicitly set', () => {
    const agentArgs = (extra: readonly string[]): string[] => [
      'template', 'x', CHART_DIR, '--kube-version', tools.kubeVersion,
      '--set', 'deviceAgent.agents[0].name=press', '--set', 'deviceAgent.agents[0].twinId=press-1',
      '--set', 'deviceAgent.agents[0].deviceEndpoint=opc.tcp://10.1.2.3:4840', '--set', 'deviceAgent.agents[0].identity=User1',
      '--set', 'deviceAgent.agents[0].safetyEnvelope.existingConfigMap=press-envelope',
      ...extra,
    ];
    const secureArgs = [
      '--set', 'deviceAgent.agents[0].opcua.trustedServerCertificates.existingSecret=press-cert', '--set', 'deviceAgent.agents[0].opcua.trustedServerCertificates.keys[0]=a.pem',
      '--set', 'deviceAgent.agents[0].opcua.trustedServerCertificates.keys[1]=b.der', '--set', 'deviceAgent.agents[0].opcua.user.existingSecret=press-user',
    ];

    it('with no policy given the link is SignAndEncrypt Basic256Sha256 and needs the plant certificate(s) and a user', () => {
      const res = run(tools.helm, agentArgs(secureArgs));
      expect(res.status).toBe(0);
      const objects = parseManifests(res.out);
      const pod = workload(objects, 'device-agent').spec.template.spec;
      const env = envOf(pod.containers[0]);
      expect(env['OPCUA_SECURITY_POLICY']).toBe('Basic256Sha256');
      expect(env['OPCUA_ALLOW_INSECURE']).toBeUndefined();
      expect(env['OPCUA_TRUSTED_SERVER_CERTS']).toBe('/etc/twinledger/opcua/trusted/a.pem,/etc/twinledger/opcua/trusted/b.der');
      // No application certificate given: the agent makes its own in OPCUA_PKI_DIR (its state volume).
      expect(env['OPCUA_CERT_FILE']).toBeUndefined();
      expect(pod.volumes.find((v: any) => v.name === 'envelope').configMap).toMatchObject({ name: 'press-envelope', items: [{ key: 'envelope.json', path: 'envelope.json' }] });
      expect(ofKind(objects, 'ConfigMap').filter((o) => o.metadata.name.endsWith('-envelope'))).toEqual([]);
      expect(validate(res.out).status).toBe(0);
      // Without the trust list or the user: refused.
      const bare = run(tools.helm, agentArgs([]));
      expect(bare.status).not.toBe(0);
      expect(bare.out).toContain('deviceAgent.agents[press].opcua.trustedServerCertificates');
    });

    it('None needs opcua.allowInsecure: true, and then sets OPCUA_ALLOW_INSECURE and mounts no OPC UA secrets', () => {
      const refused = run(tools.helm, agentArgs(['--set', 'deviceAgent.agents[0].opcua.securityPolicy=None']));
      expect(refused.status).not.toBe(0);
      expect(refused.out).toContain('/deviceAgent/agents/0/opcua');
      const res = run(tools.helm, agentArgs(['--set', 'deviceAgent.agents[0].opcua.securityPolicy=None', '--set', 'deviceAgent.agents[0].opcua.allowInsecure=true']));
      expect(res.status).toBe(0);
      const pod = workload(parseManifests(res.out), 'device-agent').spec.template.spec;
      const env = envOf(pod.containers[0]);
      expect(env).toMatchObject({ OPCUA_SECURITY_POLICY: 'None', OPCUA_ALLOW_INSECURE: 'true' });
      expect(env['OPCUA_TRUSTED_SERVER_CERTS']).toBeUndefined();
      expect(pod.volumes.filter((v: any) => v.name.startsWith('opcua-'))).toEqual([]);
    });

    it('refuses an agent without a safety envelope', () => {
      const res = run(tools.helm, [...agentArgs(secureArgs), '--set', 'deviceAgent.agents[0].safetyEnvelope=null']);
      expect(res.status).not.toBe(0);
      expect(res.out).toMatch(/safetyEnvelope/);
    });
  });
});

describe('docs/grafana-dashboard.json', () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'docs', 'grafana-dashboard.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[]; uid: string; title: string };

  it('parses and has panels with PromQL targets', () => {
    expect(dashboard.title).toMatch(/TwinLedger/);
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    for (const p of dashboard.panels.filter((x) => x.targets)) for (const t of p.targets ?? []) expect(t.expr.length).toBeGreaterThan(0);
  });

  it('queries only metrics the code (or the Fabric peer) exports', () => {
    const dirs = ['packages/service-kit/src', 'packages/dht/src', ...readdirSync(join(ROOT, 'services')).map((d) => `services/${d}/src`)];
    const sources = dirs
      .filter((d) => existsSync(join(ROOT, d)))
      .flatMap((d) => readdirSync(join(ROOT, d), { recursive: true, encoding: 'utf8' }).map((f) => join(ROOT, d, f)))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    // Fabric peer metrics (operations service): not ours, documented by Hyperledger Fabric.
    const fabric = new Set(['endorser_proposal_duration', 'ledger_blockchain_height', 'endorser_proposals_received', 'endorser_successful_proposals']);
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    const names = new Set(
      exprs.flatMap((e) => [...e.matchAll(/\b(?:twinledger|spec_service|acl_service|endorser|ledger)_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''))),
    );
    expect(names.size).toBeGreaterThan(10);
    const unknown = [...names].filter((n) => {
      if (fabric.has(n) || sources.includes(`'${n}'`)) return false;
      // feed-ingest and device-agent name their metrics `${p}<suffix>` with p = their prefix.
      const prefix = ['twinledger_feed_ingest_', 'twinledger_device_agent_'].find((x) => n.startsWith(x));
      return !(prefix !== undefined && sources.includes(`\`\${p}${n.slice(prefix.length)}\``));
    });
    expect(unknown).toEqual([]);
  });
});

describe('console sign-in (console.oidc, ADR-19)', () => {
  const REDIRECT = 'https://console.org2.plant.example/auth/callback';
  const helmWith = (...sets: string[]) => run(tools.helm, ['template', SAMPLE_RELEASE, CHART_DIR, '--namespace', SAMPLE_NAMESPACE, '--kube-version', tools.kubeVersion, '--values', SAMPLE_VALUES, ...sets.flatMap((s) => ['--set', s])]);

  it('wires the console to the identity provider: env the server reads, secrets mounted, one replica, egress to the provider', () => {
    const res = helmWith('console.oidc.enabled=true', `console.oidc.redirectUrl=${REDIRECT}`, 'console.oidc.resource=urn:twinledger:services');
    expect(res.status).toBe(0);
    expect(validate(res.out).status).toBe(0);
    const objects = parseManifests(res.out);
    const w = workloads(objects).find((o) => o.metadata.name === `${SAMPLE_RELEASE}-console`)!;
    expect(w.spec.replicas).toBe(1);
    const c = w.spec.template.spec.containers[0];
    const env = envOf(c);
    expect(env).toMatchObject({
      OIDC_ISSUER: 'https://id.org2.plant.example/realms/twinledger',
      OIDC_CLIENT_ID: 'twinledger-console',
      OIDC_REDIRECT_URL: REDIRECT,
      OIDC_SCOPES: 'openid,profile',
      OIDC_RESOURCE: 'urn:twinledger:services',
      OIDC_CLIENT_SECRET_FILE: '/etc/twinledger/console-oidc/client-secret',
      SESSION_COOKIE_SECRET_FILE: '/etc/twinledger/console-oidc/cookie-secret',
    });
    // Every variable is one the console's server.ts reads, and the files are mounted.
    const known = serviceEnv('console')!.all;
    expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
    expect(c.volumeMounts.find((m: any) => m.name === 'console-oidc')).toMatchObject({ mountPath: '/etc/twinledger/console-oidc', readOnly: true });
    expect(mountedSecrets(w)).toContain('twinledger-console-oidc');
    const policy = ofKind(objects, 'NetworkPolicy').find((p) => p.metadata.name === `${SAMPLE_RELEASE}-console`)!;
    expect(policy.spec.egress.at(-1)).toEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] });
    // Off (the sample), nothing of it is rendered.
    expect(JSON.stringify(sample)).not.toContain('OIDC_');
  });

  it('refuses sign-in without a redirect URL, an http one, or scopes without openid', () => {
    expect(helmWith('console.oidc.enabled=true').status).not.toBe(0);
    expect(helmWith('console.oidc.enabled=true', 'console.oidc.redirectUrl=http://console.example/auth/callback').status).not.toBe(0);
    expect(helmWith('console.oidc.enabled=true', `console.oidc.redirectUrl=${REDIRECT}`, 'console.oidc.scopes=profile').status).not.toBe(0);
  });
});
