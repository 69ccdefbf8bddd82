import { ErrorCodes, fail } from '../errors';
import { Limits } from '../limits';
import type { CaexNode } from './caex';
import type { XmlElement } from './xml';

/**
 * Programs in AML (see README "Programs and safety rules"): an InternalElement whose
 * RoleRequirements (or SupportedRoleClass) points at PROGRAM_ROLE_CLASS. Its Name is the
 * program name; each direct Attribute is a parameter with an AttributeDataType, an optional
 * DefaultValue (making it optional) and Constraints (OrdinalScaledType min/max,
 * NominalScaledType allowed values), all of which a call must satisfy.
 */
export const PROGRAM_ROLE_CLASS = 'TwinLedgerRoleClassLib/Program';

export type ParamType = 'double' | 'int' | 'boolean' | 'string';
export type ParamValue = number | boolean | string;

const TYPE_MAP: Record<string, ParamType> = {
  'xs:double': 'double',
  'xs:float': 'double',
  'xs:decimal': 'double',
  'xs:int': 'int',
  'xs:integer': 'int',
  'xs:long': 'int',
  'xs:short': 'int',
  'xs:boolean': 'boolean',
  'xs:string': 'string',
};

export interface ParamDefinition {
  name: string;
  dataType: string;
  type: ParamType;
  unit?: string;
  required: boolean;
  default?: ParamValue;
  min?: number;
  max?: number;
  /** NominalScaledType: the value must be one of these (intersection if several constraints). */
  allowed?: ParamValue[];
}

export interface ProgramDefinition {
  twinId: string;
  elementId: string;
  name: string;
  parameters: ParamDefinition[];
}

/** Whether the element claims the role class, by RoleRequirements or SupportedRoleClass. */
export function hasRoleClass(own: XmlElement, path: string): boolean {
  return own.children.some(
    (c) =>
      (c.name === 'RoleRequirements' && c.attrs.RefBaseRoleClassPath === path) ||
      (c.name === 'SupportedRoleClass' && c.attrs.RefRoleClassPath === path),
  );
}

export function isProgram(own: XmlElement): boolean {
  return hasRoleClass(own, PROGRAM_ROLE_CLASS);
}

const DOUBLE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INT = /^[+-]?\d+$/;

/** Reads a typed value from AML text; undefined if the text is not of that type. */
export function parseTyped(type: ParamType, text: string): ParamValue | undefined {
  const t = text.trim();
  switch (type) {
    case 'double': {
      if (!DOUBLE.test(t)) return undefined;
      const n = Number(t);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'int': {
      if (!INT.test(t)) return undefined;
      const n = Number(t);
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case 'boolean':
      if (t === 'true' || t === '1') return true;
      if (t === 'false' || t === '0') return false;
      return undefined;
    case 'string':
      return text;
  }
}

function childText(el: XmlElement, name: string, where: string): string | undefined {
  const c = el.children.find((x) => x.name === name);
  if (c === undefined) return undefined;
  // A CAEX 2.15 DefaultValue may hold elements (xs:anyType): no value a call could take.
  if (c.children.length > 0) fail(ErrorCodes.AML_INVALID, `${where}: ${name} holds elements, not a value`);
  return c.text ?? '';
}

function parseParam(programName: string, a: XmlElement): ParamDefinition {
  const name = a.attrs.Name ?? '';
  const where = `program ${programName}, parameter ${name}`;
  const dataType = a.attrs.AttributeDataType;
  if (dataType === undefined) fail(ErrorCodes.AML_INVALID, `${where}: AttributeDataType is required`);
  const type = TYPE_MAP[dataType];
  if (!type) fail(ErrorCodes.AML_INVALID, `${where}: unsupported AttributeDataType ${dataType}`);
  if (a.children.some((c) => c.name === 'Attribute')) fail(ErrorCodes.AML_INVALID, `${where}: nested attributes are not supported`);
  const def: ParamDefinition = { name, dataType, type, required: true };
  if (a.attrs.Unit !== undefined) def.unit = a.attrs.Unit;
  for (const c of a.children.filter((x) => x.name === 'Constraint')) {
    for (const k of c.children) {
      if (k.name === 'OrdinalScaledType') {
        if (type !== 'double' && type !== 'int') fail(ErrorCodes.AML_INVALID, `${where}: OrdinalScaledType needs a numeric type`);
        for (const [tag, prop] of [
          ['RequiredMinValue', 'min'],
          ['RequiredMaxValue', 'max'],
        ] as const) {
          const txt = childText(k, tag, where);
          if (txt === undefined) continue;
          const n = parseTyped('double', txt);
          if (typeof n !== 'number') fail(ErrorCodes.AML_INVALID, `${where}: ${tag} is not a number`);
          // Several constraints all apply: keep the tightest bound.
          if (prop === 'min') def.min = def.min === undefined ? n : Math.max(def.min, n);
          else def.max = def.max === undefined ? n : Math.min(def.max, n);
        }
      } else if (k.name === 'NominalScaledType') {
        const values = k.children.filter((x) => x.name === 'RequiredValue').map((x) => {
          const v = parseTyped(type, x.text ?? '');
          if (v === undefined) fail(ErrorCodes.AML_INVALID, `${where}: RequiredValue '${x.text ?? ''}' is not ${dataType}`);
          return v;
        });
        def.allowed = def.allowed === undefined ? values : def.allowed.filter((v) => values.includes(v));
      }
    }
  }
  if (def.min !== undefined && def.max !== undefined && def.min > def.max) {
    fail(ErrorCodes.AML_INVALID, `${where}: RequiredMinValue exceeds RequiredMaxValue`);
  }
  if (def.allowed !== undefined && def.allowed.length === 0) fail(ErrorCodes.AML_INVALID, `${where}: no value is allowed`);
  const dflt = childText(a, 'DefaultValue', where);
  if (dflt !== undefined) {
    const v = parseTyped(type, dflt);
    if (v === undefined) fail(ErrorCodes.AML_INVALID, `${where}: DefaultValue is not ${dataType}`);
    if (checkBounds(def, v) !== undefined) fail(ErrorCodes.AML_INVALID, `${where}: DefaultValue violates its constraints`);
    def.default = v;
    def.required = false;
  }
  return def;
}

function checkBounds(def: ParamDefinition, v: ParamValue): string | undefined {
  if (typeof v === 'number') {
    if (def.min !== undefined && v < def.min) return `${v} is below the minimum ${def.min}`;
    if (def.max !== undefined && v > def.max) return `${v} is above the maximum ${def.max}`;
  }
  if (def.allowed !== undefined && !def.allowed.includes(v)) return `${JSON.stringify(v)} is not one of ${JSON.stringify(def.allowed)}`;
  return undefined;
}

export function programOf(twinId: string, node: Pick<CaexNode, 'id' | 'own'>): ProgramDefinition | undefined {
  if (!isProgram(node.own)) return undefined;
  const name = node.own.attrs.Name ?? '';
  const parameters = node.own.children.filter((c) => c.name === 'Attribute').map((a) => parseParam(name, a));
  const seen = new Set<string>();
  for (const p of parameters) {
    if (seen.has(p.name)) fail(ErrorCodes.AML_INVALID, `program ${name}: parameter ${p.name} is declared twice`);
    seen.add(p.name);
  }
  return { twinId, elementId: node.id, name, parameters };
}

/**
 * Checks a call's parameters against the program's safety rules. Wrong or missing types are
 * VALIDATION_FAILED, values outside the bounds OUT_OF_BOUNDS; returns the complete,
 * typed parameters (defaults filled in).
 */
export function checkCall(program: ProgramDefinition, params: Record<string, unknown>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const k of Object.keys(params)) {
    if (!program.parameters.some((p) => p.name === k)) {
      fail(ErrorCodes.VALIDATION_FAILED, `program ${program.name} has no parameter '${k}'`);
    }
  }
  for (const def of program.parameters) {
    const v = Object.prototype.hasOwnProperty.call(params, def.name) ? params[def.name] : undefined;
    if (v === undefined || v === null) {
      if (def.required) fail(ErrorCodes.VALIDATION_FAILED, `parameter '${def.name}' (${def.dataType}) is required`);
      out[def.name] = def.default as ParamValue;
      continue;
    }
    const ok =
      (def.type === 'double' && typeof v === 'number' && Number.isFinite(v)) ||
      (def.type === 'int' && typeof v === 'number' && Number.isSafeInteger(v)) ||
      (def.type === 'boolean' && typeof v === 'boolean') ||
      (def.type === 'string' && typeof v === 'string' && v.length <= Limits.MAX_TEXT_LENGTH);
    if (!ok) fail(ErrorCodes.VALIDATION_FAILED, `parameter '${def.name}' must be ${def.dataType}`);
    const problem = checkBounds(def, v as ParamValue);
    if (problem !== undefined) fail(ErrorCodes.OUT_OF_BOUNDS, `parameter '${def.name}': ${problem}`);
    out[def.name] = v as ParamValue;
  }
  return out;
}
