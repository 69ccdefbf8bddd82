import { InvalidRangeError } from './errors.js';

export interface ExpectedRange {
  readonly min: number;
  readonly max: number;
}

/** Attribute names (case-insensitive) that carry a sensor's expected bounds in our AML files. */
const MIN_NAMES = new Set(['expectedmin', 'min', 'minvalue', 'requiredminvalue']);
const MAX_NAMES = new Set(['expectedmax', 'max', 'maxvalue', 'requiredmaxvalue']);

/**
 * Reads `{min, max}` from an AML (CAEX) fragment: the `ExpectedMin`/`ExpectedMax` attributes
 * (also `Min`/`Max`) of the sensor element, or of the element with `elementId` when the
 * fragment holds several. A regex scan, not a full XML parse: the fragment only has to yield
 * two numbers, and anything ambiguous is refused rather than guessed.
 */
export function expectedRangeFromAml(aml: string, elementId?: string): ExpectedRange {
  if (aml.length > 1_000_000) throw new InvalidRangeError('AML fragment larger than 1 MB');
  let scope = aml;
  if (elementId !== undefined) {
    const open = new RegExp(`<InternalElement\\b[^>]*\\bID="${elementId.replace(/[^A-Za-z0-9._:-]/g, '')}"[^>]*>`);
    const m = open.exec(aml);
    if (!m) throw new InvalidRangeError('the AML fragment has no element with that ID', { details: { elementId } });
    const start = m.index + m[0].length;
    // The element's own attributes come before its first child element.
    const child = aml.indexOf('<InternalElement', start);
    const close = aml.indexOf('</InternalElement>', start);
    const end = [child, close].filter((i) => i >= 0).reduce((a, b) => Math.min(a, b), aml.length);
    scope = aml.slice(start, end);
  }
  const attr = /<Attribute\b[^>]*\bName="([^"]+)"[^>]*>([\s\S]*?)<\/Attribute>/g;
  const mins: number[] = [];
  const maxs: number[] = [];
  for (let m = attr.exec(scope); m; m = attr.exec(scope)) {
    const name = m[1]!.toLowerCase();
    const value = /<Value>\s*([^<]*?)\s*<\/Value>/.exec(m[2]!)?.[1];
    if (value === undefined) continue;
    if (MIN_NAMES.has(name)) mins.push(Number(value));
    if (MAX_NAMES.has(name)) maxs.push(Number(value));
  }
  if (mins.length !== 1 || maxs.length !== 1) {
    throw new InvalidRangeError('the AML fragment must hold exactly one min and one max attribute for the sensor', { details: { mins: mins.length, maxs: maxs.length } });
  }
  return checkRange({ min: mins[0]!, max: maxs[0]! });
}

export function checkRange(r: { min: number; max: number }): ExpectedRange {
  if (!Number.isFinite(r.min) || !Number.isFinite(r.max) || r.min > r.max) {
    throw new InvalidRangeError('expected range needs finite min <= max', { details: { min: String(r.min), max: String(r.max) } });
  }
  return { min: r.min, max: r.max };
}
