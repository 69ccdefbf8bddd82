import { request as httpRequest } from 'node:http';
import type { ServiceApp } from './service.js';

/**
 * Test utilities (`@twinledger/service-kit/testing`): an adversarial walk of a service app from
 * its own OpenAPI document. Every documented operation gets many malformed variants of its path
 * parameters, query, body and Authorization header (plus a few valid-ish mutations of its
 * documented examples), all through `app.inject`; every answer is checked against the project's
 * boundary rule: never a 5xx, a hang or a crash; a 4xx carries a JSON body with a string `code`.
 * Deterministic: the same document and seed give the same requests. Not for production.
 */

/** The part of an OpenAPI 3 document the walk reads (what @fastify/swagger publishes). */
export interface OpenApiDocument {
  readonly paths?: Readonly<Record<string, Readonly<Record<string, OpenApiOperation | undefined>>>>;
  readonly components?: { readonly schemas?: Readonly<Record<string, JsonSchema>> };
}
interface OpenApiOperation {
  readonly parameters?: ReadonlyArray<OpenApiParameter>;
  readonly requestBody?: { readonly required?: boolean; readonly content?: Readonly<Record<string, OpenApiMedia>> };
  readonly produces?: readonly string[];
}
/** Where @fastify/swagger puts a body's or a parameter's schema `examples`: beside the schema. */
interface Documented {
  readonly example?: unknown;
  readonly examples?: Readonly<Record<string, { readonly value?: unknown } | undefined>>;
}
/** A request body's media object. */
interface OpenApiMedia extends Documented {
  readonly schema?: JsonSchema;
}
interface OpenApiParameter extends Documented {
  readonly in: string;
  readonly name: string;
  readonly required?: boolean;
  readonly schema?: JsonSchema;
}
/** A JSON schema as the document holds it (TypeBox output, refs to components). */
export interface JsonSchema {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly examples?: readonly unknown[];
  readonly example?: unknown;
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly format?: string;
  readonly pattern?: string;
}

/** One request of the walk; `label` says which mutation it carries (for the report). */
export interface FuzzRequest {
  readonly operation: string;
  readonly label: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload?: string | Buffer;
}

/** A request whose answer broke the boundary rule. */
export interface FuzzFinding {
  readonly operation: string;
  readonly label: string;
  readonly url: string;
  /** The status answered, or 0 when there was none (timeout, crash). */
  readonly status: number;
  readonly problem: string;
}

export interface AdversarialOptions {
  /** Seeds the generator: the same seed walks the same requests. */
  readonly seed?: number;
  /** The bearer token every request carries (unless the variant is about Authorization); none: unauthenticated. */
  readonly token?: string;
  /** Values for path parameters the valid-ish variants use, by parameter name (e.g. a twin id). */
  readonly pathValues?: Readonly<Record<string, string>>;
  /**
   * Documented example bodies by operation (`POST /twins`), where a sample cannot pass the
   * handler's own checks (an AML document): the base body, and the source of text mutations.
   */
  readonly examples?: Readonly<Record<string, unknown>>;
  /** Operations (`GET /path/{id}`) left out of the walk. */
  readonly skip?: readonly string[];
  /** Routes of service-kit itself and the docs, never walked. */
  readonly includeOperationsRoutes?: boolean;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const OPERATIONS_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
const MIB = 1024 * 1024;

/** The documented operations, as `METHOD /path` keys. */
export function documentedOperations(doc: OpenApiDocument, options: Pick<AdversarialOptions, 'skip' | 'includeOperationsRoutes'> = {}): string[] {
  const keys: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    if (path.startsWith('/docs') || (!options.includeOperationsRoutes && OPERATIONS_ROUTES.has(path))) continue;
    for (const m of METHODS) if (ops[m] !== undefined && !(options.skip ?? []).includes(`${m.toUpperCase()} ${path}`)) keys.push(`${m.toUpperCase()} ${path}`);
  }
  return keys;
}

/** Reads the app's own OpenAPI document. */
export async function openApiOf(app: ServiceApp): Promise<OpenApiDocument> {
  const res = await app.inject({ method: 'GET', url: '/docs/json' });
  if (res.statusCode !== 200) throw new Error(`/docs/json answered ${res.statusCode}`);
  return res.json() as OpenApiDocument;
}

/** mulberry32: small, seedable, good enough to pick mutations deterministically. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function resolve(doc: OpenApiDocument, s: JsonSchema | undefined, depth = 0): JsonSchema {
  if (s === undefined || depth > 20) return {};
  if (s.$ref !== undefined) {
    const name = s.$ref.replace(/^#\/components\/schemas\//, '');
    return resolve(doc, doc.components?.schemas?.[name], depth + 1);
  }
  return s;
}

function typeOf(s: JsonSchema): string | undefined {
  if (Array.isArray(s.type)) return (s.type as string[]).find((t) => t !== 'null');
  if (typeof s.type === 'string') return s.type;
  if (s.properties !== undefined) return 'object';
  return undefined;
}

/** A plausible value for a schema: its example, default, const or first enum member, else one by type. */
function sample(doc: OpenApiDocument, schema: JsonSchema | undefined, depth = 0, full = false): unknown {
  const s = resolve(doc, schema);
  if (s.examples?.length) return s.examples[0];
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0];
  const alt = s.anyOf ?? s.oneOf;
  if (alt?.length) return sample(doc, alt[0], depth + 1, full);
  if (s.allOf?.length) return Object.assign({}, ...s.allOf.map((x) => sample(doc, x, depth + 1, full)));
  if (depth > 8) return null;
  switch (typeOf(s)) {
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const k of full ? Object.keys(s.properties ?? {}) : (s.required ?? [])) o[k] = sample(doc, s.properties?.[k], depth + 1, full);
      return o;
    }
    case 'array':
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => sample(doc, s.items, depth + 1, full));
    case 'integer':
    case 'number':
      return Math.max(1, s.minimum ?? 1);
    case 'boolean':
      return true;
    case 'string':
      return sampleString(s);
    default:
      return 'x';
  }
}

/** The example the document gives for a body or a parameter (its first, when several), if any. */
function documentedExample(d: Documented | undefined): unknown {
  if (d?.example !== undefined) return d.example;
  return Object.values(d?.examples ?? {})[0]?.value;
}

/** A parameter's documented example, else a sample of its schema. */
const parameterSample = (doc: OpenApiDocument, p: OpenApiParameter | undefined): unknown => documentedExample(p) ?? sample(doc, p?.schema);

/** Strings our schemas' patterns commonly take: ids, MSP ids, hashes, paths, times. */
const STRING_CANDIDATES = ['plant-1', 'Org1MSP', 'a'.repeat(64), 'x', 'abc', 'a1', 'A', '1', '0', 'c1', 't/a', 'OWNER', 'READER', 'MAINTAINER', 'https://example.org/a', 'a@example.org', '2026-01-01T00:00:00.000Z', 'YQ', 'abc.def', 'a'.repeat(16), 'a'.repeat(32), 'a'.repeat(40)];

/** A string the schema takes, when one of the candidates fits its pattern and lengths; else one of its lengths. */
function sampleString(s: JsonSchema): string {
  if (s.format === 'date-time') return '2026-01-01T00:00:00.000Z';
  if (s.format === 'uri') return 'https://example.org/a';
  if (s.format === 'email') return 'a@example.org';
  const fits = (c: string): boolean => c.length >= (s.minLength ?? 0) && c.length <= (s.maxLength ?? Infinity);
  if (s.pattern !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(s.pattern, 'u');
    } catch {
      re = /$^/;
    }
    const hit = STRING_CANDIDATES.find((c) => fits(c) && re.test(c));
    if (hit !== undefined) return hit;
  }
  return STRING_CANDIDATES.find((c) => fits(c) && /^[a-z][a-z0-9-]*$/.test(c)) ?? 'x'.repeat(Math.max(1, s.minLength ?? 1));
}

/** Values of the wrong type for a schema (and a few edge values of the right one). */
function wrongValues(s: JsonSchema): unknown[] {
  const t = typeOf(s);
  const common: unknown[] = [null, {}, [], [1, 2]];
  switch (t) {
    case 'string':
      return [...common, 123, true, '', '\u0000', '😀'.repeat(300), '../../etc/passwd'];
    case 'integer':
    case 'number':
      return [...common, '12', 'abc', true, -1, 0, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2];
    case 'boolean':
      return [...common, 'true', 1, 'yes'];
    case 'array':
      return [null, {}, 'x', 1, Array.from({ length: 10_000 }, (_, i) => i), [null], [{}]];
    case 'object':
      return [null, [], 'x', 1, { __proto__: { polluted: true } }];
    default:
      return [...common, 'x', 1, true];
  }
}

/** A JSON text nested `depth` levels deep, built as text (JSON.stringify would recurse). */
function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function randomText(rand: () => number, length: number): string {
  const alphabet = 'aZ09-_.~%/\\\'"<>{}[]$`;&|\u00e9\u65e5\u{1F600}\u202e\u0000 ';
  const chars = [...alphabet];
  let out = '';
  for (let i = 0; i < length; i++) out += chars[Math.floor(rand() * chars.length)];
  return out;
}

/**
 * Valid-ish mutations of a long documented text (an AML document, a description): cut at seeded
 * points, a byte flipped, doubled; for markup also a DOCTYPE with entity expansion, an external
 * entity and elements nested 10,000 deep.
 */
function textMutations(text: string, rand: () => number): Array<[string, string]> {
  const at = (): number => Math.floor(rand() * text.length);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < 3; i++) {
    const cut = at();
    out.push([`cut-${i}`, text.slice(0, cut)]);
  }
  const flip = at();
  out.push(['flipped', text.slice(0, flip) + String.fromCharCode(text.charCodeAt(flip) ^ 0x20) + text.slice(flip + 1)]);
  out.push(['doubled', text + text]);
  out.push(['nul-inside', text.slice(0, at()) + '\u0000' + text.slice(at())]);
  if (text.trimStart().startsWith('<')) {
    const body = text.replace(/^<\?xml[^>]*\?>/, '');
    const lol = ['<!ENTITY l0 "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`)].join('');
    out.push(['entity-expansion', `<?xml version="1.0"?><!DOCTYPE r [${lol}]>${body.replace(/>/, '>&l9;')}`]);
    out.push(['external-entity', `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${body.replace(/>/, '>&x;')}`]);
    out.push(['deep-markup', `${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`]);
    out.push(['deep-inside', body.replace(/>/, `>${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`)]);
    out.push(['unclosed', body.replace(/<\/[^>]+>\s*$/, '')]);
    out.push(['cdata', body.replace(/>/, '><![CDATA[ ]]]]><![CDATA[> ]]>')]);
  }
  return out;
}

/** Path-parameter values that try traversal, encodings, lengths and types (already URL-encoded where needed). */
const PATH_ATTACKS: ReadonlyArray<[string, string]> = [
  ['traversal', '..%2F..%2Fetc%2Fpasswd'],
  ['dotdot', '..'],
  ['nul', '%00'],
  ['nul-suffix', 'abc%00def'],
  ['bad-percent', '%E0%A4%A'],
  ['lone-percent', '%'],
  ['very-long', 'a'.repeat(10_000)],
  ['unicode', encodeURIComponent('\u65e5\u672c\u{1F600}\u202e\u00e9')],
  ['number', '12345'],
  ['negative', '-1'],
  ['float', '1e309'],
  ['boolean', 'true'],
  ['space', '%20'],
  ['quote', encodeURIComponent('\' OR 1=1 --')],
  ['html', encodeURIComponent('<script>alert(1)</script>')],
  ['proto', '__proto__'],
  ['constructor', 'constructor'],
  ['hex-64-upper', 'A'.repeat(64)],
  ['hex-64', 'f'.repeat(64)],
];
const QUERY_ATTACKS: ReadonlyArray<[string, (name: string) => string]> = [
  ['word', (n) => `${n}=abc`],
  ['empty', (n) => `${n}=`],
  ['bare', (n) => n],
  ['negative', (n) => `${n}=-1`],
  ['zero', (n) => `${n}=0`],
  ['float', (n) => `${n}=1.5`],
  ['overflow', (n) => `${n}=1e309`],
  ['big-int', (n) => `${n}=99999999999999999999999`],
  ['repeated', (n) => `${n}=1&${n}=2`],
  ['brackets', (n) => `${n}[]=1&${n}[x]=2`],
  ['huge', (n) => `${n}=${'9'.repeat(10_000)}`],
  ['nul', (n) => `${n}=%00`],
  ['bad-percent', (n) => `${n}=%E0%A4%A`],
  ['unicode', (n) => `${n}=${encodeURIComponent('\u65e5\u{1F600}')}`],
];
const AUTH_ATTACKS: ReadonlyArray<[string, string]> = [
  ['bearer-empty', 'Bearer'],
  ['bearer-space', 'Bearer '],
  ['basic', 'Basic dXNlcjpwYXNz'],
  ['lowercase', 'bearer abc.def.ghi'],
  ['garbage', 'Bearer not-a-jwt'],
  ['three-dots', 'Bearer a.b.c'],
  ['alg-none', `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"x","org":"Org1MSP"}').toString('base64url')}.`],
  ['huge', `Bearer ${'a'.repeat(16 * 1024)}`],
  ['unicode', 'Bearer \u00e9\u00e9'],
];

/**
 * The walk's requests for every documented operation of `doc`. The valid-ish base request of an
 * operation fills path parameters from `pathValues` (else a sample of the parameter's schema),
 * required query parameters with samples, and the body with the documented example or a sample;
 * each variant then breaks one thing.
 */
export function adversarialRequests(doc: OpenApiDocument, options: AdversarialOptions = {}): FuzzRequest[] {
  const rand = prng(options.seed ?? 1);
  const auth: Record<string, string> = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
  const out: FuzzRequest[] = [];
  for (const key of documentedOperations(doc, options)) {
    const [method, path] = key.split(' ') as [string, string];
    const op = doc.paths![path]![method.toLowerCase()]!;
    const params = op.parameters ?? [];
    const pathParams = params.filter((p) => p.in === 'path');
    const queryParams = params.filter((p) => p.in === 'query');
    const baseParam = (name: string): string => options.pathValues?.[name] ?? String(parameterSample(doc, pathParams.find((x) => x.name === name)));
    const urlWith = (over: Record<string, string> = {}, query?: string): string => {
      const p = path.replace(/\{([^}]+)\}/g, (_m, name: string) => over[name] ?? encodeURIComponent(baseParam(name)));
      const required = queryParams.filter((q) => q.required).map((q) => `${q.name}=${encodeURIComponent(String(parameterSample(doc, q)))}`);
      const qs = [...required, ...(query === undefined ? [] : [query])].join('&');
      return qs === '' ? p : `${p}?${qs}`;
    };
    const content = op.requestBody?.content ?? {};
    const [bodyType, bodyMedia] = Object.entries(content)[0] ?? [];
    const bodySchema = resolve(doc, bodyMedia?.schema);
    const jsonBody = bodyType !== undefined && /json/.test(bodyType);
    const baseBody = jsonBody ? (options.examples?.[key] ?? documentedExample(bodyMedia) ?? sample(doc, bodySchema)) : undefined;
    const push = (label: string, url: string, extra: { headers?: Record<string, string>; payload?: string | Buffer; noAuth?: boolean } = {}): void => {
      const baseHeaders: Record<string, string> = { ...(extra.noAuth ? {} : auth) };
      let payload = extra.payload;
      if (payload === undefined && bodyType !== undefined && extra.headers?.['content-type'] === undefined) {
        payload = jsonBody ? JSON.stringify(baseBody) : Buffer.from('fuzz');
        baseHeaders['content-type'] = bodyType;
      }
      out.push({ operation: key, label, method, url, headers: { ...baseHeaders, ...extra.headers }, ...(payload === undefined ? {} : { payload }) });
    };

    push('base', urlWith());
    for (const p of pathParams) {
      for (const [label, value] of PATH_ATTACKS) push(`path:${p.name}:${label}`, urlWith({ [p.name]: value }));
      push(`path:${p.name}:random`, urlWith({ [p.name]: encodeURIComponent(randomText(rand, 1 + Math.floor(rand() * 200))) }));
    }
    for (const q of queryParams) {
      for (const [label, make] of QUERY_ATTACKS) push(`query:${q.name}:${label}`, urlWith({}, make(q.name)));
      push(`query:${q.name}:random`, urlWith({}, `${q.name}=${encodeURIComponent(randomText(rand, 1 + Math.floor(rand() * 200)))}`));
    }
    const optionalQuery = queryParams.filter((q) => !q.required).map((q) => [q.name, `${q.name}=${encodeURIComponent(String(parameterSample(doc, q)))}`] as const);
    if (optionalQuery.length > 0) push('query:all-documented', urlWith({}, optionalQuery.map(([, kv]) => kv).join('&')));
    // Parameters that exclude each other (`last`, or `from` and `to`): each alone, and all but each.
    if (optionalQuery.length > 1) {
      for (const [name, kv] of optionalQuery) {
        push(`query:${name}:alone`, urlWith({}, kv));
        push(`query:${name}:left-out`, urlWith({}, optionalQuery.filter(([n]) => n !== name).map(([, other]) => other).join('&')));
      }
    }
    push('query:unknown', urlWith({}, 'fuzz_unknown=1'));
    push('query:proto', urlWith({}, '__proto__[polluted]=1&constructor[prototype][polluted]=1'));
    push('query:many', urlWith({}, Array.from({ length: 2_000 }, (_, i) => `k${i}=${i}`).join('&')));
    for (const [label, value] of AUTH_ATTACKS) push(`auth:${label}`, urlWith(), { noAuth: true, headers: { authorization: value } });
    push('header:request-id', urlWith(), { headers: { 'x-request-id': '../../\u00e9'.repeat(50) } });
    push('header:accept-xml', urlWith(), { headers: { accept: 'application/xml' } });
    push('header:accept-sse', urlWith(), { headers: { accept: 'text/event-stream' } });
    push('header:accept-garbage', urlWith(), { headers: { accept: ';;q=x,*/*;q=-1' } });
    push('header:last-event-id', urlWith(), { headers: { 'last-event-id': `${'9'.repeat(400)}:x` } });
    push('header:forwarded', urlWith(), { headers: { 'x-forwarded-for': 'a'.repeat(5_000), 'x-forwarded-proto': 'gopher', host: '\u00e9' } });
    push('path:double-slash', `/${urlWith()}`);
    push('path:trailing-slash', urlWith().replace(/(\?|$)/, '/$1'));
    push('path:upper', urlWith().toUpperCase());
    out.push({ operation: key, label: 'method:head', method: 'HEAD', url: urlWith(), headers: { ...auth } });
    out.push({ operation: key, label: 'method:options', method: 'OPTIONS', url: urlWith(), headers: { ...auth } });

    if (bodyType !== undefined || method !== 'GET') {
      const json = (label: string, text: string | Buffer, type = 'application/json'): void => push(`body:${label}`, urlWith(), { headers: { 'content-type': type }, payload: text });
      json('missing', '');
      push('body:none-no-type', urlWith(), { headers: { 'content-type': '' }, payload: '' });
      json('null', 'null');
      json('array', '[]');
      json('string', '"x"');
      json('number', '123');
      json('invalid', '{"a":');
      json('truncated', '{');
      json('trailing-garbage', '{}}');
      json('bom', '\ufeff{}');
      json('deep-array', deepJson(10_000, 'array'));
      json('deep-object', deepJson(10_000, 'object'));
      json('proto', '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');
      json('huge-string', JSON.stringify({ x: 'a'.repeat(MIB) }));
      json('text-plain', 'hello', 'text/plain');
      json('xml', '<a/>', 'application/xml');
      json('form', 'a=1&b=2', 'application/x-www-form-urlencoded');
      json('octet', Buffer.from([0, 1, 2, 255]), 'application/octet-stream');
      json('multipart', '--x\r\n\r\n--x--', 'multipart/form-data; boundary=x');
      json('charset-bogus', '{}', 'application/json; charset=bogus-7');
      json('type-garbage', '{}', ';;;/');
      push('body:gzip-garbage', urlWith(), { headers: { 'content-type': bodyType ?? 'application/json', 'content-encoding': 'gzip' }, payload: Buffer.from('not gzip at all') });
      push('body:utf16', urlWith(), { headers: { 'content-type': 'application/json; charset=utf-16le' }, payload: Buffer.from('{}', 'utf16le') });
      if (jsonBody && typeof baseBody === 'object' && baseBody !== null && !Array.isArray(baseBody)) {
        const base = baseBody as Record<string, unknown>;
        const props = Object.entries(bodySchema.properties ?? {});
        for (const [name, propSchema] of props) {
          const ps = resolve(doc, propSchema);
          wrongValues(ps).forEach((v, i) => json(`prop:${name}:wrong-${i}`, JSON.stringify({ ...base, [name]: v })));
          json(`prop:${name}:huge`, JSON.stringify({ ...base, [name]: 'a'.repeat(MIB) }));
          // JSON.parse reads 1e999 as Infinity (JSON.stringify cannot write it).
          json(`prop:${name}:infinite`, JSON.stringify({ ...base, [name]: '\u0000inf' }).replace('"\\u0000inf"', '1e999'));
          json(`prop:${name}:negative-zero`, JSON.stringify({ ...base, [name]: '\u0000nz' }).replace('"\\u0000nz"', '-0'));
          json(`prop:${name}:deep`, `{"${name}":${deepJson(10_000, rand() < 0.5 ? 'array' : 'object')}}`);
          json(`prop:${name}:random`, JSON.stringify({ ...base, [name]: randomText(rand, 1 + Math.floor(rand() * 500)) }));
          // Valid-ish: the example with this property set from its own schema's sample.
          json(`prop:${name}:sample`, JSON.stringify({ ...base, [name]: sample(doc, ps) }));
        }
        for (const name of bodySchema.required ?? []) {
          const { [name]: _dropped, ...rest } = base;
          json(`required:${name}:missing`, JSON.stringify(rest));
        }
        json('extra-property', JSON.stringify({ ...base, fuzzExtra: 1 }));
        json('valid-ish', JSON.stringify(base));
        for (const [name, value] of Object.entries(base)) {
          if (typeof value !== 'string' || value.length < 64) continue;
          for (const [label, text] of textMutations(value, rand)) json(`text:${name}:${label}`, JSON.stringify({ ...base, [name]: text }));
        }
        const full = { ...(sample(doc, bodySchema, 0, true) as Record<string, unknown>), ...base };
        json('valid-ish-full', JSON.stringify(full));
        // One property at a time wrong on the full body too: the other checks then pass.
        for (const [name] of props) json(`full:${name}:infinite`, JSON.stringify({ ...full, [name]: '\u0000inf' }).replace('"\\u0000inf"', '1e999'));
        for (const [name, propSchema] of props) json(`full:${name}:wrong`, JSON.stringify({ ...full, [name]: wrongValues(resolve(doc, propSchema))[Math.floor(rand() * 6)] }));
      } else if (jsonBody && Array.isArray(baseBody) && typeof baseBody[0] === 'object' && baseBody[0] !== null) {
        // A batch (the documented example's items): each field of the first item broken in turn.
        const [first, ...others] = baseBody as Array<Record<string, unknown>>;
        const withFirst = (item: unknown): string => JSON.stringify([item, ...others]);
        for (const [name, value] of Object.entries(first!)) {
          wrongValues({ type: Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value }).forEach((v, i) => json(`item:${name}:wrong-${i}`, withFirst({ ...first, [name]: v })));
          const { [name]: _dropped, ...rest } = first!;
          json(`item:${name}:missing`, withFirst(rest));
          json(`item:${name}:huge`, withFirst({ ...first, [name]: 'a'.repeat(MIB / 2) }));
          json(`item:${name}:infinite`, withFirst({ ...first, [name]: '\u0000inf' }).replace('"\\u0000inf"', '1e999'));
          json(`item:${name}:deep`, `[{"${name}":${deepJson(10_000, 'array')}}]`);
        }
        json('item:extra-property', withFirst({ ...first, fuzzExtra: 1 }));
        json('items:empty', '[]');
        json('items:many', JSON.stringify(Array.from({ length: 10_000 }, () => first)));
        json('items:null-item', JSON.stringify([null, ...baseBody]));
        json('items:valid-ish', JSON.stringify(baseBody));
      } else if (!jsonBody && bodyType !== undefined) {
        json('raw-empty', '', bodyType);
        json('raw-big', Buffer.alloc(2 * MIB, 7), bodyType);
      }
    }
  }
  return out;
}

export interface ProbeOptions {
  /** How long one request may take before it counts as a hang (generous: no performance claim). */
  readonly timeoutMs?: number;
  /** Status codes that are acceptable 5xx answers (a documented 503 of a dependency configured down). */
  readonly allow5xx?: readonly number[];
  /** The stable code of an error body; default its top-level `code` (a route family with another error format says where its code is). */
  readonly codeOf?: (body: unknown) => unknown;
  /** Sees every answer (0: none), e.g. to show the walk reached the handlers at all. */
  readonly onAnswer?: (request: FuzzRequest, status: number) => void;
  /**
   * Where the requests go: through `app.inject` (default), or over HTTP to this base URL of the
   * app listening, so that Node's own HTTP parser and limits answer too (an oversized request
   * line never reaches a route). Non-ASCII header values are sent as UTF-8 bytes.
   */
  readonly baseUrl?: string;
  /** A further rule per answer: returns the problem, or undefined when the answer is fine. */
  readonly check?: (request: FuzzRequest, status: number, code: string | undefined) => string | undefined;
}

/**
 * Sends each request through `app.inject` and returns every answer that breaks the boundary
 * rule. Streams (SSE) count as answered once their head is written; their body is not read.
 */
export async function probe(app: ServiceApp, requests: readonly FuzzRequest[], options: ProbeOptions = {}): Promise<FuzzFinding[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const findings: FuzzFinding[] = [];
  for (const r of requests) {
    const finding = (status: number, problem: string): void => {
      findings.push({ operation: r.operation, label: r.label, url: r.url.length > 200 ? `${r.url.slice(0, 200)}…` : r.url, status, problem });
    };
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      const answer = await Promise.race([
        options.baseUrl !== undefined ? overHttp(options.baseUrl, r, abort.signal) : (async () => {
          const res = await app.inject({ method: r.method as 'GET', url: r.url, headers: r.headers, ...(r.payload === undefined ? {} : { payload: r.payload }), payloadAsStream: true, signal: abort.signal });
          const type = String(res.headers['content-type'] ?? '');
          if (type.startsWith('text/event-stream')) {
            res.stream().on('error', () => undefined);
            abort.abort();
            return { status: res.statusCode, type, body: '' };
          }
          const parts: Buffer[] = [];
          for await (const p of res.stream()) parts.push(Buffer.from(p as Uint8Array));
          return { status: res.statusCode, type, body: Buffer.concat(parts).toString('utf8') };
        })(),
        timeout,
      ]);
      options.onAnswer?.(r, answer === 'timeout' ? 0 : answer.status);
      if (answer === 'timeout') {
        abort.abort();
        finding(0, `no answer within ${timeoutMs} ms`);
        continue;
      }
      if (answer.status >= 500 && !(options.allow5xx ?? []).includes(answer.status)) finding(answer.status, `5xx: ${answer.body.slice(0, 200)}`);
      let code: unknown;
      try {
        const body = JSON.parse(answer.body) as { code?: unknown } | null;
        code = options.codeOf ? options.codeOf(body) : body?.code;
      } catch {
        code = undefined;
      }
      // A HEAD answer has no body to carry a code.
      if (r.method !== 'HEAD' && answer.status >= 400 && answer.status < 500 && (typeof code !== 'string' || code === '')) finding(answer.status, `4xx without a string code (${answer.type}): ${answer.body.slice(0, 200)}`);
      const extra = options.check?.(r, answer.status, typeof code === 'string' ? code : undefined);
      if (extra !== undefined) finding(answer.status, extra);
    } catch (err) {
      finding(0, `inject threw: ${(err as Error).stack ?? String(err)}`.slice(0, 500));
    } finally {
      clearTimeout(timer);
    }
  }
  return findings;
}

/** One request over HTTP, answered as probe reads it (a stream's body is not read). */
function overHttp(baseUrl: string, r: FuzzRequest, signal: AbortSignal): Promise<{ status: number; type: string; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  const headers: Record<string, string> = {};
  // Node refuses to send characters outside latin1 in a header: send their UTF-8 bytes as latin1.
  for (const [k, v] of Object.entries(r.headers)) headers[k] = Buffer.from(v, 'utf8').toString('latin1');
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, method: r.method, path: r.url, headers, signal }, (res) => {
      const type = String(res.headers['content-type'] ?? '');
      if (type.startsWith('text/event-stream')) {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, type, body: '' });
        return;
      }
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(r.payload);
  });
}

/**
 * The unauthenticated pass: every operation without (or with a broken) Authorization must be
 * refused with 401 and a code, except the routes named public.
 */
export async function probeUnauthenticated(app: ServiceApp, options: { readonly publicOperations?: readonly string[]; readonly pathValues?: Readonly<Record<string, string>>; readonly skip?: readonly string[] } & Pick<ProbeOptions, 'timeoutMs' | 'codeOf'> = {}): Promise<FuzzFinding[]> {
  const requests = adversarialRequests(await openApiOf(app), { skip: options.skip, ...(options.pathValues ? { pathValues: options.pathValues } : {}) }).filter((r) => r.label === 'base' || r.label.startsWith('auth:'));
  const publicOps = options.publicOperations ?? [];
  return probe(app, requests, {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.codeOf === undefined ? {} : { codeOf: options.codeOf }),
    check: (r, status, code) => (publicOps.includes(r.operation) || (status === 401 && code === 'UNAUTHENTICATED') ? undefined : `expected 401 UNAUTHENTICATED, got code ${String(code)}`),
  });
}

/** Counts a walk's answers by operation and status (pass its onAnswer to probe). */
export function statusTally(): { readonly onAnswer: (request: FuzzRequest, status: number) => void; readonly counts: Record<string, Record<number, number>>; successes(): number } {
  const counts: Record<string, Record<number, number>> = {};
  return {
    counts,
    onAnswer: (r, status) => {
      const byStatus = (counts[r.operation] ??= {});
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    },
    successes: () => Object.values(counts).reduce((n, byStatus) => n + Object.entries(byStatus).reduce((m, [status, c]) => m + (Number(status) >= 200 && Number(status) < 300 ? c : 0), 0), 0),
  };
}

/** After a walk: the app still answers its liveness route. */
export async function stillAlive(app: ServiceApp): Promise<boolean> {
  const res = await app.inject({ method: 'GET', url: '/healthz' });
  return res.statusCode === 200;
}

/** What one whole walk of an app found (see walkAdversarially). */
export interface WalkSummary {
  /** Answers that broke the boundary rule; empty when the app held. */
  readonly findings: readonly FuzzFinding[];
  /** At least one request got a 2xx: the walk reached the handlers, not only schemas and the token check. */
  readonly reachedHandlers: boolean;
  /**
   * Operations no request of the walk got a 2xx from: their handler code past validation and the
   * first dependency call was walked with invalid input only (sorted; tests name the expected ones).
   */
  readonly unreached: readonly string[];
  /** The app still answered /healthz after the walk. */
  readonly alive: boolean;
}

/**
 * The whole walk for a service test: its OpenAPI document, every request of adversarialRequests,
 * probe, then the liveness check. Tests assert `toEqual({ findings: [], reachedHandlers: true, unreached: [], alive: true })`.
 * `overHttp`: the app listens on a loopback port and the request lines and headers go over HTTP
 * (call it once per app; close the app afterwards). `FUZZ_SUMMARY=1` writes the answers'
 * statuses by operation to stderr.
 */
export async function walkAdversarially(app: ServiceApp, options: AdversarialOptions & ProbeOptions & { readonly overHttp?: boolean }): Promise<WalkSummary> {
  let requests = adversarialRequests(await openApiOf(app), options);
  if (options.overHttp) {
    // Over a real socket only what the transport changes: the request line and the headers.
    requests = requests.filter((r) => /^(base|path|query|auth|header|method):?/.test(r.label));
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    options = { ...options, baseUrl: address };
  }
  const tally = statusTally();
  const findings = await probe(app, requests, { ...options, onAnswer: tally.onAnswer });
  if (process.env['FUZZ_SUMMARY']) process.stderr.write(`${requests.length} requests: ${JSON.stringify(tally.counts)}\n`);
  const succeeded = (op: string): boolean => Object.keys(tally.counts[op] ?? {}).some((status) => Number(status) >= 200 && Number(status) < 300);
  const unreached = [...new Set(requests.map((r) => r.operation))].filter((op) => !succeeded(op)).sort();
  return { findings, reachedHandlers: tally.successes() > 0, unreached, alive: await stillAlive(app) };
}
