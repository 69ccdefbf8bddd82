import { ErrorCodes } from '../src';
import { expectRefusal, hash, TWIN, who, worldWithTwin, type World } from './support/world';

/*
 * Issue #20 item 4: lists, history and as-of page with bookmarks and never answer a cut result
 * without saying so. The fake ledger applies the peer's ledger.state.totalQueryLimit the way
 * the peer does: a non-paginated range query or key history simply stops there, no error.
 */

const doc = (n: number) => JSON.stringify({ hash: hash(n), dhtRef: `dht:${n}`, title: `Doc ${n}`, description: '', confidentiality: 'public' });
const el = (id: string): string => `<InternalElement Name="E-${id}" ID="${id}"/>`;

interface Page<T> {
  items: T[];
  bookmark: string;
}

/** Every page of a list function, following bookmarks; fails the test on a loop. */
async function allPages<T>(w: World, fn: string, args: string[], pageSize: string): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let bookmark = '';
  for (let pages = 1; pages <= 100; pages++) {
    const page = (await w.ledger.invoke(who.owner, w.spec, fn as 'listDocuments', ...args, pageSize, bookmark)) as Page<T>;
    expect(page.items.length).toBeLessThanOrEqual(Number(pageSize));
    items.push(...page.items);
    if (!page.bookmark) return { items, pages };
    bookmark = page.bookmark;
  }
  throw new Error(`${fn} did not end within 100 pages`);
}

async function historyPages(w: World, elementId: string, pageSize: string): Promise<{ seq: number; txId: string }[]> {
  const out: { seq: number; txId: string }[] = [];
  let bookmark = '';
  for (let i = 0; i < 100; i++) {
    const h = await w.ledger.invoke(who.auditor, w.spec, 'history', TWIN, elementId, pageSize, bookmark);
    expect(h.changes.length).toBeLessThanOrEqual(Number(pageSize));
    out.push(...h.changes);
    if (!h.bookmark) return out;
    bookmark = h.bookmark;
  }
  throw new Error('history did not end within 100 pages');
}

describe('lists page with bookmarks', () => {
  it('25 documents in pages of 10: three pages, none missing or twice, even above the peer query limit', async () => {
    const w = await worldWithTwin();
    for (let n = 1; n <= 25; n++) await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, doc(n));
    w.ledger.totalQueryLimit = 15;
    const { items, pages } = await allPages<{ hash: string }>(w, 'listDocuments', [TWIN], '10');
    expect(pages).toBe(3);
    expect(items.map((d) => d.hash)).toEqual(Array.from({ length: 25 }, (_, i) => hash(i + 1)).sort());
  });

  it('defaults to 100 per page and refuses a page size outside 1..1000', async () => {
    const w = await worldWithTwin();
    const first = await w.ledger.invoke(who.owner, w.acl, 'listGrants', TWIN, '', '');
    expect(first).toMatchObject({ bookmark: '' });
    expect(first.items.length).toBeGreaterThan(0);
    for (const bad of ['0', '1001', '-1', '1.5', 'ten']) {
      await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'listDocuments', TWIN, bad, ''), ErrorCodes.VALIDATION_FAILED);
    }
  });

  it("refuses a bookmark that points outside the list (another twin's documents)", async () => {
    const w = await worldWithTwin();
    // A twin whose ID sorts before TWIN, with a secret document the owner of TWIN may not read.
    await w.ledger.invoke(who.maintainer, w.spec, 'createTwin', 'a-other-twin', 'Other', '<CAEXFile SchemaVersion="3.0" FileName="o.aml"><InstanceHierarchy Name="H" ID="h"/></CAEXFile>', '');
    await w.ledger.invoke(who.maintainer, w.spec, 'addDocument', 'a-other-twin', doc(99));
    await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, doc(1));
    const foreign = Buffer.from(`\u0000tl.doc\u0000a-other-twin\u0000${hash(99)}\u0000`, 'utf8').toString('base64url');
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'listDocuments', TWIN, '10', foreign), ErrorCodes.VALIDATION_FAILED);
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'listDocuments', TWIN, '10', 'not base64 !'), ErrorCodes.VALIDATION_FAILED);
  });

  it('a bookmark never names a record the caller was not shown, and a filtered page is full unless it is the last', async () => {
    const w = await worldWithTwin();
    // Secret documents (the auditor reads up to confidential) between public ones.
    const secret = (n: number) => n % 3 !== 0;
    for (let n = 1; n <= 30; n++) {
      await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, JSON.stringify({ ...JSON.parse(doc(n)), confidentiality: secret(n) ? 'secret' : 'public' }));
    }
    const hidden = Array.from({ length: 30 }, (_, i) => i + 1).filter(secret).map(hash);
    for (const size of ['1', '3', '4']) {
      const shown: string[] = [];
      let bookmark = '';
      for (let pages = 0; pages < 50; pages++) {
        const page = (await w.ledger.invoke(who.auditor, w.spec, 'listDocuments', TWIN, size, bookmark)) as Page<{ hash: string }>;
        shown.push(...page.items.map((d) => d.hash));
        if (!page.bookmark) break;
        expect(page.items).toHaveLength(Number(size));
        const named = Buffer.from(page.bookmark, 'base64url').toString('utf8');
        for (const h of hidden) expect(named).not.toContain(h);
        bookmark = page.bookmark;
      }
      expect(shown).toEqual(Array.from({ length: 10 }, (_, i) => hash(3 * (i + 1))).sort());
    }
    // The same for twins: without the everyone-READER grant the outsider holds none, so
    // listTwins shows nothing and names nothing.
    await w.ledger.invoke(who.owner, w.acl, 'revoke', TWIN, JSON.stringify({ mspId: '*', role: 'READER' }));
    expect(await w.ledger.invoke(who.outsider, w.spec, 'listTwins', '1', '')).toEqual({ items: [], bookmark: '' });
  });

  it('answers a bookmark it issued, however long the key (a grant to a 2,000-character identity)', async () => {
    const w = await worldWithTwin();
    const long = `x509::/C=US/O=Maintainer/CN=${'\u00e9'.repeat(1900)}::/CN=ca`;
    await w.ledger.invoke(who.owner, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'MaintainerMSP', identity: long, role: 'AUDITOR' }));
    const grants: unknown[] = [];
    let bookmark = '';
    for (let pages = 0; pages < 50; pages++) {
      const page = (await w.ledger.invoke(who.owner, w.acl, 'listGrants', TWIN, '1', bookmark)) as Page<unknown>;
      grants.push(...page.items);
      if (!page.bookmark) break;
      bookmark = page.bookmark;
    }
    expect(grants).toContainEqual(expect.objectContaining({ identity: long }));
    expect(grants.length).toBe(((await w.ledger.invoke(who.owner, w.acl, 'listGrants', TWIN, '1000', '')) as Page<unknown>).items.length);
  });

  it('pages twins, parties and namespaces the same way', async () => {
    const w = await worldWithTwin();
    const page = await w.ledger.invoke(who.owner, w.spec, 'listTwins', '1', '');
    expect(page).toEqual({ items: [expect.objectContaining({ twinId: TWIN })], bookmark: '' });
    expect(await w.ledger.invoke(who.owner, w.acl, 'listParties', '', '')).toEqual({ items: [], bookmark: '' });
    expect(await w.ledger.invoke(who.owner, w.acl, 'listDeviceNamespaces', '', '')).toEqual({ items: [], bookmark: '' });
  });
});

describe('history pages by sequence number', () => {
  it('31 changes in pages of 10: every seq once, in ledger order', async () => {
    const w = await worldWithTwin();
    const txIds = [w.ledger.lastTx.txId];
    for (let i = 1; i <= 30; i++) {
      await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, doc(i));
      txIds.push(w.ledger.lastTx.txId);
    }
    const changes = await historyPages(w, '', '10');
    expect(changes.map((c) => c.seq)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    expect(changes.map((c) => c.txId)).toEqual(txIds);
  });

  it('an element history pages over the changes that touched it', async () => {
    const w = await worldWithTwin();
    for (let i = 1; i <= 6; i++) {
      await w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, el('spare'), 'filler-1', '');
      await w.ledger.invoke(who.owner, w.spec, 'removeAML', TWIN, 'spare');
    }
    const changes = await historyPages(w, 'spare', '5');
    expect(changes.map((c) => c.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
  });

  it('a change log longer than the peer returns is an explicit TOO_LARGE, never a shorter history', async () => {
    const w = await worldWithTwin();
    for (let i = 1; i <= 30; i++) await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, doc(i));
    // The peer now cuts every key history at 20 modifications, silently.
    w.ledger.totalQueryLimit = 20;
    let answer: { changes: { seq: number }[] } | undefined;
    try {
      answer = await w.ledger.invoke(who.auditor, w.spec, 'history', TWIN, '', '1000', '');
    } catch (e) {
      expect(e).toMatchObject({ code: ErrorCodes.TOO_LARGE });
    }
    // Whatever it answers, it is never 20 changes presented as the whole history.
    expect(answer).toBeUndefined();
    await expect(w.ledger.invoke(who.auditor, w.spec, 'getTwinAsOf', TWIN, 'seq:1')).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE });
  });

  it("a document's history cut by the peer is TOO_LARGE, never a shorter history", async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, doc(1));
    for (let v = 2; v <= 6; v++) await w.ledger.invoke(who.owner, w.spec, 'addDocumentVersion', TWIN, hash(1), hash(100 + v), `dht:v${v}`);
    expect((await w.ledger.invoke(who.auditor, w.spec, 'getDocumentHistory', TWIN, hash(1), '', '')).ledgerHistory).toHaveLength(6);
    w.ledger.totalQueryLimit = 4;
    await expect(w.ledger.invoke(who.auditor, w.spec, 'getDocumentHistory', TWIN, hash(1), '2', '')).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE });
  });

  it('refuses a bookmark that is not a sequence number', async () => {
    const w = await worldWithTwin();
    for (const bad of ['0', 'x', '1e3', '-2']) {
      await expectRefusal(w, w.ledger.invoke(who.auditor, w.spec, 'history', TWIN, '', '10', bad), ErrorCodes.VALIDATION_FAILED);
    }
  });
});

const CHGW = '\u0000tl.chgw\u0000';
const changeLogKeys = (w: World, txId: string): string[] => [...w.ledger.state.keys()].filter((k) => k.startsWith(`${CHGW}${TWIN}\u0000${txId}\u0000`)).sort();

/** A CAEX document of n sensors with a long attribute each (about 0.5 KB of state per element). */
function wideSpec(n: number): string {
  const note = 'x'.repeat(400);
  const sensors = Array.from({ length: n }, (_, i) => `<InternalElement Name="S${i}" ID="s${i}"><Attribute Name="Note" AttributeDataType="xs:string"><Value>${note}</Value></Attribute></InternalElement>`);
  return `<CAEXFile SchemaVersion="3.0" FileName="wide.aml"><InstanceHierarchy Name="IH"><InternalElement Name="Line" ID="line">${sensors.join('')}</InternalElement></InstanceHierarchy></CAEXFile>`;
}

const ORDER = (twinId: string) => `\u0000tl.order\u0000${twinId}\u0000`;
const bytesJson = (b: Uint8Array | undefined) => JSON.parse(Buffer.from(b as Uint8Array).toString('utf8'));

describe('the change log: inline, packed, bounded, complete', () => {
  it("an edit's writes ride in its header (no change-log key), and no answer shows them", async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, JSON.stringify({ hash: hash(1), dhtRef: 'dht:1', title: 'Secret', confidentiality: 'confidential' }));
    expect(changeLogKeys(w, w.ledger.lastTx.txId)).toHaveLength(0);
    const header = bytesJson(w.ledger.state.get(ORDER(TWIN)));
    // The document, its first version and its hash index, in the order the transaction wrote them.
    expect(header.log.map((x: { key: string }) => x.key.split('\u0000')[1])).toEqual(['tl.doc', 'tl.docv', 'tl.dochash']);
    // Another member reading as READER (spec:read, public documents only) sees the change,
    // never its content.
    const h = await w.ledger.invoke(who.outsider, w.spec, 'history', TWIN, '', '', '');
    expect(h.changes.length).toBeGreaterThan(1);
    for (const c of h.changes) expect(c).not.toHaveProperty('log');
    expect(JSON.stringify(h)).not.toContain('Secret');
    const past = await w.ledger.invoke(who.outsider, w.spec, 'getTwinAsOf', TWIN, 'seq:2');
    expect(JSON.stringify(past)).not.toContain('Secret');
    expect((await w.ledger.invoke(who.owner, w.spec, 'getTwinAsOf', TWIN, 'seq:2')).documents.map((d: { title: string }) => d.title)).toEqual(['Secret']);
  });

  it('a large change is logged in bounded chunks and replays whole, even when the peer answers one key per query', async () => {
    const { newWorld } = await import('./support/world');
    const w = newWorld();
    await w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'wide', wideSpec(2000), '');
    const keys = changeLogKeys(w, w.ledger.lastTx.txId);
    expect(keys.length).toBeGreaterThan(2);
    expect(bytesJson(w.ledger.state.get(ORDER(TWIN)))).not.toHaveProperty('log');
    let writes = 0;
    for (const k of keys) {
      const bytes = w.ledger.state.get(k) as Uint8Array;
      // The bound plus the one write that crosses it, plus the JSON around them.
      expect(bytes.length).toBeLessThan(256 * 1024 + 4 * 1024);
      writes += bytesJson(bytes).writes.length;
    }
    expect(writes).toBeGreaterThan(2000);
    const live = (await w.ledger.invoke(who.owner, w.spec, 'getSpecification', TWIN)).aml;
    w.ledger.totalQueryLimit = 1;
    expect((await w.ledger.invoke(who.owner, w.spec, 'getTwinAsOf', TWIN, 'seq:1')).specification).toBe(live);
    // A chunk lost: the replay is refused, never a part of the change.
    w.ledger.state.delete(keys[1] as string);
    await expect(w.ledger.invoke(who.owner, w.spec, 'getTwinAsOf', TWIN, 'seq:1')).rejects.toMatchObject({ code: ErrorCodes.INVALID_STATE });
  });

  it('replays changes logged one key per write (a channel upgraded from the layout before chunks)', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, el('spare-1'), 'filler-1', '');
    const live = (await w.ledger.invoke(who.owner, w.spec, 'getSpecification', TWIN)).aml;
    // Rewrite the log as the old layout had it: no writes in headers, one key per write.
    for (const entry of w.ledger.history.get(ORDER(TWIN)) ?? []) {
      const header = bytesJson(entry.value);
      let writes: unknown[] = header.log ?? [];
      delete header.log;
      entry.value = Buffer.from(JSON.stringify(header));
      for (const k of changeLogKeys(w, entry.txId)) {
        writes = [...writes, ...bytesJson(w.ledger.state.get(k)).writes];
        w.ledger.state.delete(k);
      }
      expect(writes).toHaveLength(header.writes);
      writes.forEach((one, n) => w.ledger.state.set(`${CHGW}${TWIN}\u0000${entry.txId}\u0000${String(n).padStart(6, '0')}\u0000`, Buffer.from(JSON.stringify(one))));
    }
    expect((await w.ledger.invoke(who.auditor, w.spec, 'getTwinAsOf', TWIN, 'seq:2')).specification).toBe(live);
  });
});

describe('as-of is complete or refused', () => {
  it('replays the whole change log even when it is longer than one peer query answers', async () => {
    const w = await worldWithTwin();
    await w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, el('spare-1'), 'filler-1', '');
    const live = (await w.ledger.invoke(who.owner, w.spec, 'getSpecification', TWIN)).aml;
    // createTwin alone logged far more writes than this: a cut replay would lose elements.
    w.ledger.totalQueryLimit = 25;
    const past = await w.ledger.invoke(who.auditor, w.spec, 'getTwinAsOf', TWIN, 'seq:2');
    expect(past.specification).toBe(live);
  });
});

describe('the fake peer keeps paginated queries read-only', () => {
  it('refuses a write after a paginated query, as the peer does', async () => {
    const w = await worldWithTwin();
    const stub = (await import('./support/fake-ledger')).FakeStub;
    const s = new stub(w.ledger, 'f'.repeat(64), { seconds: 1, nanos: 0 });
    await s.getStateByPartialCompositeKeyWithPagination('tl.doc', [TWIN], 10, '');
    await expect(s.putState('k', new Uint8Array([1]))).rejects.toThrow(/Writes are not allowed/);
  });
});
