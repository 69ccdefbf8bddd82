import { AmlInvalidError, expectedBounds, readAmlDocument, readAmlFragment, type XmlElement } from '@twinledger/aml';
import { InvalidRangeError } from './errors.js';

export interface ExpectedRange {
  readonly min: number;
  readonly max: number;
}

/**
 * The InternalElements of an AML fragment, or of a whole CAEX document, read by the project's
 * one AML reader with the chaincode's rules and limits: what the ledger would refuse is refused
 * here with the ledger's code (AML_INVALID, DOCTYPE_FORBIDDEN, DUPLICATE_ID, TOO_LARGE).
 */
function readElements(aml: string): XmlElement[] {
  let roots: readonly XmlElement[];
  try {
    roots = [readAmlDocument(aml).root];
  } catch (e) {
    // Not a CAEXFile (one InternalElement, or several): then it must be an insertAML fragment.
    if (!(e instanceof AmlInvalidError && e.details?.['rule'] === 'root')) throw e;
    roots = readAmlFragment(aml).elements;
  }
  const out: XmlElement[] = [];
  // Iterative: nesting is bounded by the reader, but a flat walk needs no bound at all.
  const stack = [...roots];
  while (stack.length > 0) {
    const el = stack.pop()!;
    if (el.name === 'InternalElement') out.push(el);
    for (const c of el.children) if (c.name === 'InstanceHierarchy' || c.name === 'InternalElement') stack.push(c);
  }
  return out;
}

/**
 * Reads `{min, max}` from an AML (CAEX) fragment or document: the `ExpectedMin`/`ExpectedMax`
 * attributes (also `Min`/`Max`) of the sensor element, or of the element with `elementId` when
 * the AML holds several. Anything ambiguous is refused rather than guessed.
 */
export function expectedRangeFromAml(aml: string, elementId?: string): ExpectedRange {
  let scope = readElements(aml);
  if (elementId !== undefined) {
    scope = scope.filter((el) => el.attrs['ID'] === elementId);
    if (scope.length === 0) throw new InvalidRangeError('the AML fragment has no element with that ID', { details: { elementId } });
  }
  const { mins, maxs } = expectedBounds(
    scope.flatMap((el) => el.children.filter((a) => a.name === 'Attribute').map((a) => ({ name: a.attrs['Name'] ?? '', value: a.children.find((c) => c.name === 'Value') }))),
  );
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
