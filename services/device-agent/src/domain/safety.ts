import type { Program } from '@twinledger/ledger';
import type { ParamValue } from './device.js';

export type RefusalCode = 'UNKNOWN_PROGRAM' | 'UNKNOWN_PARAMETER' | 'MISSING_PARAMETER' | 'INVALID_TYPE' | 'OUT_OF_BOUNDS' | 'NOT_ALLOWED';

export type SafetyVerdict =
  | { readonly ok: true; readonly parameters: Readonly<Record<string, ParamValue>> }
  | { readonly ok: false; readonly code: RefusalCode; readonly reason: string; readonly parameter?: string };

function typeOk(type: string, v: unknown): v is ParamValue {
  switch (type) {
    case 'double':
      return typeof v === 'number' && Number.isFinite(v);
    case 'int':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    default:
      return false;
  }
}

/**
 * Re-checks a queued call against the program's safety rules as the specification states them
 * now (paper 6.2). The chaincode checked them when the call was queued, but the specification
 * may have changed since (a program removed, its bounds tightened), and the agent is the last
 * gate before the machine moves.
 */
export function checkProgramCall(program: Program | undefined, parameters: Readonly<Record<string, unknown>>): SafetyVerdict {
  if (!program) return { ok: false, code: 'UNKNOWN_PROGRAM', reason: 'the specification has no such program (any more)' };
  const known = new Map(program.parameters.map((p) => [p.name, p]));
  for (const name of Object.keys(parameters)) {
    if (!known.has(name)) return { ok: false, code: 'UNKNOWN_PARAMETER', reason: `program ${program.name} has no parameter ${name}`, parameter: name };
  }
  const out: Record<string, ParamValue> = {};
  for (const p of program.parameters) {
    const v = parameters[p.name] ?? p.default;
    if (v === undefined) {
      if (p.required) return { ok: false, code: 'MISSING_PARAMETER', reason: `parameter ${p.name} is required`, parameter: p.name };
      continue;
    }
    if (!typeOk(p.type, v)) return { ok: false, code: 'INVALID_TYPE', reason: `parameter ${p.name} must be of type ${p.type}`, parameter: p.name };
    if (typeof v === 'number') {
      if (p.min !== undefined && v < p.min) return { ok: false, code: 'OUT_OF_BOUNDS', reason: `parameter ${p.name}=${v} is below the minimum ${p.min}`, parameter: p.name };
      if (p.max !== undefined && v > p.max) return { ok: false, code: 'OUT_OF_BOUNDS', reason: `parameter ${p.name}=${v} is above the maximum ${p.max}`, parameter: p.name };
    }
    if (p.allowed !== undefined && !p.allowed.some((a) => a === v)) return { ok: false, code: 'NOT_ALLOWED', reason: `parameter ${p.name}=${String(v)} is not among the allowed values`, parameter: p.name };
    out[p.name] = v;
  }
  return { ok: true, parameters: out };
}

/** True when the device's read-back shows the requested values (numbers within rounding). */
export function readBackMatches(requested: Readonly<Record<string, ParamValue>>, readBack: Readonly<Record<string, ParamValue>>): boolean {
  return Object.entries(requested).every(([k, v]) => {
    const got = readBack[k];
    if (typeof v === 'number' && typeof got === 'number') return Math.abs(v - got) <= 1e-9 * Math.max(1, Math.abs(v));
    return got === v;
  });
}
