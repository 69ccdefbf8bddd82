import fc from 'fast-check';
import { isOrderKey, keyBetween, keysBetween } from '../src/aml/order-key';

const key = fc.stringMatching(/^[0-9A-Za-z]{0,6}[1-9A-Za-z]$/);

describe('order keys', () => {
  it('keyBetween lies strictly between its bounds and stays a valid key', () => {
    fc.assert(
      fc.property(fc.option(key, { nil: null }), fc.option(key, { nil: null }), (a, b) => {
        if (a !== null && b !== null && a >= b) [a, b] = [b, a];
        if (a !== null && a === b) return;
        const k = keyBetween(a, b);
        expect(isOrderKey(k)).toBe(true);
        if (a !== null) expect(k > a).toBe(true);
        if (b !== null) expect(k < b).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('keysBetween spreads n sorted keys with logarithmic length', () => {
    const ks = keysBetween(null, null, 5000);
    expect(ks).toHaveLength(5000);
    expect([...ks].sort()).toEqual(ks);
    expect(new Set(ks).size).toBe(5000);
    expect(Math.max(...ks.map((k) => k.length))).toBeLessThanOrEqual(4);
  });

  it('appending grows keys slowly', () => {
    let k = 'V';
    for (let i = 0; i < 5000; i++) k = keyBetween(k, null);
    expect(k.length).toBeLessThan(100);
  });

  it('refuses bounds out of order', () => {
    expect(() => keyBetween('b', 'a')).toThrow(/out of order/);
  });
});
