import { ErrorCodes, Limits } from '../src';
import { parseCaexDocument } from '../src/aml/caex';
import { TWIN, expectRefusal, newWorld, who, type World } from './support/world';

/**
 * Limits of the assembled specification (issue #20): each fragment below is acceptable on its
 * own, yet the specification it would join must stay readable by every reader of the project,
 * which holds it to the same nesting limit as a document (parseCaexDocument here,
 * `@twinledger/aml` readSpecification in the services and the device agent).
 */

const ie = (id: string, inner = ''): string => `<InternalElement Name="N${id}" ID="${id}">${inner}</InternalElement>`;
const nestedAttributes = (n: number): string => `${'<Attribute Name="a">'.repeat(n)}${'</Attribute>'.repeat(n)}`;
const chain = (n: number, prefix: string): string => `${Array.from({ length: n }, (_, i) => `<InternalElement Name="E" ID="${prefix}${i}">`).join('')}${'</InternalElement>'.repeat(n)}`;
const doc = (hierarchy: string): string => `<CAEXFile SchemaVersion="3.0" FileName="t.aml"><InstanceHierarchy Name="IH" ID="ih">${hierarchy}</InstanceHierarchy></CAEXFile>`;

async function twin(aml: string): Promise<World> {
  const w = newWorld();
  await w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'plant', aml, '');
  return w;
}

const insert = (w: World, frag: string, parent: string) => w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, frag, parent, '');

async function specStillReadable(w: World): Promise<void> {
  const spec = await w.ledger.invoke(who.owner, w.spec, 'getSpecification', TWIN);
  expect(() => parseCaexDocument(spec.aml)).not.toThrow();
}

describe('XML nesting of the assembled specification', () => {
  it('refuses a fragment that is fine alone but nests the specification deeper than MAX_XML_DEPTH', async () => {
    const w = await twin(doc(ie('line')));
    // 40 elements in a chain under line: the last one, d39, sits at XML level 2 + 41 = 43.
    await insert(w, chain(40, 'd'), 'line');
    // 90 levels alone (1 element + 89 attributes): accepted as a fragment, but 43 + 90 > 128.
    const frag = ie('deep', nestedAttributes(89));
    await expectRefusal(w, insert(w, frag, 'd39'), ErrorCodes.TOO_LARGE);
    await expect(insert(w, frag, 'd39')).rejects.toThrow(/would be nested 133 XML levels deep at this parent \(limit 128\)/);
    await specStillReadable(w);
    // The same fragment where it fits: under line (XML level 3), 3 + 90 = 93.
    await insert(w, frag, 'line');
    await specStillReadable(w);
  });

  it('accepts exactly MAX_XML_DEPTH levels and refuses one more, under an element and at the top level', async () => {
    const w = await twin(doc(ie('line')));
    // line is at XML level 3: its child at 4, so a fragment of 125 levels ends at 128.
    await insert(w, ie('ok', nestedAttributes(Limits.MAX_XML_DEPTH - 4)), 'line');
    await expectRefusal(w, insert(w, ie('no', nestedAttributes(Limits.MAX_XML_DEPTH - 3)), 'line'), ErrorCodes.TOO_LARGE);
    // An InstanceHierarchy is at level 2: a fragment of 127 levels ends at 128; the fragment
    // limit alone (128, counted from the hierarchy) let one level too many through.
    await insert(w, `<InstanceHierarchy Name="H2">${ie('h2', nestedAttributes(Limits.MAX_XML_DEPTH - 3))}</InstanceHierarchy>`, '');
    await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'insertAML', TWIN, `<InstanceHierarchy Name="H3">${ie('h3', nestedAttributes(Limits.MAX_XML_DEPTH - 2))}</InstanceHierarchy>`, '', ''), ErrorCodes.TOO_LARGE);
    await specStillReadable(w);
  });

  it('keeps refusing element nesting past MAX_ELEMENT_DEPTH across inserts', async () => {
    const w = await twin(doc(ie('line')));
    await insert(w, chain(60, 'a'), 'line');
    // a59 is at element depth 61; four more levels make 65.
    await expectRefusal(w, insert(w, chain(4, 'b'), 'a59'), ErrorCodes.TOO_LARGE);
    await insert(w, chain(3, 'b'), 'a59');
    // A document is held to the same: 64 levels of elements are stored, 65 are not.
    await twin(doc(chain(64, 'c')));
    const w2 = newWorld();
    await expectRefusal(w2, w2.ledger.invoke(who.owner, w2.spec, 'createTwin', TWIN, 'plant', doc(chain(65, 'c')), ''), ErrorCodes.TOO_LARGE);
  });
});
