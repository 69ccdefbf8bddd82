import { describe, expect, it } from '@jest/globals';
import { DHT_ERROR_CODES, DHT_ERROR_STATUS, dhtErrorClasses } from '@twinledger/dht';

describe('DHT error codes', () => {
  it('gives every code of the shared list a class with that code and status', () => {
    const codes = Object.values(DHT_ERROR_CODES);
    expect(Object.keys(dhtErrorClasses).sort()).toEqual([...codes].sort());
    for (const code of codes) {
      const err = new dhtErrorClasses[code]('m');
      expect({ code: err.code, httpStatus: err.httpStatus }).toEqual({ code, httpStatus: DHT_ERROR_STATUS[code] });
    }
  });
});
