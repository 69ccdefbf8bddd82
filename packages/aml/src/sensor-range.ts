// A sensor element's expected bounds as our AML files write them: one place for the attribute
// names, so feed-ingest (which raises anomalies at ingest) and the console (which shows them to
// every party that may read the feed, from the specification on the ledger) judge by the same rule.
// No imports: the console's browser bundle loads this module alone (`@twinledger/aml/sensor-range`).

/** Attribute names (compared lower-cased) that carry a sensor's expected minimum. */
export const EXPECTED_MIN_NAMES: ReadonlySet<string> = new Set(['expectedmin', 'min', 'minvalue', 'requiredminvalue']);
/** Attribute names (compared lower-cased) that carry a sensor's expected maximum. */
export const EXPECTED_MAX_NAMES: ReadonlySet<string> = new Set(['expectedmax', 'max', 'maxvalue', 'requiredmaxvalue']);

/** An attribute's `Value` element as the XML model and the JSON tree both have it. */
export interface ValueElement {
  readonly text?: string;
  /** Elements (and runs of text beside them): a CAEX 2.15 value is xs:anyType. */
  readonly children: readonly unknown[];
}

export interface SensorAttribute {
  readonly name: string;
  /** The attribute's `Value` element; undefined when it has none. */
  readonly value: ValueElement | undefined;
}

/** A Value holding elements names no number: NaN, so the range is invalid, neither guessed nor missing. */
function boundOf(value: ValueElement | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value.children.length > 0) return NaN;
  return value.text === undefined ? undefined : Number(value.text);
}

/**
 * The candidate bounds among an element's attributes, every one found (the caller decides what
 * is ambiguous: feed-ingest refuses anything but exactly one of each).
 */
export function expectedBounds(attributes: Iterable<SensorAttribute>): { mins: number[]; maxs: number[] } {
  const mins: number[] = [];
  const maxs: number[] = [];
  for (const a of attributes) {
    const bound = boundOf(a.value);
    if (bound === undefined) continue;
    const name = a.name.toLowerCase();
    if (EXPECTED_MIN_NAMES.has(name)) mins.push(bound);
    if (EXPECTED_MAX_NAMES.has(name)) maxs.push(bound);
  }
  return { mins, maxs };
}
