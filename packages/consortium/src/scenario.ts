import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assembleAuditBundle, verifyBlockBundle } from '@twinledger/audit';
import { StepFailedError } from './errors.js';
import { request, waitFor, writeOrLookUp, type HttpAnswer } from './http.js';
import { FIXTURE_AML, type Party } from './layout.js';
import type { Consortium, OrgRuntime } from './launcher.js';

export interface StepResult {
  readonly n: number;
  readonly title: string;
  readonly detail: string;
  readonly ms: number;
}

/** Values the scenario established, for the end-to-end test's assertions. */
export interface ScenarioFacts {
  twinId?: string;
  createTx?: string;
  initialFeeds?: string[];
  floodingAfterBreak?: boolean;
  newSensorFeedId?: string;
  agentChangeCreator?: string;
  ownerLatestReading?: { component: string; ts: number; v: unknown };
  auditorReadingCount?: number;
  reportHash?: string;
  reportDhtRef?: string;
  secretHash?: string;
  refusals?: { who: Party; what: string; status: number; code: string }[];
  /** The offline verifier's result on the auditor's bundle (packages/audit), check by check. */
  audit?: { readonly ok: boolean; readonly checks: readonly { readonly check: string; readonly ok: boolean; readonly detail: string }[] };
  auditBundleFile?: string;
  callId?: string;
  callStatus?: string;
  plantSpeedAfterCall?: number;
  outOfBounds?: { status: number; code: string; plantSpeed: number };
}

export interface ScenarioReport {
  readonly steps: readonly StepResult[];
  readonly facts: ScenarioFacts;
  readonly totalMs: number;
}

export interface ScenarioOptions {
  readonly log?: (line: string) => void;
  /** Bound of every wait on another party's peer, the agent or the DHT. Default 90 s. */
  readonly waitMs?: number;
}

const sha256 = (b: Buffer | Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const OLD_SENSOR = 'sensor-fill-level-1';
const NEW_SENSOR = 'sensor-fill-level-2';
const SPEED_OK = 1.2;
const SPEED_TOO_HIGH = 3.0;

function body(res: HttpAnswer): string {
  return res.json !== undefined ? JSON.stringify(res.json) : res.bytes.toString('utf8').slice(0, 300);
}

function expectStatus(step: string, res: HttpAnswer, status: number, code?: string): void {
  const got = (res.json as { code?: string } | undefined)?.code;
  if (res.status !== status || (code !== undefined && got !== code)) {
    throw new StepFailedError(`${step}: expected ${status}${code ? ` ${code}` : ''}, got ${res.status} ${body(res)}`, { details: { step, status: res.status, code: got } });
  }
}

function check(step: string, ok: boolean, what: string): void {
  if (!ok) throw new StepFailedError(`${step}: ${what}`, { details: { step } });
}

/** The items of a paged list answer ({items, bookmark}); the scenario asks for pages large enough to hold them all. */
function records(res: HttpAnswer): Record<string, unknown>[] {
  const items = (res.json as { items?: unknown } | undefined)?.items;
  return Array.isArray(items) ? (items as Record<string, unknown>[]) : [];
}

/**
 * The issue #9 scenario, played through the services' REST APIs only, with each party's
 * tokens from its own issuer. Every step checks its outcome (statuses, codes, hashes, device
 * state) and throws StepFailedError naming the step on the first deviation; waits on other
 * parties' peers, the agent and the DHT are bounded polls of the condition itself.
 */
export async function runScenario(c: Consortium, opts: ScenarioOptions = {}): Promise<ScenarioReport> {
  const log = opts.log ?? (() => undefined);
  const waitMs = opts.waitMs ?? 90_000;
  const facts: ScenarioFacts = { twinId: c.twinId, refusals: [] };
  const steps: StepResult[] = [];
  const t0 = Date.now();
  const twin = encodeURIComponent(c.twinId);
  const owner = c.org('owner');
  const manufacturer = c.org('manufacturer');
  const maintainer = c.org('maintainer');
  const auditor = c.org('auditor');
  const tokens = new Map<Party, string>();
  for (const o of c.orgs) tokens.set(o.party, await o.token('User1'));
  const tok = (o: OrgRuntime): string => tokens.get(o.party)!;
  const spec = (o: OrgRuntime, path: string): string => `${o.urls.spec}/twins/${twin}${path}`;

  const step = async (title: string, run: (name: string) => Promise<string>): Promise<void> => {
    const n = steps.length + 1;
    const started = Date.now();
    const name = `step ${n} (${title})`;
    try {
      const detail = await run(name);
      const ms = Date.now() - started;
      steps.push({ n, title, detail, ms });
      log(`${String(n).padStart(2)}. ${title}: ok - ${detail} [${(ms / 1000).toFixed(1)} s]`);
    } catch (err) {
      log(`${String(n).padStart(2)}. ${title}: FAILED - ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  };
  const refused = async (name: string, who: OrgRuntime, what: string, res: HttpAnswer, code = 'ACCESS_DENIED'): Promise<string> => {
    expectStatus(`${name}: ${what}`, res, 403, code);
    facts.refusals!.push({ who: who.party, what, status: res.status, code });
    return `${what}: 403 ${code}`;
  };
  /** A read on another org's peer waits for the block to reach it (404 until then). */
  const readWhenCommitted = (name: string, o: OrgRuntime, path: string, tokenOf = tok(o)): Promise<HttpAnswer> =>
    waitFor(
      async () => {
        const res = await request(path, { token: tokenOf });
        return res.status === 404 ? undefined : res;
      },
      { step: `${name}: ${o.mspId} reads ${path}`, timeoutMs: waitMs },
    );
  const plantState = async (): Promise<{ conveyorSpeed: number; flooding: boolean; components: { componentId: string }[] }> =>
    (await request(`${c.plant.controlUrl}/state`)).json as never;

  /** A wait on the device agent's work; on timeout the error carries the agent's own status (last sync report). */
  const agentWait = async <T>(probe: () => Promise<T | undefined>, what: string): Promise<T> => {
    try {
      return await waitFor(probe, { step: what, timeoutMs: waitMs });
    } catch (err) {
      const status = await request(`${owner.urls.agent!}/status`, { token: tok(owner), timeoutMs: 5_000 }).then(
        (r) => body(r),
        (e: unknown) => `unavailable: ${String(e)}`,
      );
      throw new StepFailedError(`${err instanceof Error ? err.message : String(err)}; device agent status: ${status}`, { cause: err, details: { step: what } });
    }
  };

  await step(`Owner creates twin ${c.twinId} from the manufacturer's AML`, async (name) => {
    const aml = readFileSync(FIXTURE_AML(), 'utf8');
    const create = () =>
      request(`${owner.urls.spec}/twins`, {
        token: tok(owner),
        json: {
          deviceId: c.twinId,
          deviceName: 'Bottling plant',
          aml,
          grants: [
            { mspId: manufacturer.mspId, role: 'MANUFACTURER' },
            { mspId: maintainer.mspId, role: 'MAINTAINER' },
            { mspId: auditor.mspId, role: 'AUDITOR' },
            { mspId: owner.mspId, identity: c.deviceAgentIdentity, role: 'DEVICE_AGENT' },
          ],
        },
      });
    const w = await writeOrLookUp(name, create, (tx) => request(`${owner.urls.spec}/twins/${twin}?atLeastTx=${tx}`, { token: tok(owner) }));
    if ('lookedUp' in w) {
      facts.createTx = w.lookedUp;
      return `tx ${w.lookedUp.slice(0, 16)} (its outcome looked up after 504 OUTCOME_UNKNOWN: committed); grants MANUFACTURER, MAINTAINER, AUDITOR, DEVICE_AGENT (${owner.mspId} device agent)`;
    }
    const res = w.res;
    expectStatus(name, res, 201);
    const r = res.json as { transactionId: string; blockNumber: number; result: { elements: number; programs: unknown[] } };
    facts.createTx = r.transactionId;
    return `tx ${r.transactionId.slice(0, 16)} in block ${r.blockNumber}, ${r.result.elements} elements, ${r.result.programs.length} programs; grants MANUFACTURER, MAINTAINER, AUDITOR, DEVICE_AGENT (${owner.mspId} device agent)`;
  });

  await step('Every org sees the grants; the device agent identity holds program:ack', async (name) => {
    for (const o of c.orgs) {
      await waitFor(
        async () => {
          const g = records(await request(`${o.urls.acl}/twins/${twin}/grants?limit=1000`, { token: tok(o) }));
          return g.some((x) => x['role'] === 'DEVICE_AGENT') && g.some((x) => x['role'] === 'AUDITOR') ? true : undefined;
        },
        { step: `${name}: grants on ${o.mspId}'s peer`, timeoutMs: waitMs },
      );
    }
    const res = await request(`${owner.urls.acl}/authorize`, { token: tok(owner), json: { twinId: c.twinId, permission: 'program:ack', mspId: owner.mspId, identity: c.deviceAgentIdentity } });
    expectStatus(name, res, 200);
    check(name, (res.json as { allowed: boolean }).allowed, `program:ack not allowed for the agent: ${body(res)}`);
    return `grants on all 4 peers; acl-service authorizes program:ack for the agent`;
  });

  await step("Device agent syncs the plant with the twin and registers the sensors' feeds", async (name) => {
    const sync = await request(`${owner.urls.agent!}/sync`, { token: tok(owner), json: { reason: 'twin created' } });
    // 502 SYNC_FAILED is possible while the agent's own event stream catches up; the periodic
    // sync then completes the work, which is what is awaited below.
    check(name, sync.status === 200 || sync.status === 502, `POST /sync answered ${sync.status} ${body(sync)}`);
    const feeds = await agentWait(async () => {
      const f = records(await request(spec(owner, '/feeds'), { token: tok(owner) }));
      return f.length >= 4 ? f : undefined;
    }, `${name}: four sensor feeds registered`);
    facts.initialFeeds = feeds.map((f) => String(f['componentId'])).sort();
    check(name, facts.initialFeeds.includes(OLD_SENSOR), `no feed for ${OLD_SENSOR}: ${facts.initialFeeds.join(',')}`);
    return `feeds: ${facts.initialFeeds.join(', ')}`;
  });

  await step(`Sensor ${OLD_SENSOR} breaks (bottles overflow)`, async (name) => {
    const res = await request(`${c.plant.controlUrl}/sensors/${OLD_SENSOR}/break`, { method: 'POST' });
    expectStatus(name, res, 200);
    facts.floodingAfterBreak = (await plantState()).flooding;
    check(name, facts.floodingAfterBreak, 'the plant does not report flooding');
    return 'plant reports Flooding = true';
  });

  await step(`Maintainer replaces it with ${NEW_SENSOR}`, async (name) => {
    const res = await request(`${c.plant.controlUrl}/sensors/${OLD_SENSOR}/replace`, { json: { componentId: NEW_SENSOR, serialNumber: 'FLS-2026-0002' } });
    expectStatus(name, res, 200);
    const ids = (res.json as { components: { componentId: string }[] }).components.map((x) => x.componentId);
    check(name, ids.includes(NEW_SENSOR) && !ids.includes(OLD_SENSOR), `plant inventory: ${ids.join(',')}`);
    return 'new part fitted on the device (InventoryVersion bumped)';
  });

  await step('Device agent updates the spec and registers the new feed', async (name) => {
    const feed = await agentWait(async () => {
      const f = records(await request(spec(owner, '/feeds'), { token: tok(owner) }));
      const ok = f.find((x) => x['componentId'] === NEW_SENSOR);
      return ok && !f.some((x) => x['componentId'] === OLD_SENSOR) ? ok : undefined;
    }, `${name}: feed of ${NEW_SENSOR} on the ledger`);
    facts.newSensorFeedId = String(feed['feedRef']);
    expectStatus(`${name}: new element`, await request(spec(owner, `/elements/${NEW_SENSOR}`), { token: tok(owner) }), 200);
    expectStatus(`${name}: old element gone`, await request(spec(owner, `/elements/${OLD_SENSOR}`), { token: tok(owner) }), 404);
    const hist = await request(spec(owner, `/history?elementId=${NEW_SENSOR}`), { token: tok(owner) });
    expectStatus(`${name}: element history`, hist, 200);
    const change = ((hist.json as { changes: { mspId: string; creator: string; operation: string }[] }).changes ?? [])[0];
    facts.agentChangeCreator = change?.creator;
    check(name, change?.mspId === owner.mspId && change.creator === c.deviceAgentIdentity, `insert not signed by the agent: ${JSON.stringify(change)}`);
    return `removeAML ${OLD_SENSOR} + insertAML ${NEW_SENSOR} signed by the agent (${change!.operation}); feed ${facts.newSensorFeedId.slice(0, 16)}...`;
  });

  await step("The new sensor's stream flows into the Owner's DHT feed", async (name) => {
    const feedId = facts.newSensorFeedId!;
    const latest = await waitFor(
      async () => {
        const res = await request(`${owner.urls.feed}/feeds/${feedId}/latest`, { token: tok(owner) });
        return res.status === 200 ? ((res.json as { reading: { component: string; ts: number; v: unknown } | null }).reading ?? undefined) : undefined;
      },
      { step: `${name}: first reading of ${NEW_SENSOR} in the DHT`, timeoutMs: waitMs },
    );
    facts.ownerLatestReading = latest;
    check(name, latest.component === NEW_SENSOR, `latest reading is of ${latest.component}`);
    return `latest reading ${JSON.stringify(latest.v)} at ${new Date(latest.ts).toISOString()} (device -> Kafka -> feed-ingest -> DHT)`;
  });

  await step('Maintainer uploads the maintenance report (confidential, attached to the new sensor)', async (name) => {
    const report = Buffer.from(
      `Maintenance report\ntwin: ${c.twinId}\nreplaced ${OLD_SENSOR} (failed: bad value, bottles overflowing) with ${NEW_SENSOR} serial FLS-2026-0002\ncalibrated 180-195 mm\n`,
    );
    const q = new URLSearchParams({ title: 'Fill-level sensor replacement', confidentiality: 'confidential', componentId: NEW_SENSOR, description: 'replacement of the failed fill-level sensor' });
    const w = await writeOrLookUp(
      name,
      () => request(spec(maintainer, `/documents?${q}`), { token: tok(maintainer), bytes: report }),
      (tx) => request(spec(maintainer, `/documents/${sha256(report)}?atLeastTx=${tx}`), { token: tok(maintainer) }),
    );
    if ('res' in w) expectStatus(name, w.res, 201);
    const r =
      'res' in w
        ? (w.res.json as { result: { hash: string; dhtRef: string } }).result
        : (w.read.json as { document: { hash: string; dhtRef: string } }).document;
    check(name, r.hash === sha256(report), `on-chain hash ${r.hash} is not the SHA-256 of the report`);
    facts.reportHash = r.hash;
    facts.reportDhtRef = r.dhtRef;
    return `hash ${r.hash.slice(0, 16)}..., stored encrypted in the DHT (ref ${r.dhtRef.slice(0, 16)}...)${'lookedUp' in w ? ' (outcome looked up after 504 OUTCOME_UNKNOWN)' : ''}`;
  });

  await step('Owner records a secret document (the operating contract)', async (name) => {
    const q = new URLSearchParams({ title: 'Operating contract', confidentiality: 'secret' });
    const contract = Buffer.from(`Operating contract for ${c.twinId}: price per bottle, output targets.\n`);
    const w = await writeOrLookUp(
      name,
      () => request(spec(owner, `/documents?${q}`), { token: tok(owner), bytes: contract }),
      (tx) => request(spec(owner, `/documents/${sha256(contract)}?atLeastTx=${tx}`), { token: tok(owner) }),
    );
    if ('res' in w) expectStatus(name, w.res, 201);
    facts.secretHash = 'res' in w ? (w.res.json as { result: { hash: string } }).result.hash : sha256(contract);
    return `hash ${facts.secretHash.slice(0, 16)}... (readable by OWNER only)`;
  });

  const readsReport = async (name: string, o: OrgRuntime): Promise<string> => {
    const aml = await readWhenCommitted(name, o, spec(o, '/spec?format=aml'));
    expectStatus(`${name}: spec`, aml, 200);
    check(name, aml.bytes.includes(`ID="${NEW_SENSOR}"`) && !aml.bytes.includes(`ID="${OLD_SENSOR}"`), 'spec does not show the replaced sensor');
    const doc = await readWhenCommitted(name, o, spec(o, `/documents/${facts.reportHash}/content`));
    expectStatus(`${name}: report`, doc, 200);
    check(name, sha256(doc.bytes) === facts.reportHash, 'downloaded report does not hash to the on-chain hash');
    return 'spec (new sensor) and the report (hash verified)';
  };

  await step('Owner reads the spec, the report and its secret document', async (name) => {
    const read = await readsReport(name, owner);
    const secret = await request(spec(owner, `/documents/${facts.secretHash}/content`), { token: tok(owner) });
    expectStatus(`${name}: secret`, secret, 200);
    check(name, sha256(secret.bytes) === facts.secretHash, 'secret document hash mismatch');
    return `${read}, secret document`;
  });

  await step('Manufacturer reads the spec and the report', async (name) => readsReport(name, manufacturer));

  await step('Manufacturer is refused the secret document, spec writes and program calls', async (name) => {
    const out = [
      await refused(name, manufacturer, 'read secret document', await readWhenCommitted(name, manufacturer, spec(manufacturer, `/documents/${facts.secretHash}/content`))),
      await refused(
        name,
        manufacturer,
        'insert AML element',
        await request(spec(manufacturer, '/elements'), { token: tok(manufacturer), json: { aml: '<InternalElement Name="Extra" ID="extra-1"/>', parentId: 'filler-1' } }),
      ),
      await refused(name, manufacturer, 'call program', await request(spec(manufacturer, '/program-calls'), { token: tok(manufacturer), json: { program: 'SetConveyorSpeed', parameters: { speed: 1 } } })),
    ];
    return out.join('; ');
  });

  await step("Auditor reads the spec, the report and the new sensor's history", async (name) => {
    const read = await readsReport(name, auditor);
    const now = Date.now();
    const readings = await waitFor(
      async () => {
        const res = await request(`${auditor.urls.feed}/feeds/${facts.newSensorFeedId}/readings?from=${now - 3_600_000}&to=${now + 60_000}`, { token: tok(auditor) });
        const list = res.status === 200 ? (res.json as { readings: unknown[] }).readings : [];
        return list.length > 0 ? list : undefined;
      },
      { step: `${name}: readings through the auditor's own DHT node`, timeoutMs: waitMs },
    );
    facts.auditorReadingCount = readings.length;
    return `${read}, ${readings.length} readings of ${NEW_SENSOR} decrypted by its own node`;
  });

  await step('Auditor is refused the secret document, uploads, program calls, grant changes and device IDs in the Owner\'s namespace', async (name) => {
    const out = [
      await refused(name, auditor, 'read secret document', await readWhenCommitted(name, auditor, spec(auditor, `/documents/${facts.secretHash}/content`))),
      await refused(name, auditor, 'upload document', await request(spec(auditor, `/documents?${new URLSearchParams({ title: 'note', confidentiality: 'internal' })}`), { token: tok(auditor), bytes: Buffer.from('auditor note') })),
      await refused(name, auditor, 'call program', await request(spec(auditor, '/program-calls'), { token: tok(auditor), json: { program: 'SetConveyorSpeed', parameters: { speed: 1 } } })),
      await refused(name, auditor, 'grant a role', await request(`${auditor.urls.acl}/twins/${twin}/grants`, { token: tok(auditor), json: { mspId: auditor.mspId, role: 'OWNER' } })),
    ];
    // Squatting: a twin under a device ID in the Owner's claimed namespace, created first by another member.
    if (c.ownerNamespace !== undefined) {
      const aml = readFileSync(FIXTURE_AML(), 'utf8');
      out.push(
        await refused(name, auditor, `create a twin in the Owner's namespace ${c.ownerNamespace}`, await request(`${auditor.urls.spec}/twins`, { token: tok(auditor), json: { deviceId: `${c.ownerNamespace}spare`, deviceName: 'Squatted', aml } })),
      );
    }
    return out.join('; ');
  });

  await step('Auditor exports a block-proof audit bundle with the anchored feed and verifies it offline', async (name) => {
    // The Owner's feed-ingest anchors the new sensor's feed within a pass of its first updates
    // (ADR-18): wait for a root on the auditor's peer, then prove the updates it covers.
    const tip = await waitFor(
      async () => {
        const res = await request(spec(auditor, '/feed-anchors'), { token: tok(auditor) });
        const anchors = (res.json as { anchors?: { feedId: string; toIndex: number }[] } | undefined)?.anchors ?? [];
        return res.status === 200 ? anchors.find((a) => a.feedId === facts.newSensorFeedId) : undefined;
      },
      { step: `${name}: an anchored root of feed ${facts.newSensorFeedId?.slice(0, 16)}`, timeoutMs: waitMs },
    );
    const get = (base: string) => async (path: string): Promise<unknown> => {
      const res = await request(`${base}${path}`, { token: tok(auditor) });
      expectStatus(`${name}: GET ${path.split('?')[0]}`, res, 200);
      return res.json;
    };
    // Everything as the auditor: its own spec-service (blocks from its own peer) and its own
    // feed-ingest (updates and segments from its own DHT node).
    const bundle = await assembleAuditBundle(
      { spec: get(auditor.urls.spec), feeds: get(auditor.urls.feed) },
      { twinId: c.twinId, feedFrom: 0, feedTo: Math.min(tip.toIndex, 999), bundleQuery: { documents: facts.reportHash! } },
    );
    const file = join(c.workDir, 'audit-bundle.json');
    writeFileSync(file, JSON.stringify(bundle));
    // As an auditor without any TwinLedger service would: from the file alone.
    const v = verifyBlockBundle(JSON.parse(readFileSync(file, 'utf8')) as unknown);
    const feed = v.feeds?.find((f) => f.feedId === facts.newSensorFeedId);
    facts.audit = {
      ok: v.ok && (feed?.provenSegments ?? 0) > 0,
      checks: [
        ...v.checks.map((x) => ({ check: x.check, ok: x.ok, detail: `${x.count} covered` })),
        { check: 'the new sensor feed has proven segments', ok: (feed?.provenSegments ?? 0) > 0, detail: `${feed?.provenSegments ?? 0} segments, ${feed?.anchors ?? 0} anchors` },
      ],
    };
    facts.auditBundleFile = file;
    check(name, facts.audit.ok, `verification failed: ${v.failures.map((f) => `${f.code} ${f.reason}`).join('; ') || 'no proven segment of the new feed'}`);
    return `${v.checks.length} checks passed (blocks, signatures, endorsements, spec replay, report document, ${feed!.anchors} anchors, ${feed!.provenSegments} segments proven); config block ${v.configBlock?.headerHash.slice(0, 12)}...; bundle ${file}`;
  });

  await step(`Owner calls SetConveyorSpeed(speed=${SPEED_OK}); the device agent executes it`, async (name) => {
    // Idempotent per requestId (docs/api.md): a 504 OUTCOME_UNKNOWN is looked up by it.
    const requestId = `scenario-${c.twinId}-speed-${SPEED_OK}`;
    const w = await writeOrLookUp(
      name,
      () => request(spec(owner, '/program-calls'), { token: tok(owner), json: { program: 'SetConveyorSpeed', parameters: { speed: SPEED_OK }, requestId } }),
      () => request(spec(owner, `/program-calls/by-request/${encodeURIComponent(requestId)}`), { token: tok(owner) }),
    );
    if ('res' in w) expectStatus(name, w.res, 201);
    const callId = String('res' in w ? (w.res.json as { result: { callId: string | number } }).result.callId : (w.read.json as { callId: string | number }).callId);
    facts.callId = callId;
    const call = await agentWait(async () => {
      const r = await request(spec(owner, `/program-calls/${encodeURIComponent(callId)}`), { token: tok(owner) });
      const status = (r.json as { status?: string } | undefined)?.status;
      return status && status !== 'PENDING' ? (r.json as { status: string; acknowledgement?: { result?: unknown } }) : undefined;
    }, `${name}: acknowledgement of call ${callId}`);
    facts.callStatus = call.status;
    check(name, call.status === 'EXECUTED', `call ended ${call.status}: ${JSON.stringify(call.acknowledgement)}`);
    facts.plantSpeedAfterCall = (await plantState()).conveyorSpeed;
    check(name, facts.plantSpeedAfterCall === SPEED_OK, `plant conveyor speed is ${facts.plantSpeedAfterCall}`);
    return `call ${callId} EXECUTED, acknowledged on chain; plant conveyor at ${facts.plantSpeedAfterCall} m/s`;
  });

  await step(`Out-of-bounds call SetConveyorSpeed(speed=${SPEED_TOO_HIGH}) is refused`, async (name) => {
    const res = await request(spec(maintainer, '/program-calls'), { token: tok(maintainer), json: { program: 'SetConveyorSpeed', parameters: { speed: SPEED_TOO_HIGH } } });
    expectStatus(name, res, 400, 'OUT_OF_BOUNDS');
    const speed = (await plantState()).conveyorSpeed;
    check(name, speed === SPEED_OK, `plant speed changed to ${speed}`);
    facts.outOfBounds = { status: res.status, code: 'OUT_OF_BOUNDS', plantSpeed: speed };
    return `400 OUT_OF_BOUNDS from the chaincode's safety rules (max 2.5 m/s); nothing queued, plant still at ${speed} m/s`;
  });

  return { steps, facts, totalMs: Date.now() - t0 };
}
