// A sensor element's expected bounds as our AML files write them: one place for the attribute
// names, so feed-ingest (which raises anomalies at ingest) and the console (which shows them to
// every party that may read the feed, from the specification on the ledger) judge by the same rule.
// No imports: the console's browser bundle loads this module alone (`@twinledger/aml/sensor-range`).

/** Attribute names (compared lower-cased) that carry a sensor's expected minimum. */
export const EXPECTED_MIN_NAMES: ReadonlySet<string> = new Set(['expectedmin', 'min', 'minvalue', 'requiredminvalue']);
/** Attribute names (compared lower-cased) that carry a sensor's expected maximum. */
export const EXPECTED_MAX_NAMES: ReadonlySet<string> = new Set(['expectedmax', 'max', 'maxvalue', 'requiredmaxvalue']);

export interface SensorAttribute {
  readonly name: string;
  /** The attribute's `Value` text; undefined when it has none. */
  readonly value: string | undefined;
}

/**
 * The candidate bounds among an element's attributes, every one found (the caller decides what
 * is ambiguous: feed-ingest refuses anything but exactly one of each).
 */
export function expectedBounds(attributes: Iterable<SensorAttribute>): { mins: number[]; maxs: number[] } {
  const mins: number[] = [];
  const maxs: number[] = [];
  for (const a of attributes) {
    if (a.value === undefined) continue;
    const name = a.name.toLowerCase();
    if (EXPECTED_MIN_NAMES.has(name)) mins.push(Number(a.value));
    if (EXPECTED_MAX_NAMES.has(name)) maxs.push(Number(a.value));
  }
  return { mins, maxs };
}
