import { delimiter, join, relative, resolve } from 'node:path';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Real AutomationML files written by other organizations' tools, unchanged: the public files the
 * AAS mapping keeps (packages/aas/test/fixtures/public, sources and license in its NOTICE.md)
 * and, when `AML_CORPUS_DIR` names directories (a path list), every .aml/.xml file under them:
 * an organization holds its own files to every reader of the project before it relies on
 * TwinLedger (packages/aml README "Your own AML files"). Every reader is held to them: the
 * package (public-corpus.test.ts), the chaincode's createTwin (chaincode/test/public-corpus.test.ts)
 * and spec-service's routes (services/spec-service/test/aml-corpus.test.ts).
 */
export interface PublicAmlFile {
  /** Path below the repository root (or the absolute path of an outside file), for messages. */
  readonly name: string;
  readonly path: string;
  /** The file as a service receives it: UTF-8 decoded, byte order mark kept. */
  readonly xml: () => string;
  readonly bytes: number;
  /**
   * From `AML_CORPUS_DIR`: a refusal with a 4xx code (a documented rule, e.g. malformed XML or
   * an InternalElement without ID) is reported, not failed. The repository's files must be accepted.
   */
  readonly external: boolean;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const IN_REPO = ['packages/aas/test/fixtures/public'];

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : /\.(aml|xml)$/i.test(n) ? [p] : [];
    });
}

const file = (path: string, external: boolean): PublicAmlFile => ({
  name: external ? path : relative(repoRoot, path),
  path,
  xml: () => readFileSync(path, 'utf8'),
  bytes: statSync(path).size,
  external,
});

export const OUTSIDE_CORPUS_DIRS: readonly string[] = (process.env['AML_CORPUS_DIR'] ?? '')
  .split(delimiter)
  .filter((d) => d.trim() !== '')
  .map((d) => resolve(d));

export const PUBLIC_AML_FILES: readonly PublicAmlFile[] = [
  ...IN_REPO.flatMap((d) => walk(join(repoRoot, d))).map((p) => file(p, false)),
  ...OUTSIDE_CORPUS_DIRS.flatMap(walk).map((p) => file(p, true)),
];
