import { ErrorCodes } from '../src';
import { TWIN, expectRefusal, newWorld, who } from './support/world';

/** A CAEX document with n sensors under one parent. */
function bigSpec(n: number): string {
  const sensors = Array.from({ length: n }, (_, i) => `<InternalElement Name="S${i}" ID="s${i}"><Attribute Name="ExpectedMax" AttributeDataType="xs:double"><Value>${i}</Value></Attribute></InternalElement>`);
  return `<CAEXFile SchemaVersion="3.0" FileName="big.aml"><InstanceHierarchy Name="IH"><InternalElement Name="Line" ID="line">${sensors.join('')}</InternalElement></InstanceHierarchy></CAEXFile>`;
}

async function editCost(n: number) {
  const w = newWorld();
  await w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'big', bigSpec(n), '');
  const mid = `s${Math.floor(n / 2)}`;
  await w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, '<InternalElement Name="New" ID="new"/>', 'line', mid);
  const insert = { reads: w.ledger.lastTx.reads, writes: w.ledger.lastTx.writeCalls };
  await w.ledger.invoke(who.owner, w.spec, 'removeAML', TWIN, mid);
  const remove = { reads: w.ledger.lastTx.reads, writes: w.ledger.lastTx.writeCalls };
  const el = await w.ledger.invoke(who.owner, w.spec, 'getElement', TWIN, 'line');
  const order = [...(el.aml as string).matchAll(/ID="(s\d+|new)"/g)].map((m) => m[1]);
  return { insert, remove, order, w };
}

describe('element-granular storage', () => {
  it('an edit of a 5,000-element spec costs the same ledger operations as one of a 50-element spec', async () => {
    const small = await editCost(50);
    const big = await editCost(5000);
    expect(big.insert).toEqual(small.insert);
    expect(big.remove).toEqual(small.remove);
    // And a handful, not thousands.
    expect(big.insert.reads).toBeLessThan(10);
    expect(big.insert.writes).toBeLessThan(10);
    expect(big.order.slice(2499, 2502)).toEqual(['s2499', 'new', 's2501']);
    expect(big.order).toHaveLength(5000);
  });

  it('an edit is a handful of round trips to the peer, and a complete scan closes nothing', async () => {
    const small = await editCost(50);
    const w = small.w;
    await w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, '<InternalElement Name="N2" ID="n2"/>', 'line', '');
    const insert = w.ledger.lastTx;
    // Twin, two grant scans, parent, duplicate ID, the parent's children; element, child
    // index, change order (the header, carrying the change's writes), spec revision. The peer
    // releases a query's iterator with its last batch (and every other one at the
    // transaction's end): no QUERY_STATE_CLOSE.
    expect({ reads: insert.reads, writes: insert.writeCalls, closes: insert.closes }).toEqual({ reads: 6, writes: 4, closes: 0 });
    await w.ledger.invoke(who.owner, w.spec, 'addDocument', TWIN, JSON.stringify({ hash: 'ab'.repeat(32), dhtRef: 'dht:1', title: 'D', componentId: 'line', confidentiality: 'internal' }));
    const add = w.ledger.lastTx;
    expect({ reads: add.reads, writes: add.writeCalls, closes: add.closes }).toEqual({ reads: 5, writes: 4, closes: 0 });
  });

  it('refuses a document over the element limit', async () => {
    const w = newWorld();
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'big', bigSpec(20_001), ''), ErrorCodes.TOO_LARGE);
  });
});
