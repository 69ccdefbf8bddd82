import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Real AutomationML files written by other organizations' tools, unchanged (sources and
 * licenses: fixtures/public-corpus/NOTICE.md), plus the public files the AAS mapping already
 * keeps. Every reader of the project is held to them: the package (public-corpus.test.ts), the
 * chaincode's createTwin (chaincode/test/public-corpus.test.ts) and spec-service's routes.
 */
export interface PublicAmlFile {
  /** Path below the repository root, for messages. */
  readonly name: string;
  readonly path: string;
  /** The file as a service receives it: UTF-8 decoded, byte order mark kept. */
  readonly xml: () => string;
  readonly bytes: number;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const DIRS = ['packages/aml/test/fixtures/public-corpus', 'packages/aas/test/fixtures/public'];

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : /\.(aml|xml)$/i.test(n) ? [p] : [];
    });
}

export const PUBLIC_AML_FILES: readonly PublicAmlFile[] = DIRS.flatMap((d) => walk(join(repoRoot, d))).map((path) => ({
  name: relative(repoRoot, path),
  path,
  xml: () => readFileSync(path, 'utf8'),
  bytes: statSync(path).size,
}));

/**
 * Files refused on purpose, by a documented rule (chaincode README "Accepted AML" and
 * "Limits"), with the code the refusal carries. Every other file must be accepted.
 */
export const DOCUMENTED_REFUSALS: Readonly<Record<string, { readonly code: string; readonly rule: string }>> = {
  // A converter's negative test input: its nested InternalElement has ID="". The ledger stores
  // and addresses every InternalElement by its ID (AutomationML requires one, unique).
  'packages/aml/test/fixtures/public-corpus/aml-ua-xslt/Test2_IE.aml': { code: 'AML_INVALID', rule: 'InternalElement Name and ID are required' },
  // Published broken: line 15 has a Windows path pasted into an end tag (</WriterProjecC:\...tTitle>).
  'packages/aml/test/fixtures/public-corpus/aml-ua-xslt/ARAPCAllClassLibsV_1_2_1.aml': { code: 'AML_INVALID', rule: 'malformed XML' },
};
