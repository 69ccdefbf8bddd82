import { readFileSync } from 'node:fs';
import type { TwinSource } from '../src/index.js';

export const BOTTLING = readFileSync(new URL('../../../chaincode/fixtures/bottling-plant.aml', import.meta.url), 'utf8');
export const publicAml = (name: string): string => readFileSync(new URL(`./fixtures/public/${name}`, import.meta.url), 'utf8');
export const PUBLIC_FILES = ['full_AutomationComponent.aml', 'minimal_AutomationMLComponent_WithDocuments.aml', 'minimal_IdentificationData.aml'] as const;

export const TX = 'ab'.repeat(32);

/** A source for the bottling plant with one document per attachment case and a feed. */
export function bottlingSource(over: Partial<TwinSource> = {}): TwinSource {
  return {
    twinId: 'plant-1',
    deviceId: 'plant-1',
    deviceName: 'Bottling plant',
    aml: BOTTLING,
    txId: TX,
    blockNumber: 42,
    documents: [
      { hash: '1'.repeat(64), title: 'Filler manual (EN)', description: 'Operating manual', componentId: 'filler-1', confidentiality: 'public', txId: 'd1' },
      { hash: '2'.repeat(64), title: 'Plant layout', componentId: 'plant-1', confidentiality: 'internal', txId: 'd2', latest: { version: 2, hash: '3'.repeat(64) } },
      { hash: '4'.repeat(64), title: 'Certificate', confidentiality: 'confidential', txId: 'd3' },
    ],
    feeds: [
      { componentId: 'sensor-flow-1', feedRef: 'feed-flow-1', txId: 'f1' },
      { componentId: 'gone-component', feedRef: 'feed-old', txId: 'f2' },
    ],
    documentLink: (d) => `/twins/plant-1/documents/${d.hash}/content`,
    ...over,
  };
}

/**
 * A public AutomationML Component file describes its asset as a SystemUnitClass; a twin's
 * specification holds instances. This instantiates the first SystemUnitClass as an AML editor
 * does (the class body as an InternalElement in an InstanceHierarchy, RefBaseSystemUnitPath set,
 * fresh IDs for every element of the copy) and keeps only the instance: the class library of
 * one of the files repeats an ID, which the ledger refuses (DUPLICATE_ID).
 */
export function instantiate(aml: string): string {
  const m = /<SystemUnitClassLib Name="([^"]+)"[^>]*>\s*<SystemUnitClass Name="([^"]+)"[^>]*>([\s\S]*?)<\/SystemUnitClass>/.exec(aml);
  if (!m) throw new Error('no SystemUnitClass');
  const [, lib, name, body] = m;
  let n = 0;
  const withIds = body!.replace(/\sID="[^"]*"/g, '').replace(/<(InternalElement|ExternalInterface)\b/g, (_m, tag: string) => `<${tag} ID="generated-${++n}"`);
  const ie = `<InstanceHierarchy Name="Instances" ID="ih-instances"><InternalElement Name="${name}" ID="instance-1" RefBaseSystemUnitPath="${lib}/${name}">${withIds}</InternalElement></InstanceHierarchy>`;
  return aml.replace(/<SystemUnitClassLib\b[\s\S]*<\/SystemUnitClassLib>/, '').replace(/<\/CAEXFile>\s*$/, `${ie}</CAEXFile>`);
}
