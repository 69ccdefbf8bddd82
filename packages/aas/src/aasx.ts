import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import type { Environment } from './core.js';
import { AasxInvalidError } from './errors.js';
import { toJson } from './serialize.js';

/*
 * AASX (IDTA-01005) is an Open Packaging Conventions zip: `[Content_Types].xml`, a root
 * relationship to the origin part, from the origin a relationship to the AAS specification
 * part, and from that part relationships to supplementary files. The OPC parts are XML of
 * their own (not AAS); the AAS specification part is the library's JSON serialization (the
 * TypeScript library has no XML serializer, and IDTA-01005 allows JSON).
 */
export const AASX_CONTENT_TYPE = 'application/asset-administration-shell-package';
export const REL_ORIGIN = 'http://admin-shell.io/aasx/relationships/aasx-origin';
export const REL_SPEC = 'http://admin-shell.io/aasx/relationships/aas-spec';
export const REL_SUPPL = 'http://admin-shell.io/aasx/relationships/aas-suppl';
const REL_NS = 'http://schemas.openxmlformats.org/package/2006/relationships';

const ORIGIN = 'aasx/aasx-origin';
const SPEC = 'aasx/aas/environment.aas.json';

/** A supplementary file: the AML, a document. `path` is its part name, absolute (`/aasx/...`). */
export interface AasxFile {
  readonly path: string;
  readonly contentType: string;
  readonly bytes: Uint8Array;
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function relationships(rels: readonly { id: string; type: string; target: string }[]): Uint8Array {
  const body = rels.map((r) => `<Relationship Type="${escapeXml(r.type)}" Target="${escapeXml(r.target)}" Id="${escapeXml(r.id)}"/>`).join('');
  return strToU8(`<?xml version="1.0" encoding="utf-8"?><Relationships xmlns="${REL_NS}">${body}</Relationships>`);
}

const PART = /^\/aasx\/[A-Za-z0-9._/-]+$/;

/** An AASX package holding `env` as its specification and `files` as supplementary files. */
export function buildAasx(env: Environment, files: readonly AasxFile[]): Uint8Array {
  for (const f of files) if (!PART.test(f.path) || f.path.includes('..')) throw new AasxInvalidError(`not a part name: ${f.path}`);
  const overrides = [
    `<Override PartName="/${SPEC}" ContentType="application/json"/>`,
    `<Override PartName="/${ORIGIN}" ContentType="text/plain"/>`,
    ...files.map((f) => `<Override PartName="${escapeXml(f.path)}" ContentType="${escapeXml(f.contentType)}"/>`),
  ];
  const contentTypes =
    '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
    overrides.join('') +
    '</Types>';
  // Fixed times: the same state gives the same bytes.
  const mtime = new Date('2000-01-01T00:00:00Z');
  const zip: Zippable = {
    '[Content_Types].xml': strToU8(contentTypes),
    '_rels/.rels': relationships([{ id: 'r0', type: REL_ORIGIN, target: `/${ORIGIN}` }]),
    [ORIGIN]: strToU8('Intentionally empty.'),
    'aasx/_rels/aasx-origin.rels': relationships([{ id: 'r0', type: REL_SPEC, target: `/${SPEC}` }]),
    [SPEC]: strToU8(JSON.stringify(toJson(env))),
    'aasx/aas/_rels/environment.aas.json.rels': relationships(files.map((f, i) => ({ id: `r${i}`, type: REL_SUPPL, target: f.path }))),
  };
  for (const f of files) zip[f.path.slice(1)] = [f.bytes, { level: 0 }];
  return zipSync(zip, { level: 6, mtime });
}

/** What an AASX holds: its specification parts (parsed JSON) and supplementary files by part name. */
export interface AasxContent {
  readonly specs: readonly { readonly path: string; readonly json: unknown }[];
  readonly supplementary: ReadonlyMap<string, Uint8Array>;
  readonly parts: ReadonlyMap<string, Uint8Array>;
}

const targets = (xml: string, type: string): string[] =>
  [...xml.matchAll(/<Relationship\b([^>]*)\/?>/g)].map((m) => m[1] ?? '').filter((a) => a.includes(`Type="${type}"`)).map((a) => /Target="([^"]*)"/.exec(a)?.[1] ?? '').filter((t) => t !== '');

const relsOf = (part: string): string => {
  const slash = part.lastIndexOf('/');
  return `${part.slice(0, slash + 1)}_rels/${part.slice(slash + 1)}.rels`;
};

/** Follows an AASX's relationships from the root (for tests and importers); throws AasxInvalidError on a broken package. */
export function readAasx(bytes: Uint8Array): AasxContent {
  let parts: Record<string, Uint8Array>;
  try {
    parts = unzipSync(bytes);
  } catch (cause) {
    throw new AasxInvalidError('not a zip archive', { cause });
  }
  const text = (p: string): string => {
    const b = parts[p.replace(/^\//, '')];
    if (b === undefined) throw new AasxInvalidError(`missing part ${p}`);
    return strFromU8(b);
  };
  if (parts['[Content_Types].xml'] === undefined) throw new AasxInvalidError('no [Content_Types].xml');
  const origins = targets(text('_rels/.rels'), REL_ORIGIN);
  if (origins.length !== 1) throw new AasxInvalidError('no single aasx-origin relationship');
  const specs = targets(text(relsOf(origins[0]!.replace(/^\//, ''))), REL_SPEC);
  if (specs.length === 0) throw new AasxInvalidError('no aas-spec relationship');
  const supplementary = new Map<string, Uint8Array>();
  const out = specs.map((path) => {
    const p = path.replace(/^\//, '');
    const rels = parts[relsOf(p).replace(/^\//, '')];
    for (const t of rels ? targets(strFromU8(rels), REL_SUPPL) : []) {
      const b = parts[t.replace(/^\//, '')];
      if (b === undefined) throw new AasxInvalidError(`missing supplementary part ${t}`);
      supplementary.set(t, b);
    }
    return { path, json: JSON.parse(text(p)) as unknown };
  });
  return { specs: out, supplementary, parts: new Map(Object.entries(parts)) };
}
