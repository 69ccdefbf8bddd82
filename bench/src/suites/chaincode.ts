import { createFabricClient, createPeerConnectionPool, loadIdentity, MvccConflictError, type FabricClient } from '@twinledger/fabric-client';
import { startNetwork, testNetworkInit, type Consensus, type DevNetwork } from '@twinledger/devnet';
import { createTwinLedger, Limits, type TwinLedger } from '@twinledger/ledger';
import { median, percentile, type Suite, arg } from '../harness.js';

/**
 * Chaincode cost on a real two-org network, through the Gateway (endorsed by both orgs'
 * peers, ordered, committed):
 * - committed tx/s and p50/p99 commit latency of insertAML and addDocument against trivial
 *   `diag:put` transactions measured in the same run (interleaved rounds), with bounded
 *   concurrency; and each one's chaincode execution time alone;
 * - the cost of editing one element of a 5,000-element specification against a 50-element
 *   one: commit latency of insert+remove, and the chaincode's execution time alone
 *   (evaluating the same proposal on one peer, without ordering).
 * Arguments: `--tx <n>` transactions per kind (default 400), `--rounds <n>` (4),
 * `--concurrency <n>` (24), `--edits <n>` sequential edits per scale point (20).
 *
 * `--consensus bft` (issue #23) measures the same throughput phases on two four-organization
 * networks one after the other, Raft first, then SmartBFT (BFT needs four consenters; Raft gets
 * the same four orgs so only the ordering differs), and the scale points on the BFT one. The
 * BENCH line then carries `consensus=bft` and `raft_ratio` = BFT insertAML tx/s over Raft's.
 */

interface Phase {
  readonly tps: number;
  readonly p50: number;
  readonly p99: number;
  readonly seconds: number;
  readonly latencies: readonly number[];
  readonly conflicts: number;
}

/** Runs `total` operations with at most `concurrency` in flight; op(i, worker) commits one tx. */
async function phase(total: number, concurrency: number, op: (i: number, worker: number) => Promise<unknown>): Promise<Phase> {
  const latencies: number[] = [];
  let next = 0;
  let conflicts = 0;
  const t0 = performance.now();
  const worker = async (w: number): Promise<void> => {
    for (let i = next++; i < total; i = next++) {
      const s = performance.now();
      try {
        await op(i, w);
        latencies.push(performance.now() - s);
      } catch (err) {
        // A lost read conflict is a measured outcome (not committed), anything else a bug.
        if (!(err instanceof MvccConflictError)) throw err;
        conflicts++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - t0) / 1000;
  return { tps: latencies.length / seconds, p50: median(latencies), p99: percentile(latencies, 99), seconds, latencies, conflicts };
}

const el = (id: string, inner = ''): string =>
  `<InternalElement Name="E${id}" ID="${id}"><Attribute Name="SerialNumber" AttributeDataType="xs:string"><Value>SN-${id}</Value></Attribute>${inner}</InternalElement>`;

/** A CAEX 3.0 document: one hierarchy with `areas` top elements (their children come later). */
function caex(name: string, areas: number, childrenPerArea = 0): string {
  const body = Array.from({ length: areas }, (_, a) => el(`a${a}`, Array.from({ length: childrenPerArea }, (_, c) => el(`a${a}-c${c}`)).join(''))).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><CAEXFile xmlns="http://www.dke.de/CAEX" SchemaVersion="3.0" FileName="${name}.aml"><InstanceHierarchy Name="H" ID="ih">${body}</InstanceHierarchy></CAEXFile>`;
}

/** Builds a twin of exactly `total` InternalElements: 50 areas, the rest inserted in fragments. */
async function buildTwin(ledger: TwinLedger, twinId: string, total: number, log: (l: string) => void): Promise<void> {
  const areas = 50;
  await ledger.createTwin(twinId, twinId, caex(twinId, areas));
  const perArea = Math.floor((total - areas) / areas);
  // Fragments stay under the chaincode's 2,000-element and 512 KiB limits.
  const areasPerBatch = Math.max(1, Math.floor(Math.min(Limits.MAX_ELEMENTS_PER_FRAGMENT, 1000) / Math.max(1, perArea)));
  for (let a = 0; a < areas && perArea > 0; a++) {
    const children = Array.from({ length: perArea }, (_, c) => el(`a${a}-c${c}`)).join('');
    await ledger.insertAML(twinId, children, `a${a}`);
    if (a % areasPerBatch === areasPerBatch - 1) log(`${twinId}: ${areas + (a + 1) * perArea} elements`);
  }
  const t0 = performance.now();
  const count = (await ledger.getSpecification(twinId)).aml.split('<InternalElement ').length - 1;
  log(`${twinId}: getSpecification of ${count} elements took ${(performance.now() - t0).toFixed(0)} ms`);
  if (count !== total) throw new Error(`${twinId} has ${count} elements, expected ${total}`);
}

interface Throughput {
  readonly tps: number;
  readonly p50: number;
  readonly p99: number;
  readonly conflicts: number;
}

/** insertAML, addDocument and diag:put committed in interleaved rounds on a fresh twin. */
async function throughput(
  client: FabricClient,
  ledger: TwinLedger,
  tput: string,
  o: { readonly n: number; readonly rounds: number; readonly concurrency: number; readonly run: string },
  log: (l: string) => void,
): Promise<{ trivial: Throughput; insert: Throughput; addDoc: Throughput }> {
  const { n, rounds, concurrency, run } = o;
  // Throughput twin: one parent element per insert, so concurrent inserts touch disjoint
  // keys, and no insert depends on an earlier one of the phase. (The Gateway endorses on
  // both orgs' peers; the second peer may not have committed the block the first one
  // reported yet, so a chain of dependent writes would be refused with NOT_FOUND there.)
  await ledger.createTwin(tput, tput, caex(tput, n));

  // Warm up every path once (chaincode JIT, gRPC channels).
  await client.submit('diag:put', [`warm-${run}`, 'x']);

  // The three kinds run in rounds, in a rotating order, so that load from elsewhere on the
  // machine (these 2 cores are shared) falls on all of them alike.
  const kinds = {
    trivial: (i: number) => client.submit('diag:put', [`b-${run}-${i}`, `value-${i}`]),
    insert: (i: number) => ledger.insertAML(tput, el(`e${i}`), `a${i}`),
    addDoc: (i: number) =>
      ledger.addDocument(tput, {
        hash: (BigInt(i) + 1n).toString(16).padStart(64, '0'),
        dhtRef: `dht://bench/${run}/${i}`,
        title: `Document ${i}`,
        componentId: `a${i}`,
        confidentiality: 'internal',
      }),
  } as const;
  type Kind = keyof typeof kinds;
  const order: Kind[] = ['trivial', 'insert', 'addDoc'];
  const per = Math.ceil(n / rounds);
  const acc: Record<Kind, { seconds: number; latencies: number[]; conflicts: number }> = {
    trivial: { seconds: 0, latencies: [], conflicts: 0 },
    insert: { seconds: 0, latencies: [], conflicts: 0 },
    addDoc: { seconds: 0, latencies: [], conflicts: 0 },
  };
  log(`${rounds} rounds of ${per} tx per kind, ${concurrency} in flight`);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < order.length; k++) {
      const kind = order[(r + k) % order.length]!;
      const res = await phase(per, concurrency, (i) => kinds[kind](r * per + i));
      acc[kind].seconds += res.seconds;
      acc[kind].latencies.push(...res.latencies);
      acc[kind].conflicts += res.conflicts;
      log(`  round ${r + 1} ${kind}: ${res.tps.toFixed(1)} tx/s, p50 ${res.p50.toFixed(0)} ms`);
    }
  }
  const stats = (kind: Kind) => {
    const a = acc[kind];
    return { tps: a.latencies.length / a.seconds, p50: median(a.latencies), p99: percentile(a.latencies, 99), conflicts: a.conflicts };
  };
  const trivial = stats('trivial');
  const insert = stats('insert');
  const addDoc = stats('addDoc');
  for (const [k, v] of Object.entries({ trivial, insertAML: insert, addDocument: addDoc })) {
    log(`${k}: ${v.tps.toFixed(1)} tx/s, p50 ${v.p50.toFixed(0)} ms, p99 ${v.p99.toFixed(0)} ms, ${v.conflicts} conflicts`);
  }
  return { trivial, insert, addDoc };
}

/** `--consensus raft|bft`; absent: the two-organization Raft network of the ratio goal (#20). */
function consensusArg(args: readonly string[]): Consensus | undefined {
  const i = args.indexOf('--consensus');
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v !== 'raft' && v !== 'bft') throw new Error('--consensus needs raft or bft');
  return v;
}

/** A network of `orgs` organizations with `consensus`, a client of the first org, and its ledger. */
async function open(orgs: readonly string[], consensus: Consensus | undefined, log: (l: string) => void) {
  const net: DevNetwork = await startNetwork({ orgs, kafka: false, ...(consensus ? { consensus } : {}), ...testNetworkInit(), log });
  const pool = createPeerConnectionPool();
  const o1 = net.orgs[0]!;
  const client = createFabricClient({ pool, peer: o1.peer, identity: await loadIdentity(o1.users[0]!), channel: net.channel, chaincode: net.chaincode,
    // Assembling a 5,000-element specification takes longer than the 5 s default.
    deadlines: { evaluateMs: 120_000 } });
  const close = async () => {
    client.close();
    pool.close();
    await net.stop();
  };
  return { net, client, ledger: createTwinLedger(client), close };
}

export const chaincode: Suite = {
  name: 'chaincode',
  description: 'insertAML/addDocument tx/s and latency vs trivial diag:put; edit cost at 5,000 vs 50 elements',
  async run({ log, args }) {
    const n = arg(args, 'tx', 400);
    const concurrency = arg(args, 'concurrency', 24);
    const edits = arg(args, 'edits', 20);
    const rounds = arg(args, 'rounds', 4);
    if (edits > 25) throw new Error('--edits: at most 25 (two rounds over the 50 areas)');
    const bft = consensusArg(args) === 'bft';
    const run = Date.now().toString(36);
    // The baseline BFT is compared with: the same four organizations ordering with Raft.
    let raft: { trivial: Throughput; insert: Throughput; addDoc: Throughput } | undefined;
    if (bft) {
      log('Raft baseline: four organizations');
      const r = await open(['org1', 'org2', 'org3', 'org4'], 'raft', log);
      try {
        raft = await throughput(r.client, r.ledger, `bench-raft-${run}`, { n, rounds, concurrency, run: `r${run}` }, log);
      } finally {
        await r.close();
      }
      log(`Raft: insertAML ${raft.insert.tps.toFixed(1)} tx/s, p99 ${raft.insert.p99.toFixed(0)} ms; now SmartBFT`);
    }
    const { net, client, ledger, close } = await open(bft ? ['org1', 'org2', 'org3', 'org4'] : ['org1', 'org2'], bft ? 'bft' : undefined, log);
    try {
      const tput = `bench-tput-${run}`;
      const { trivial, insert, addDoc } = await throughput(client, ledger, tput, { n, rounds, concurrency, run }, log);
      const trivialTps = trivial.tps;

      // Chaincode execution alone (one peer simulates, nothing is ordered), sequential.
      const exec = async (fn: string, args: (i: number) => string[]): Promise<number> => {
        const t: number[] = [];
        for (let i = 0; i < 30; i++) {
          const s = performance.now();
          await client.evaluate(fn, args(i));
          t.push(performance.now() - s);
        }
        return median(t);
      };
      const execTrivial = await exec('diag:put', (i) => [`x-${run}-${i}`, 'v']);
      const execInsert = await exec('spec:insertAML', (i) => [tput, el(`x${i}`), `a${i}`, '']);
      const execDoc = await exec('spec:addDocument', (i) => [
        tput,
        JSON.stringify({ hash: 'f'.repeat(60) + String(1000 + i), dhtRef: 'dht://x', title: 'x', componentId: `a${i}`, confidentiality: 'internal' }),
      ]);
      log(`execution alone (median of 30, one peer, incl. gRPC): diag:put ${execTrivial.toFixed(1)} ms, insertAML ${execInsert.toFixed(1)} ms, addDocument ${execDoc.toFixed(1)} ms`);

      // Scale: the same one-element edit on a 50- and a 5,000-element specification.
      const small = `bench-s50-${run}`;
      const big = `bench-s5000-${run}`;
      log('building the 50-element and the 5,000-element twins');
      await buildTwin(ledger, small, 50, log);
      await buildTwin(ledger, big, 5_000, log);
      // Each edit inserts one element as the first child of a different area, so no edit
      // depends on the previous one (see the throughput twin above).
      const editCost = async (twinId: string, round: string, from: number): Promise<{ commit: number; exec: number }> => {
        const commit: number[] = [];
        const exec: number[] = [];
        for (let i = 0; i < edits; i++) {
          const fragment = el(`edit-${round}-${i}`);
          const args = [twinId, fragment, `a${from + i}`, ''];
          // Execution alone: the chaincode simulates the insert on one peer, nothing is ordered.
          let s = performance.now();
          await client.evaluate('spec:insertAML', args);
          exec.push(performance.now() - s);
          s = performance.now();
          await ledger.insertAML(twinId, fragment, `a${from + i}`, '');
          commit.push(performance.now() - s);
        }
        return { commit: median(commit), exec: median(exec) };
      };
      await editCost(small, 'warm', 0); // warm-up of the edit path
      const at50 = await editCost(small, 'm', edits);
      const at5000 = await editCost(big, 'm', edits);
      log(`edit one element: 50 elements commit ${at50.commit.toFixed(1)} ms, exec ${at50.exec.toFixed(1)} ms; 5,000 elements commit ${at5000.commit.toFixed(1)} ms, exec ${at5000.exec.toFixed(1)} ms`);
      log(`execution-only ratio 5,000/50: ${(at5000.exec / at50.exec).toFixed(2)}`);

      return {
        insert_tps: insert.tps,
        add_doc_tps: addDoc.tps,
        trivial_tps: trivialTps,
        ratio: Math.min(insert.tps, addDoc.tps) / trivialTps,
        p99_ms: Math.max(insert.p99, addDoc.p99),
        scale_ratio: at5000.commit / at50.commit,
        ...(raft
          ? {
              consensus: net.consensus ?? 'bft',
              insert_p99_ms: insert.p99,
              raft_insert_tps: raft.insert.tps,
              raft_insert_p99_ms: raft.insert.p99,
              raft_ratio: insert.tps / raft.insert.tps,
            }
          : {}),
      };
    } finally {
      await close();
    }
  },
};
