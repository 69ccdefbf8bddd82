// A ledger stand-in for OPC UA-level sync tests: it serves a specification the test sets and
// records every write the sync attempts (the Fabric-backed tests show the real outcomes).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TwinLedger } from '@twinledger/ledger';

export const FIXTURE_FILE = join(dirname(fileURLToPath(import.meta.url)), '../../../../chaincode/fixtures/bottling-plant.aml');

export interface LedgerDouble {
  readonly ledger: TwinLedger;
  /** `name(args as JSON)` per write, in order. */
  readonly writes: string[];
  aml: string;
  feeds: { componentId: string; feedRef: string }[];
}

export async function ledgerDouble(): Promise<LedgerDouble> {
  const d: LedgerDouble = { ledger: undefined as unknown as TwinLedger, writes: [], aml: await readFile(FIXTURE_FILE, 'utf8'), feeds: [] };
  const write = (name: string) => async (...args: unknown[]) => {
    d.writes.push(`${name}(${JSON.stringify(args.slice(1))})`);
    return { transactionId: `tx-${d.writes.length}`, result: { feedsRemoved: 1 } };
  };
  (d as { ledger: TwinLedger }).ledger = {
    getSpecification: async () => ({ aml: d.aml }),
    listSensorFeeds: async () => d.feeds,
    removeAML: write('removeAML'),
    insertAML: write('insertAML'),
    addSensorFeed: write('addSensorFeed'),
  } as unknown as TwinLedger;
  return d;
}

/** The fixture with a SerialNumber attribute recorded for `componentId`. */
export function withSerial(aml: string, componentId: string, serial: string): string {
  const open = new RegExp(`(<InternalElement [^>]*ID="${componentId}">)`);
  if (!open.test(aml)) throw new Error(`no element ${componentId}`);
  return aml.replace(open, `$1\n          <Attribute Name="SerialNumber" AttributeDataType="xs:string"><Value>${serial}</Value></Attribute>`);
}
