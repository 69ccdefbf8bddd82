import { readdirSync, readFileSync, statSync } from 'fs';
import { join, relative } from 'path';
import { canonicalizeDocument } from '../src';
import { expectRefusal, newWorld, who } from './support/world';

/**
 * The real AML files of packages/aml/test/fixtures/public-corpus (NOTICE.md there) and
 * packages/aas/test/fixtures/public, through createTwin and getSpecification: what a peer
 * stores and serves is the canonical form of the file. That the canonical form says everything
 * the file says is checked against a reference reader in packages/aml/test/public-corpus.test.ts.
 */
const root = join(__dirname, '..', '..');
const dirs = ['packages/aml/test/fixtures/public-corpus', 'packages/aas/test/fixtures/public'].map((d) => join(root, d));

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : n.endsWith('.aml') ? [join(dir, n)] : []));
}

const files = dirs.flatMap(walk).map((p) => [relative(root, p), p] as const);

/** Refused by documented rules (chaincode README "Accepted AML"); the same list as packages/aml/test/public-corpus.ts. */
const REFUSED: Record<string, string> = {
  'packages/aml/test/fixtures/public-corpus/aml-ua-xslt/Test2_IE.aml': 'AML_INVALID', // InternalElement ID=""
  'packages/aml/test/fixtures/public-corpus/aml-ua-xslt/ARAPCAllClassLibsV_1_2_1.aml': 'AML_INVALID', // malformed as published
};

describe('createTwin with real public AML files', () => {
  it('has the corpus', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  it.each(files)('%s', async (name, path) => {
    const aml = readFileSync(path, 'utf8');
    const w = newWorld();
    const code = REFUSED[name];
    if (code !== undefined) {
      await expectRefusal(w, w.ledger.invoke(who.owner, w.spec, 'createTwin', 'corpus-twin', 'Corpus', aml, ''), code);
      return;
    }
    const res = await w.ledger.invoke(who.owner, w.spec, 'createTwin', 'corpus-twin', 'Corpus', aml, '');
    expect(res).toMatchObject({ twinId: 'corpus-twin', schemaVersion: expect.stringMatching(/^(3\.0|2\.15)$/) });
    const spec = await w.ledger.invoke(who.outsider, w.spec, 'getSpecification', 'corpus-twin');
    expect(spec.aml).toBe(canonicalizeDocument(aml));
  });
});
