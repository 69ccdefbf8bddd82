import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ledgerEnvOf, serviceEntry, startNetwork, startServiceProcess, testNetworkInit, type DevNetwork, type ServiceProcess } from '@twinledger/devnet';
import { peerIdOfDataDir } from '@twinledger/dht';
import { spawnTestNetwork, type TestNetwork } from '@twinledger/dht/testing';
import { createDevIssuer } from '@twinledger/service-kit';
import { median, type Suite, arg } from '../harness.js';

/**
 * The console's twin view on a large twin, in headless Chromium: a real 5,000-element AML
 * specification created on the real ledger through spec-service, and a feed of one million
 * readings ingested through feed-ingest (real Kafka, real DHT nodes), all served through the
 * console server's proxies as in a deployment.
 *   render_ms: from navigation to the twin's specification view until the (virtualized) tree
 *              shows its rows and counts: spec-service reads the AML from the ledger, the browser
 *              parses and flattens it.
 *   chart_ms:  from navigation to the feeds view until the history chart of the last hour of the
 *              million-reading feed is drawn (feed-ingest's downsampled series, 400 buckets).
 * Medians of `--runs` page loads (default 5) on a fresh page each. Arguments: `--elements <n>`
 * (5000), `--readings <n>` (1000000), `--runs <n>` (5), `--no-relay` (spec-service without its event relay).
 */

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export interface Proc {
  readonly url: string;
  readonly proc: ServiceProcess;
  readonly record: Readonly<Record<string, unknown>>;
}

/** A service's dist/server.js as a child process, resolved with its ready report. */
export async function startProcess(service: string, env: Record<string, string>): Promise<Proc> {
  const proc = await startServiceProcess({ name: service, entry: serviceEntry(service), env, readyTimeoutMs: 90_000 });
  return { url: proc.url, proc, record: proc.details };
}

export async function stopProcess(p: Proc | undefined): Promise<void> {
  await p?.proc.stop();
}

/**
 * A plant of `elements` InternalElements: lines of stations of devices, every device with two
 * attributes and an interface, the first device of a station with an expected range, every
 * fiftieth element a program with a bounded parameter. Returned as the CAEX document holding
 * the first line and the further lines as fragments (`document`, `lines`), and as one document
 * holding every line (`whole`: what `POST /twins` creates in chunks, ADR-14).
 */
export function largePlant(elements: number): { document: string; whole: string; lines: { id: string; aml: string }[] } {
  const lines: { id: string; aml: string }[] = [];
  let made = 0;
  for (let line = 0; made < elements; line++) {
    const out: string[] = [`<InternalElement Name="Line${line}" ID="line-${line}">`];
    made++;
    for (let s = 0; s < 10 && made < elements; s++) {
      out.push(`  <InternalElement Name="Station${line}-${s}" ID="st-${line}-${s}">`);
      made++;
      for (let d = 0; d < 10 && made < elements; d++) {
        const id = `dev-${line}-${s}-${d}`;
        out.push(`    <InternalElement Name="Device${line}-${s}-${d}" ID="${id}">`);
        made++;
        out.push(`      <Attribute Name="SerialNumber" AttributeDataType="xs:string"><Value>SN-${id}</Value></Attribute>`);
        if (d === 0) {
          out.push('      <Attribute Name="ExpectedMin" AttributeDataType="xs:double" Unit="bar"><Value>1.5</Value></Attribute>');
          out.push('      <Attribute Name="ExpectedMax" AttributeDataType="xs:double" Unit="bar"><Value>3</Value></Attribute>');
        } else {
          out.push(`      <Attribute Name="Rating" AttributeDataType="xs:double" Unit="kW"><Value>${(d * 1.5).toFixed(1)}</Value></Attribute>`);
        }
        out.push(`      <ExternalInterface Name="Signal" ID="${id}-signal" RefBaseClassPath="AutomationMLInterfaceClassLib/AutomationMLBaseInterface/Communication/SignalInterface"/>`);
        if (made % 50 === 0 && made < elements) {
          out.push(`      <InternalElement Name="SetSpeed" ID="prog-${id}">`);
          out.push('        <Attribute Name="speed" AttributeDataType="xs:double" Unit="m/s"><Constraint Name="bounds"><OrdinalScaledType><RequiredMaxValue>2.5</RequiredMaxValue><RequiredMinValue>0</RequiredMinValue></OrdinalScaledType></Constraint></Attribute>');
          out.push('        <RoleRequirements RefBaseRoleClassPath="TwinLedgerRoleClassLib/Program"/>');
          out.push('      </InternalElement>');
          made++;
        }
        out.push('    </InternalElement>');
      }
      out.push('  </InternalElement>');
    }
    out.push('</InternalElement>');
    lines.push({ id: `line-${line}`, aml: out.join('\n') });
  }
  const caex = (body: string): string =>
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<CAEXFile xmlns="http://www.dke.de/CAEX" SchemaVersion="3.0" FileName="large-plant.aml">',
      '  <SuperiorStandardVersion>AutomationML 2.10</SuperiorStandardVersion>',
      '  <InstanceHierarchy Name="LargePlant" ID="ih-large"><Version>1.0</Version>',
      body,
      '  </InstanceHierarchy>',
      '</CAEXFile>',
      '',
    ].join('\n');
  return { document: caex(lines[0]!.aml), whole: caex(lines.map((l) => l.aml).join('\n')), lines };
}

export const console_: Suite = {
  name: 'console',
  description: 'console twin view in headless Chromium: 5,000-element spec render and 1M-reading feed chart',
  async run({ log, args }) {
    const elements = arg(args, 'elements', 5000);
    const readingCount = arg(args, 'readings', 1_000_000);
    const runs = arg(args, 'runs', 5);
    const chromium = '/usr/bin/chromium';
    try {
      accessSync(chromium, constants.X_OK);
    } catch {
      const tools = (await import(join(ROOT, 'scripts/browser-tools.mjs'))) as { ensureChromium(): string };
      tools.ensureChromium();
    }
    const { default: playwright } = await import('playwright-core');

    const root = mkdtempSync(join(tmpdir(), 'bench-console-'));
    let net: DevNetwork | undefined;
    let dht: TestNetwork | undefined;
    const procs: Proc[] = [];
    let browser: Awaited<ReturnType<typeof playwright.chromium.launch>> | undefined;
    try {
      net = await startNetwork({ orgs: ['org1', 'org2'], kafka: true, ...testNetworkInit(), log });
      const org = net.orgs[0]!;
      const issuer = await createDevIssuer('https://idp.bench-console.local');
      writeFileSync(join(root, 'jwks.json'), JSON.stringify(issuer.jwks));
      writeFileSync(join(root, 'issuer.jwk'), JSON.stringify(await issuer.exportPrivate()), { mode: 0o600 });
      const ids = join(root, 'identities');
      mkdirSync(ids);
      symlinkSync(dirname(org.users[0]!.mspDir), join(ids, 'User1'));
      const auth = { AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: 'twinledger', AUTH_JWKS_FILE: join(root, 'jwks.json') };

      const spec = await startProcess(
        'spec-service',
        {
          ...auth,
          HOST: '127.0.0.1',
          PORT: '0',
          LOG_LEVEL: 'info',
          ...ledgerEnvOf(net, org),
          FABRIC_IDENTITIES_DIR: ids,
          // Not exercised here: documents. The event relay runs as deployed (it also keeps the
          // specifications viewed warm after writes, which render_after_write_ms shows);
          // `--no-relay` measures the read-through path instead.
          DHT_GATEWAY_URL: 'http://127.0.0.1:9',
          DHT_TOKEN_FILE: join(root, 'unused-dht.token'),
          KAFKA_BROKERS: net.kafka!.bootstrap,
          RELAY_ENABLED: args.includes('--no-relay') ? 'false' : 'true',
          DATA_DIR: join(root, 'spec-state'),
        },
      );
      procs.push(spec);

      // feed-ingest with its own DHT node, replicating to real DHT peers of both orgs.
      dht = await spawnTestNetwork({ orgs: ['Org1MSP', 'Org2MSP'] });
      await dht.connectAll();
      const feedData = join(root, 'feed-ingest');
      mkdirSync(join(feedData, 'dht'), { recursive: true });
      const ingestPeer = await peerIdOfDataDir(join(feedData, 'dht'));
      const o1 = dht.registry.get('Org1MSP')!;
      dht.registry.upsert({ ...o1, peerIds: [...o1.peerIds, ingestPeer] });
      writeFileSync(
        join(root, 'parties.json'),
        JSON.stringify(dht.registry.list().map((p) => ({ mspId: p.mspId, peerIds: [...p.peerIds], encryptionPublicKey: Buffer.from(p.encryptionPublicKey).toString('hex') }))),
      );
      writeFileSync(join(root, 'swarm.key'), dht.swarmKey);
      writeFileSync(join(root, 'org1.enc'), Buffer.from(dht.keys.get('Org1MSP')!.privateKey).toString('hex'), { mode: 0o600 });
      const feeds = await startProcess(
        'feed-ingest',
        {
          ...auth,
          HOST: '127.0.0.1',
          PORT: '0',
          LOG_LEVEL: 'info',
          MSP_ID: 'Org1MSP',
          // feed-ingest decides feed access on the ledger (issue #17), signing as the caller's identity.
          ...ledgerEnvOf(net, org),
          FABRIC_IDENTITIES_DIR: ids,
          SERVICE_IDENTITY: 'User1',
          DATA_DIR: feedData,
          KAFKA_BROKERS: net.kafka!.bootstrap,
          DHT_SWARM_KEY_FILE: join(root, 'swarm.key'),
          DHT_ENCRYPTION_KEY_FILE: join(root, 'org1.enc'),
          PARTY_REGISTRY_FILE: join(root, 'parties.json'),
          DHT_BOOTSTRAP: dht.nodes.map((n) => n.multiaddrs()[0]!).join(','),
          DHT_REPLICATION: '2',
        },
      );
      procs.push(feeds);
      const ingestAddr = (feeds.record['multiaddrs'] as string[])[0]!;
      await Promise.all(dht.nodes.map((n) => n.dial(ingestAddr).catch(() => undefined)));

      const consoleProc = await startProcess(
        'console',
        {
          ...auth,
          HOST: '127.0.0.1',
          PORT: '0',
          LOG_LEVEL: 'info',
          ORG_NAME: 'Org1',
          MSP_ID: org.mspId,
          SPEC_SERVICE_URL: spec.url,
          FEED_INGEST_URL: feeds.url,
          DEV_SIGNIN_KEY_FILE: join(root, 'issuer.jwk'),
          DEV_SIGNIN_USERS: 'maintainer=User1:MAINTAINER',
        },
      );
      procs.push(consoleProc);

      const token = await issuer.issue({ sub: 'bench', org: org.mspId, fabricIdentity: 'User1', audience: 'twinledger' });
      const api = async (path: string, body: unknown, contentType = 'application/json', method = 'POST'): Promise<Record<string, unknown>> => {
        const res = await fetch(`${consoleProc.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        });
        const json = (await res.json()) as Record<string, unknown>;
        if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
        return json;
      };

      const plant = largePlant(elements);
      let t = Date.now();
      // MVCC conflicts and a slow endorsement (503) are retried; an insert that committed
      // although its answer was lost shows up as DUPLICATE_ID on the retry.
      const submit = async (path: string, body: unknown): Promise<Record<string, unknown> | undefined> => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await api(path, body);
          } catch (err) {
            const msg = (err as Error).message;
            if (msg.includes('DUPLICATE_ID')) return undefined;
            if (attempt >= 5 || !/: (409|503) /.test(msg)) throw err;
            log(`retrying ${path} (${msg.slice(0, 120)})`);
          }
        }
      };
      // The whole plant in one POST (chunked creation, ADR-14): its programs are part of the
      // creation, whereas inserting them later would be a safety change needing another
      // organization's approval.
      const created = await submit('/api/spec/twins', { deviceId: `large-plant-${Date.now()}`, deviceName: `Large plant (${elements} elements)`, aml: plant.whole });
      const twinId = String((created!['result'] as { twinId: string }).twinId);
      log(`twin ${twinId}: ${elements} elements created in one POST (${(plant.whole.length / 1024).toFixed(0)} KiB of AML) in ${Date.now() - t} ms`);

      const feed = await api('/api/feeds/feeds', { twinId, componentId: 'dev-0-0-0', unit: 'bar', expectedRange: { min: 1.5, max: 3 }, acl: ['Org2MSP'] });
      const feedId = String(feed['feedId']);
      // The console lists a twin's feeds from the ledger (issue #26), as the device agent records them.
      await api(`/api/spec/twins/${encodeURIComponent(twinId)}/feeds/dev-0-0-0`, { feedRef: feedId }, 'application/json', 'PUT');
      // One million readings over the last 50 minutes (3 ms apart), a wave with excursions.
      const end = Date.now();
      const step = 3;
      const start = end - readingCount * step;
      t = Date.now();
      const batch = 10_000;
      for (let i = 0; i < readingCount; i += batch) {
        const lines: string[] = [];
        for (let k = i; k < Math.min(readingCount, i + batch); k++) {
          const v = k % 20_000 === 19_999 ? 3.4 : 2.2 + 0.5 * Math.sin(k / 5000);
          lines.push(JSON.stringify({ feed: feedId, component: 'dev-0-0-0', ts: start + k * step, v: Number(v.toFixed(4)), u: 'bar' }));
        }
        for (;;) {
          const res = await fetch(`${consoleProc.url}/api/feeds/readings`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
            body: lines.join('\n'),
          });
          if (res.status === 202) break;
          if (res.status !== 503) throw new Error(`ingest: ${res.status} ${await res.text()}`);
          await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? '1')));
        }
      }
      const lastTs = start + (readingCount - 1) * step;
      for (;;) {
        const res = await fetch(`${feeds.url}/feeds/${encodeURIComponent(feedId)}/latest`, { headers: { authorization: `Bearer ${token}` } });
        const body = res.ok ? ((await res.json()) as { reading: { ts: number } | null }) : undefined;
        if (body?.reading?.ts === lastTs) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      log(`feed ${feedId}: ${readingCount} readings ingested and readable from the DHT in ${Date.now() - t} ms`);

      // The API alone, for comparison: what the twin view waits for before it can draw anything.
      t = Date.now();
      const specRes = await fetch(`${consoleProc.url}/api/spec/twins/${encodeURIComponent(twinId)}/spec?format=json`, { headers: { authorization: `Bearer ${token}` } });
      const specBytes = (await specRes.arrayBuffer()).byteLength;
      const specColdMs = Date.now() - t;
      log(`GET spec?format=json (cold: assembled by the chaincode, parsed by spec-service): ${specRes.status}, ${(specBytes / 1024).toFixed(0)} KiB in ${specColdMs} ms`);
      // Again, at the same revision: spec-service asks the chaincode only for the caller's access
      // and the revision, and serves the tree it already built (what every page load below gets).
      t = Date.now();
      const specWarm = await fetch(`${consoleProc.url}/api/spec/twins/${encodeURIComponent(twinId)}/spec?format=json`, { headers: { authorization: `Bearer ${token}` } });
      await specWarm.arrayBuffer();
      const specWarmMs = Date.now() - t;
      log(`GET spec?format=json (same revision ${specWarm.headers.get('x-spec-revision') ?? '-'}): ${specWarm.status} in ${specWarmMs} ms`);
      t = Date.now();
      const seriesRes = await fetch(`${consoleProc.url}/api/feeds/feeds/${encodeURIComponent(feedId)}/series?from=${lastTs - 3_600_000}&to=${lastTs}&buckets=400`, { headers: { authorization: `Bearer ${token}` } });
      await seriesRes.arrayBuffer();
      log(`GET series (1 h, 400 buckets): ${seriesRes.status} in ${Date.now() - t} ms`);
      // What the page asks: the hour before the newest reading, anchored by feed-ingest (one call).
      t = Date.now();
      const anchoredRes = await fetch(`${consoleProc.url}/api/feeds/feeds/${encodeURIComponent(feedId)}/series?last=3600000&buckets=400`, { headers: { authorization: `Bearer ${token}` } });
      await anchoredRes.arrayBuffer();
      log(`GET series (last=1 h, 400 buckets, second read): ${anchoredRes.status} in ${Date.now() - t} ms`);

      browser = await playwright.chromium.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
      // bypassCSP: the console's CSP refuses the string expressions the waits evaluate.
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
      // Signed in as the console itself keeps it: the token in this tab's sessionStorage.
      await context.addInitScript({ content: `sessionStorage.setItem('twinledger.console.token', ${JSON.stringify(token)});` });
      const renders: number[] = [];
      const charts: number[] = [];
      let rows = 0;
      const measureRender = async (): Promise<number> => {
        const page = await context.newPage();
        const t0 = Date.now();
        await page.goto(`${consoleProc.url}/#/twins/${encodeURIComponent(twinId)}/spec`);
        await page.waitForSelector('[role="treeitem"]', { timeout: 120_000 }).catch(async (err: unknown) => {
          throw new Error(`the tree did not appear: ${(err as Error).message}; the page said: ${(await page.innerText('body')).slice(0, 1500)}`);
        });
        await page.waitForSelector('[data-testid="spec-summary"]');
        const ms = Date.now() - t0;
        rows = Number(await page.getAttribute('[role="tree"]', 'data-rows'));
        await page.close();
        return ms;
      };
      for (let run = 0; run < runs; run++) {
        renders.push(await measureRender());

        const page2 = await context.newPage();
        const t1 = Date.now();
        await page2.goto(`${consoleProc.url}/#/twins/${encodeURIComponent(twinId)}/feeds`);
        // The second chart of the feed panel is the history (the first is the live one).
        await page2
          .waitForFunction(`Number(document.querySelectorAll('canvas[data-testid="series-chart"]')[1]?.dataset.drawn ?? '0') > 0`, undefined, { timeout: 120_000 })
          .catch(async (err: unknown) => {
            throw new Error(`the chart was not drawn: ${(err as Error).message}; the page said: ${(await page2.innerText('body')).slice(0, 1500)}`);
          });
        charts.push(Date.now() - t1);
        await page2.close();
        log(`run ${run + 1}: render ${renders.at(-1)} ms (${rows} tree rows), chart ${charts.at(-1)} ms`);
      }
      // The first view after an edit: the revision moved, so spec-service reads the specification
      // from the chaincode and builds the tree again before the page gets it.
      await submit(`/api/spec/twins/${encodeURIComponent(twinId)}/elements`, { aml: `<InternalElement Name="Added" ID="added-${Date.now()}"/>`, parentId: 'ih-large' });
      const renderAfterWrite = await measureRender();
      log(`render after a write (new revision; relay ${args.includes('--no-relay') ? 'off, so the page read re-reads the specification' : 'on, so spec-service refreshes the viewed spec on the event of the write'}): ${renderAfterWrite} ms (${rows} tree rows)`);
      return {
        render_ms: median(renders),
        chart_ms: median(charts),
        elements,
        readings: readingCount,
        tree_rows: rows,
        render_after_write_ms: renderAfterWrite,
        spec_cold_ms: specColdMs,
        spec_warm_ms: specWarmMs,
      };
    } finally {
      await browser?.close().catch(() => undefined);
      for (const p of procs.reverse()) await stopProcess(p);
      await dht?.teardown().catch(() => undefined);
      await net?.stop();
      rmSync(root, { recursive: true, force: true });
    }
  },
};
