import { TwinLedgerError } from '@twinledger/errors';

/** The environment was missing or malformed at boot; the message lists every problem at once. */
export class ConfigError extends TwinLedgerError {
  readonly code = 'CONFIG_INVALID';
}

/** One variable's parser: returns the value or throws a plain message. */
export interface EnvVar<T> {
  readonly parse: (raw: string | undefined, name: string) => T;
  /** The variable's former name, still read when the new one is unset (see `renamed`). */
  readonly formerly?: string;
}

/**
 * A variable that was renamed: `loadEnv` reads it under its new name and, for one release, under
 * `formerly` when the new name is unset (both set to different values is refused: which one the
 * operator meant is unknowable). `renamedInUse` tells the service what to log as deprecated.
 */
export function renamed<T>(formerly: string, v: EnvVar<T>): EnvVar<T> {
  return { ...v, formerly };
}

const isSet = (raw: string | undefined): raw is string => raw !== undefined && raw !== '';

/** The renamed variables this environment still sets under their former name (to be logged as deprecated). */
export function renamedInUse(spec: EnvSpec, env: NodeJS.ProcessEnv = process.env): { readonly name: string; readonly formerly: string }[] {
  return Object.entries(spec).flatMap(([name, v]) => (v.formerly !== undefined && isSet(env[v.formerly]) ? [{ name, formerly: v.formerly }] : []));
}

interface Common<T> {
  /** Used when the variable is unset or empty. Without it the variable is required. */
  readonly default?: T;
}

function required<T>(raw: string | undefined, opts: Common<T>, name: string, parse: (v: string) => T): T {
  if (raw === undefined || raw === '') {
    if (opts.default !== undefined) return opts.default;
    throw new Error(`${name} is required`);
  }
  return parse(raw);
}

export function str(opts: Common<string> & { readonly pattern?: RegExp } = {}): EnvVar<string> {
  return {
    parse: (raw, name) =>
      required(raw, opts, name, (v) => {
        if (opts.pattern && !opts.pattern.test(v)) throw new Error(`${name} must match ${opts.pattern}`);
        return v;
      }),
  };
}

export function optionalStr(): EnvVar<string | undefined> {
  return { parse: (raw) => (raw === undefined || raw === '' ? undefined : raw) };
}

export function int(opts: Common<number> & { readonly min?: number; readonly max?: number } = {}): EnvVar<number> {
  return {
    parse: (raw, name) =>
      required(raw, opts, name, (v) => {
        if (!/^-?\d+$/.test(v)) throw new Error(`${name} must be an integer, got '${v}'`);
        const n = Number(v);
        if (opts.min !== undefined && n < opts.min) throw new Error(`${name} must be >= ${opts.min}`);
        if (opts.max !== undefined && n > opts.max) throw new Error(`${name} must be <= ${opts.max}`);
        return n;
      }),
  };
}

export function bool(opts: Common<boolean> = {}): EnvVar<boolean> {
  return {
    parse: (raw, name) =>
      required(raw, opts, name, (v) => {
        if (/^(1|true|yes)$/i.test(v)) return true;
        if (/^(0|false|no)$/i.test(v)) return false;
        throw new Error(`${name} must be true or false, got '${v}'`);
      }),
  };
}

export function oneOf<const T extends string>(values: readonly T[], opts: Common<T> = {}): EnvVar<T> {
  return {
    parse: (raw, name) =>
      required(raw, opts, name, (v) => {
        if (!(values as readonly string[]).includes(v)) throw new Error(`${name} must be one of ${values.join(', ')}`);
        return v as T;
      }),
  };
}

export function list(opts: Common<string[]> = {}): EnvVar<string[]> {
  return {
    parse: (raw, name) =>
      required(raw, opts, name, (v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      ),
  };
}

export type EnvSpec = Record<string, EnvVar<unknown>>;
export type EnvOf<S extends EnvSpec> = { readonly [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never };

/**
 * Reads and validates the environment once at boot. Every problem is reported together,
 * so an operator fixes a broken deployment in one round.
 */
export function loadEnv<S extends EnvSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): EnvOf<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, v] of Object.entries(spec)) {
    try {
      let raw = env[name];
      if (v.formerly !== undefined && isSet(env[v.formerly])) {
        if (isSet(raw) && raw !== env[v.formerly]) throw new Error(`${name} and its former name ${v.formerly} are both set, to different values: unset ${v.formerly}`);
        raw = env[v.formerly];
      }
      out[name] = v.parse(raw, name);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, { details: { problems } });
  }
  return out as EnvOf<S>;
}

/** What a launcher may set for a service whose env is `S`: only the names it reads. */
export type EnvValues<S extends EnvSpec> = { readonly [K in keyof S]?: string | number | undefined };

/**
 * A child process's environment for a service, keyed by the service's own env definition: a
 * name it does not read (a typo, or a name from another service) fails to compile when written
 * out and is refused here when spread in, so a launcher cannot drift from the services it starts.
 * Unset values are left out.
 */
export function envFor<S extends EnvSpec>(spec: S, values: EnvValues<S>): Record<string, string> {
  const out: Record<string, string> = {};
  const unknown = Object.keys(values).filter((k) => !Object.hasOwn(spec, k));
  if (unknown.length > 0) throw new ConfigError(`not variables of this service: ${unknown.join(', ')}`, { details: { problems: unknown } });
  for (const [k, v] of Object.entries(values)) if (v !== undefined) out[k] = String(v);
  return out;
}
