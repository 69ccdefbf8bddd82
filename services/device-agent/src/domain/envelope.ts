import { readFile } from 'node:fs/promises';
import type { ParamValue } from './device.js';
import { EnvelopeInvalidError } from './errors.js';

/**
 * The operating organization's safety envelope (ARCHITECTURE 6 step 5): limits the agent
 * enforces on its own, whatever the ledger's program definition says. Two organizations
 * holding safety:write can widen a program's bounds on the ledger; they cannot edit this file, which the
 * plant operator mounts into the agent. File format (JSON, README "Safety envelope"):
 *
 * {
 *   "version": 1,
 *   "programs": {
 *     "SetConveyorSpeed": {
 *       "parameters": { "speed": { "min": 0, "max": 2.5 } },
 *       "requiredState": [{ "variable": "Flooding", "equals": false }],
 *       "maxCallsPerMinute": 30
 *     }
 *   }
 * }
 *
 * A program not listed is refused; a parameter not listed is refused (fail closed).
 */
export interface ParameterLimit {
  readonly min?: number;
  readonly max?: number;
  /** The only values allowed (booleans, strings or numbers). */
  readonly allowed?: readonly ParamValue[];
}

/** A device variable that must hold for the program to run (read just before the call). */
export interface StateCondition {
  /** Component whose variable it is; absent = a variable of the device object itself (Flooding). */
  readonly component?: string;
  readonly variable: string;
  readonly equals?: ParamValue;
  readonly min?: number;
  readonly max?: number;
}

export interface ProgramEnvelope {
  readonly parameters: Readonly<Record<string, ParameterLimit>>;
  readonly requiredState: readonly StateCondition[];
  readonly maxCallsPerMinute: number;
}

export interface SafetyEnvelope {
  readonly version: 1;
  readonly programs: Readonly<Record<string, ProgramEnvelope>>;
}

export type EnvelopeRefusalCode = 'PROGRAM_NOT_IN_ENVELOPE' | 'OUTSIDE_ENVELOPE' | 'DEVICE_STATE_NOT_PERMITTED' | 'RATE_LIMITED';

export type EnvelopeVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: EnvelopeRefusalCode; readonly reason: string; readonly parameter?: string; readonly state?: StateCondition; readonly observed?: ParamValue | null };

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isParamValue(v: unknown): v is ParamValue {
  return typeof v === 'boolean' || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/** Validates a parsed envelope; every problem is listed (path: problem), not only the first. */
export function parseEnvelope(raw: unknown, source = 'envelope'): SafetyEnvelope {
  const problems: string[] = [];
  const p = (path: string, msg: string): void => void problems.push(`${path}: ${msg}`);
  const knownKeys = (path: string, o: Record<string, unknown>, keys: readonly string[]): void => {
    for (const k of Object.keys(o)) if (!keys.includes(k)) p(`${path}.${k}`, 'unknown key');
  };
  const num = (path: string, v: unknown): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      p(path, 'must be a finite number');
      return undefined;
    }
    return v;
  };
  const programs: Record<string, ProgramEnvelope> = {};
  if (!isObject(raw)) p('$', 'must be a JSON object');
  else {
    knownKeys('$', raw, ['version', 'programs', 'description']);
    if (raw['version'] !== 1) p('$.version', 'must be 1');
    if (!isObject(raw['programs'])) p('$.programs', 'must be an object of program name -> envelope');
    else {
      for (const [name, prog] of Object.entries(raw['programs'])) {
        const at = `$.programs.${name}`;
        if (!NAME.test(name)) p(at, 'is not a program name');
        if (!isObject(prog)) {
          p(at, 'must be an object');
          continue;
        }
        knownKeys(at, prog, ['parameters', 'requiredState', 'maxCallsPerMinute']);
        const parameters: Record<string, ParameterLimit> = {};
        const params = prog['parameters'] ?? {};
        if (!isObject(params)) p(`${at}.parameters`, 'must be an object of parameter name -> limits');
        else {
          for (const [pn, lim] of Object.entries(params)) {
            const lat = `${at}.parameters.${pn}`;
            if (!isObject(lim)) {
              p(lat, 'must be an object {min?, max?, allowed?}');
              continue;
            }
            knownKeys(lat, lim, ['min', 'max', 'allowed']);
            const min = num(`${lat}.min`, lim['min']);
            const max = num(`${lat}.max`, lim['max']);
            let allowed: ParamValue[] | undefined;
            if (lim['allowed'] !== undefined) {
              if (!Array.isArray(lim['allowed']) || lim['allowed'].length === 0 || !lim['allowed'].every(isParamValue)) p(`${lat}.allowed`, 'must be a non-empty array of numbers, booleans or strings');
              else allowed = lim['allowed'] as ParamValue[];
            }
            if (min !== undefined && max !== undefined && min > max) p(lat, `min ${min} is above max ${max}`);
            if (min === undefined && max === undefined && allowed === undefined) p(lat, 'sets no limit (give min/max or allowed)');
            parameters[pn] = { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}), ...(allowed ? { allowed } : {}) };
          }
        }
        const requiredState: StateCondition[] = [];
        const rs = prog['requiredState'] ?? [];
        if (!Array.isArray(rs)) p(`${at}.requiredState`, 'must be an array');
        else {
          rs.forEach((c: unknown, i) => {
            const cat = `${at}.requiredState[${i}]`;
            if (!isObject(c)) return p(cat, 'must be an object {component?, variable, equals? | min?/max?}');
            knownKeys(cat, c, ['component', 'variable', 'equals', 'min', 'max']);
            if (typeof c['variable'] !== 'string' || !NAME.test(c['variable'])) return p(`${cat}.variable`, 'must be a variable name');
            if (c['component'] !== undefined && (typeof c['component'] !== 'string' || !NAME.test(c['component']))) return p(`${cat}.component`, 'must be a component ID');
            if (c['equals'] !== undefined && !isParamValue(c['equals'])) return p(`${cat}.equals`, 'must be a number, boolean or string');
            const min = num(`${cat}.min`, c['min']);
            const max = num(`${cat}.max`, c['max']);
            if (c['equals'] === undefined && min === undefined && max === undefined) return p(cat, 'states no condition (give equals or min/max)');
            requiredState.push({
              variable: c['variable'],
              ...(typeof c['component'] === 'string' ? { component: c['component'] } : {}),
              ...(c['equals'] !== undefined ? { equals: c['equals'] as ParamValue } : {}),
              ...(min !== undefined ? { min } : {}),
              ...(max !== undefined ? { max } : {}),
            });
          });
        }
        const rate = prog['maxCallsPerMinute'];
        if (typeof rate !== 'number' || !Number.isInteger(rate) || rate < 1 || rate > 10_000) p(`${at}.maxCallsPerMinute`, 'must be an integer 1..10000');
        programs[name] = { parameters, requiredState, maxCallsPerMinute: typeof rate === 'number' ? rate : 0 };
      }
    }
  }
  if (problems.length > 0) throw new EnvelopeInvalidError(`safety envelope ${source} is invalid: ${problems.join('; ')}`, { details: { source, problems } });
  return { version: 1, programs };
}

/** Reads and validates the envelope file (boot: a bad file stops the agent with every problem listed). */
export async function loadEnvelope(file: string): Promise<SafetyEnvelope> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new EnvelopeInvalidError(`cannot read safety envelope ${file}`, { cause: err, details: { source: file } });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new EnvelopeInvalidError(`safety envelope ${file} is not JSON: ${(err as Error).message}`, { cause: err, details: { source: file } });
  }
  return parseEnvelope(json, file);
}

/** Reads device state variables; undefined for a variable the device does not expose or reads as bad. */
export type StateReader = (conditions: readonly StateCondition[]) => Promise<readonly (ParamValue | undefined)[]>;

export interface EnvelopeGuard {
  /** Program listed and every parameter within its limits (no device access). */
  checkParameters(programName: string, parameters: Readonly<Record<string, ParamValue>>): EnvelopeVerdict;
  /** Required device state, read now. */
  checkState(programName: string, read: StateReader): Promise<EnvelopeVerdict>;
  /** Takes one call from the program's per-minute budget, or refuses when it is spent. */
  takeRate(programName: string): EnvelopeVerdict;
}

function describe(c: StateCondition): string {
  const where = c.component ? `${c.component}.${c.variable}` : c.variable;
  const want = c.equals !== undefined ? `= ${String(c.equals)}` : [c.min !== undefined ? `>= ${c.min}` : '', c.max !== undefined ? `<= ${c.max}` : ''].filter(Boolean).join(' and ');
  return `${where} ${want}`;
}

/**
 * The envelope as the executor applies it. The rate budget is a sliding 60 s window per program,
 * counted in this process: a restart starts a fresh window, which at most doubles one minute's
 * budget (the journal never re-executes a call).
 */
export function createEnvelopeGuard(envelope: SafetyEnvelope, now: () => number = Date.now): EnvelopeGuard {
  const windows = new Map<string, number[]>();
  return {
    checkParameters(programName, parameters) {
      const prog = envelope.programs[programName];
      if (!prog) return { ok: false, code: 'PROGRAM_NOT_IN_ENVELOPE', reason: `program ${programName} is not in the operator's safety envelope` };
      for (const [name, v] of Object.entries(parameters)) {
        const lim = prog.parameters[name];
        if (!lim) return { ok: false, code: 'OUTSIDE_ENVELOPE', reason: `parameter ${name} has no limits in the operator's safety envelope`, parameter: name };
        if (typeof v === 'number') {
          if (lim.min !== undefined && v < lim.min) return { ok: false, code: 'OUTSIDE_ENVELOPE', reason: `parameter ${name}=${v} is below the envelope minimum ${lim.min}`, parameter: name };
          if (lim.max !== undefined && v > lim.max) return { ok: false, code: 'OUTSIDE_ENVELOPE', reason: `parameter ${name}=${v} is above the envelope maximum ${lim.max}`, parameter: name };
        } else if (lim.min !== undefined || lim.max !== undefined) {
          return { ok: false, code: 'OUTSIDE_ENVELOPE', reason: `parameter ${name} must be a number within the envelope`, parameter: name };
        }
        if (lim.allowed !== undefined && !lim.allowed.some((a) => a === v)) return { ok: false, code: 'OUTSIDE_ENVELOPE', reason: `parameter ${name}=${String(v)} is not among the envelope's allowed values`, parameter: name };
      }
      return { ok: true };
    },
    async checkState(programName, read) {
      const conditions = envelope.programs[programName]?.requiredState ?? [];
      if (conditions.length === 0) return { ok: true };
      const values = await read(conditions);
      for (const [i, c] of conditions.entries()) {
        const v = values[i];
        const holds =
          v !== undefined &&
          (c.equals === undefined || v === c.equals) &&
          (c.min === undefined || (typeof v === 'number' && v >= c.min)) &&
          (c.max === undefined || (typeof v === 'number' && v <= c.max));
        // Unreadable state counts as not permitted: the envelope fails closed.
        if (!holds) return { ok: false, code: 'DEVICE_STATE_NOT_PERMITTED', reason: `program ${programName} needs ${describe(c)}; the device reports ${v === undefined ? 'nothing readable' : String(v)}`, state: c, observed: v ?? null };
      }
      return { ok: true };
    },
    takeRate(programName) {
      const prog = envelope.programs[programName];
      if (!prog) return { ok: false, code: 'PROGRAM_NOT_IN_ENVELOPE', reason: `program ${programName} is not in the operator's safety envelope` };
      const t = now();
      const w = (windows.get(programName) ?? []).filter((x) => x > t - 60_000);
      if (w.length >= prog.maxCallsPerMinute) {
        windows.set(programName, w);
        return { ok: false, code: 'RATE_LIMITED', reason: `program ${programName} already ran ${w.length} times in the last minute (envelope: ${prog.maxCallsPerMinute}/min)` };
      }
      w.push(t);
      windows.set(programName, w);
      return { ok: true };
    },
  };
}
