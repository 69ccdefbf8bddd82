import { aas, type Environment, type JsonValue, type Submodel, type SubmodelElement } from './core.js';
import { AasVerificationError, IdShortPathInvalidError } from './errors.js';
import { isIdShort } from './id-short.js';

/** The library's JSON form of any AAS object (IDTA-01001 JSON schema). */
export const toJson = (that: Parameters<typeof aas.jsonization.toJsonable>[0]): JsonValue => aas.jsonization.toJsonable(that);

/** Every verification error of the library on `that` and everything it contains, as `path: cause`. */
export function verificationErrors(that: Parameters<typeof aas.verification.verify>[0]): string[] {
  const out: string[] = [];
  for (const e of aas.verification.verify(that, true)) out.push(`${e.path.toString()}: ${e.message}`);
  return out;
}

/** Refuses to serve an environment the library finds invalid: a mapping bug must not reach a client. */
export function assertValid(env: Environment): void {
  const errors = verificationErrors(env);
  if (errors.length > 0) throw new AasVerificationError(`the AAS mapping produced an invalid environment (${errors.length} errors)`, { details: { errors: errors.slice(0, 20) } });
}

/** Reads an environment back from JSON with the library (AASX readers and tests); throws on what it refuses. */
export function environmentFromJson(json: unknown): Environment {
  const r = aas.jsonization.environmentFromJsonable(json as JsonValue);
  if (r.error !== null) throw new Error(`not an AAS environment: ${r.error.path.toString()}: ${r.error.message}`);
  return r.mustValue();
}

/** An IDTA-01002 idShortPath (`A.B.C`; this mapping makes no lists, so no `[i]`) split into idShorts. */
export function parseIdShortPath(path: string): string[] {
  const parts = path.split('.');
  if (path.length > 4096 || parts.some((p) => !isIdShort(p))) throw new IdShortPathInvalidError('the idShortPath is not a dot-separated list of idShorts', { details: { idShortPath: path.slice(0, 256) } });
  return parts;
}

function childrenOf(e: SubmodelElement): readonly SubmodelElement[] {
  if (e instanceof aas.types.SubmodelElementCollection || e instanceof aas.types.SubmodelElementList) return e.value ?? [];
  if (e instanceof aas.types.Entity) return e.statements ?? [];
  return [];
}

/** The element at `path` in `submodel`, or undefined. */
export function findElement(submodel: Submodel, path: readonly string[]): SubmodelElement | undefined {
  let level: readonly SubmodelElement[] = submodel.submodelElements ?? [];
  let found: SubmodelElement | undefined;
  for (const idShort of path) {
    found = level.find((e) => e.idShort === idShort);
    if (!found) return undefined;
    level = childrenOf(found);
  }
  return found;
}

const NUMERIC = new Set<number>([
  aas.types.DataTypeDefXsd.Double, aas.types.DataTypeDefXsd.Float, aas.types.DataTypeDefXsd.Int, aas.types.DataTypeDefXsd.Short,
  aas.types.DataTypeDefXsd.Byte, aas.types.DataTypeDefXsd.UnsignedInt, aas.types.DataTypeDefXsd.UnsignedShort, aas.types.DataTypeDefXsd.UnsignedByte,
]);

/**
 * The ValueOnly form (IDTA-01001 Part 1, section on ValueOnly; served by `$value`) of the element
 * kinds this mapping makes. The library has no ValueOnly serializer; this is a projection of
 * the library's objects, not a serializer of the model: Property values are typed JSON (numbers
 * for the types JSON holds exactly, booleans, otherwise strings), collections are objects by
 * idShort, a File is `{contentType, value}`, an Operation has no value and is left out.
 */
export function valueOnly(e: SubmodelElement): unknown {
  if (e instanceof aas.types.Property) {
    if (e.value === null) return null;
    if (e.valueType === aas.types.DataTypeDefXsd.Boolean) return e.value === 'true' || e.value === '1';
    if (NUMERIC.has(e.valueType) && Number.isFinite(Number(e.value))) return Number(e.value);
    return e.value;
  }
  if (e instanceof aas.types.File) return { contentType: e.contentType, value: e.value ?? '' };
  if (e instanceof aas.types.ReferenceElement) return e.value === null ? null : toJson(e.value);
  if (e instanceof aas.types.SubmodelElementCollection || e instanceof aas.types.Entity) {
    const out: Record<string, unknown> = {};
    for (const c of childrenOf(e)) {
      const v = valueOnly(c);
      if (v !== undefined && c.idShort !== null) out[c.idShort] = v;
    }
    return out;
  }
  return undefined;
}
