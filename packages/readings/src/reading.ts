import { ValidationError } from '@twinledger/errors';

/**
 * One sensor reading as it travels through `dt.readings` (device-agent and feed-ingest REST
 * produce it, the feed-ingest segment builder consumes it).
 */
export interface Reading {
  /** The registered feed id (the Kafka message key). */
  readonly feed: string;
  /** The AML component (InternalElement ID) the sensor belongs to. */
  readonly component: string;
  /** Device timestamp, integer milliseconds since the epoch. */
  readonly ts: number;
  /** One value, or several named values (e.g. {x, y, z}). Always finite numbers. */
  readonly v: number | Readonly<Record<string, number>>;
  /** Unit of the value(s), e.g. "degC", "bar". */
  readonly u: string;
}

/** Stable reasons a reading or a `dt.readings` message is refused (dead-letter `reason`). */
export const READING_ERROR_REASONS = [
  'MALFORMED_JSON',
  'NOT_AN_OBJECT',
  'UNKNOWN_FIELD',
  'BAD_FEED',
  'BAD_COMPONENT',
  'BAD_TIMESTAMP',
  'BAD_VALUE',
  'BAD_UNIT',
  'EMPTY_BATCH',
  'BATCH_TOO_LARGE',
  'KEY_MISMATCH',
  'MISSING_KEY',
] as const;
export type ReadingErrorReason = (typeof READING_ERROR_REASONS)[number];

/** A reading or message that breaks the format; `reason` is stable, `index` locates it in a batch. */
export class ReadingValidationError extends ValidationError {
  override readonly code: string = 'INVALID_READING';
  readonly reason: ReadingErrorReason;
  constructor(reason: ReadingErrorReason, message: string, details: Record<string, unknown> = {}) {
    super(message, { details: { reason, ...details } });
    this.reason = reason;
  }
}

/** Limits of the format (shared so that producers can check before sending). */
export const READING_LIMITS = {
  /** feed and component ids: 1..128 characters of [A-Za-z0-9._:-]. */
  maxIdLength: 128,
  maxUnitLength: 32,
  /** Named values per reading. */
  maxValueNames: 32,
  maxValueNameLength: 64,
  /** Upper bound of `ts` (2^50 ms, year ~37 600): keeps delta/zigzag arithmetic exact in doubles. */
  maxTimestamp: 2 ** 50,
  /** Readings per `dt.readings` message (a JSON array value). */
  maxBatch: 10_000,
} as const;

const ID_PATTERN = /^[A-Za-z0-9._:-]+$/;
const UNIT_PATTERN = /^[\x21-\x7e\u00b0\u00b5\u03a9]*$/u;
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const FIELDS = new Set(['feed', 'component', 'ts', 'v', 'u']);
const EMPTY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

// Readings of one batch repeat the same feed, component and unit: remember the last strings that
// passed so the regexes run once per batch, not once per reading (validation is on the hot path).
let lastFeed = '';
let lastComponent = '';
let lastUnit = '';

function checkId(value: unknown, reason: 'BAD_FEED' | 'BAD_COMPONENT', field: string, at: Record<string, unknown>): string {
  if (typeof value === 'string' && (reason === 'BAD_FEED' ? value === lastFeed : value === lastComponent) && value.length > 0) return value;
  if (typeof value !== 'string' || value.length === 0 || value.length > READING_LIMITS.maxIdLength || !ID_PATTERN.test(value)) {
    throw new ReadingValidationError(reason, `${field} must be 1..${READING_LIMITS.maxIdLength} characters of [A-Za-z0-9._:-]`, { field, ...at });
  }
  if (reason === 'BAD_FEED') lastFeed = value;
  else lastComponent = value;
  return value;
}

/**
 * Narrows an unknown value (parsed JSON) to a Reading or throws a ReadingValidationError.
 * `index` is only used to locate the error inside a batch.
 */
export function validateReading(input: unknown, index?: number): Reading {
  const at: Record<string, unknown> = index === undefined ? EMPTY : { index };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ReadingValidationError('NOT_AN_OBJECT', 'a reading must be a JSON object', at);
  }
  const record = input as Record<string, unknown>;
  for (const key in record) {
    if (!FIELDS.has(key)) throw new ReadingValidationError('UNKNOWN_FIELD', `unknown field "${key.slice(0, 64)}"`, { field: key.slice(0, 64), ...at });
  }
  const feed = checkId(record.feed, 'BAD_FEED', 'feed', at);
  const component = checkId(record.component, 'BAD_COMPONENT', 'component', at);
  const ts = record.ts;
  if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < 0 || ts >= READING_LIMITS.maxTimestamp) {
    throw new ReadingValidationError('BAD_TIMESTAMP', 'ts must be an integer number of ms since the epoch', { field: 'ts', ...at });
  }
  const v = record.v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ReadingValidationError('BAD_VALUE', 'v must be a finite number', { field: 'v', ...at });
  } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const names = Object.keys(v);
    if (names.length === 0 || names.length > READING_LIMITS.maxValueNames) {
      throw new ReadingValidationError('BAD_VALUE', `v must name 1..${READING_LIMITS.maxValueNames} values`, { field: 'v', ...at });
    }
    for (const name of names) {
      const x = (v as Record<string, unknown>)[name];
      if (name.length > READING_LIMITS.maxValueNameLength || !NAME_PATTERN.test(name) || typeof x !== 'number' || !Number.isFinite(x)) {
        throw new ReadingValidationError('BAD_VALUE', 'each named value must be a finite number under a name like [A-Za-z_][A-Za-z0-9_.-]*', { field: `v.${name.slice(0, 64)}`, ...at });
      }
    }
  } else {
    throw new ReadingValidationError('BAD_VALUE', 'v must be a finite number or an object of finite numbers', { field: 'v', ...at });
  }
  const u = record.u;
  if (typeof u !== 'string' || (u !== lastUnit && (u.length > READING_LIMITS.maxUnitLength || !UNIT_PATTERN.test(u)))) {
    throw new ReadingValidationError('BAD_UNIT', `u must be a unit string of at most ${READING_LIMITS.maxUnitLength} printable characters`, { field: 'u', ...at });
  }
  lastUnit = u;
  return { feed, component, ts, v: v as Reading['v'], u };
}
