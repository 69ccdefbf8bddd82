import { ErrorCodes, fail } from '../errors';
import { Limits } from '../limits';

/* Guards that narrow chaincode arguments (always strings on the wire) to checked values. */

// C0 controls (except tab/newline/CR), DEL, and the two code points Fabric reserves in
// composite keys (U+0000 and U+10FFFF) never belong in an identifier.
const FORBIDDEN_IN_ID = /[\u0000-\u001f\u007f\u{10ffff}]/u;
const FORBIDDEN_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u{10ffff}]/u;

/** Twin IDs are used in keys and URLs, so they are kept to a conservative alphabet. */
const TWIN_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export function requireString(name: string, value: unknown): string {
  if (typeof value !== 'string') fail(ErrorCodes.VALIDATION_FAILED, `${name} must be a string`);
  return value;
}

export function requireTwinId(value: unknown, name = 'twinId'): string {
  const s = requireString(name, value);
  if (!TWIN_ID.test(s)) {
    fail(ErrorCodes.VALIDATION_FAILED, `${name} must match ${TWIN_ID.source}`);
  }
  return s;
}

export function requireId(name: string, value: unknown): string {
  const s = requireString(name, value);
  if (s.length === 0) fail(ErrorCodes.VALIDATION_FAILED, `${name} must not be empty`);
  if (s.length > Limits.MAX_ID_LENGTH) fail(ErrorCodes.TOO_LARGE, `${name} is longer than ${Limits.MAX_ID_LENGTH}`);
  if (FORBIDDEN_IN_ID.test(s)) fail(ErrorCodes.VALIDATION_FAILED, `${name} contains control characters`);
  if (s.trim() !== s) fail(ErrorCodes.VALIDATION_FAILED, `${name} has leading or trailing whitespace`);
  return s;
}

export function optionalId(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return requireId(name, value);
}

export function requireText(name: string, value: unknown, opts: { allowEmpty?: boolean; max?: number } = {}): string {
  const s = requireString(name, value);
  const max = opts.max ?? Limits.MAX_TEXT_LENGTH;
  if (!opts.allowEmpty && s.trim().length === 0) fail(ErrorCodes.VALIDATION_FAILED, `${name} must not be empty`);
  if (s.length > max) fail(ErrorCodes.TOO_LARGE, `${name} is longer than ${max}`);
  if (FORBIDDEN_IN_TEXT.test(s)) fail(ErrorCodes.VALIDATION_FAILED, `${name} contains control characters`);
  return s;
}

export function parseJsonArg(name: string, value: unknown): unknown {
  const s = requireString(name, value);
  if (Buffer.byteLength(s, 'utf8') > Limits.MAX_JSON_ARG_BYTES) {
    fail(ErrorCodes.TOO_LARGE, `${name} is larger than ${Limits.MAX_JSON_ARG_BYTES} bytes`);
  }
  try {
    return JSON.parse(s) as unknown;
  } catch {
    fail(ErrorCodes.VALIDATION_FAILED, `${name} is not valid JSON`);
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Refuses members the function does not know, so typos do not pass silently. */
export function onlyKeys(name: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) fail(ErrorCodes.VALIDATION_FAILED, `${name} has unknown member '${k}'`);
  }
}
