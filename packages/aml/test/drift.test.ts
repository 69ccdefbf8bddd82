import { describe, expect, it } from '@jest/globals';
// The chaincode builds alone and keeps its own reader; these imports are the check that the
// two stay the same. Only its pure AML modules are loaded (no Fabric dependency).
import { parseCaexDocument, parseCaexFragment } from '../../../chaincode/src/aml/caex';
import { ChaincodeError } from '../../../chaincode/src/errors';
import { parseXml as chaincodeParseXml, serializeElement } from '../../../chaincode/src/aml/xml';
import { Limits as ChaincodeLimits } from '../../../chaincode/src/limits';
import { Limits as LedgerLimits } from '@twinledger/ledger';
import { AmlLimits, isAmlError, parseXml, readAmlDocument, readAmlFragment, serializeXml } from '../src/index.js';
import { AML_CASES } from './corpus.js';

function verdict(run: () => unknown): string {
  try {
    run();
    return 'accepted';
  } catch (e) {
    if (e instanceof ChaincodeError || isAmlError(e)) return e.code;
    throw e;
  }
}

describe('the package reads AML exactly as the chaincode does', () => {
  it('has the chaincode\'s limits, value for value', () => {
    for (const [k, v] of Object.entries(AmlLimits)) expect([k, ChaincodeLimits[k as keyof typeof ChaincodeLimits]]).toEqual([k, v]);
    // The ledger client's table (documentation of the chaincode's API) carries the same values.
    expect(LedgerLimits).toEqual(ChaincodeLimits);
  });

  it.each(AML_CASES.map((c) => [c.name, c] as const))('gives the chaincode\'s verdict on %s', (_name, c) => {
    const xml = c.xml();
    const ours = c.kind === 'document' ? verdict(() => readAmlDocument(xml)) : verdict(() => readAmlFragment(xml, '3.0'));
    const theirs = c.kind === 'document' ? verdict(() => parseCaexDocument(xml)) : verdict(() => parseCaexFragment(xml, '3.0'));
    expect(ours).toBe(theirs);
    expect(ours).toBe(c.code ?? 'accepted');
  });

  it('gives the chaincode\'s verdict on the bottling plant and on its fragments', async () => {
    const { readFileSync } = await import('node:fs');
    const plant = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
    expect(verdict(() => readAmlDocument(plant))).toBe(verdict(() => parseCaexDocument(plant)));
    expect(readAmlDocument(plant).elementCount).toBe(parseCaexDocument(plant).hierarchies.length > 0 ? readAmlDocument(plant).elementCount : -1);
    // 3.0 requires an ExternalInterface ID, 2.15 does not: the version-specific rule.
    const noIfId = '<InternalElement Name="s" ID="s"><ExternalInterface Name="Signal"/></InternalElement>';
    for (const v of ['3.0', '2.15'] as const) expect(verdict(() => readAmlFragment(noIfId, v))).toBe(verdict(() => parseCaexFragment(noIfId, v)));
  });

  it('serializes as the chaincode does (split chunks must read back as the model they were cut from)', async () => {
    const { readFileSync } = await import('node:fs');
    const plant = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
    const accepted = AML_CASES.filter((c) => c.code === undefined && c.kind === 'document').map((c) => c.xml());
    // Characters each escape rule exists for, in attributes and text.
    const escapes = '<CAEXFile xmlns="http://www.dke.de/CAEX" SchemaVersion="3.0" FileName="e&amp;&lt;&gt;&quot;&#9;&#10;&#13;.aml"><Description>a &amp; b &lt; c &gt; d&#13;</Description></CAEXFile>';
    for (const xml of [plant, escapes, ...accepted]) {
      const depth = AmlLimits.MAX_XML_DEPTH;
      expect(serializeXml(parseXml(xml, depth))).toBe(serializeElement(chaincodeParseXml(xml, depth)));
    }
  });
});
