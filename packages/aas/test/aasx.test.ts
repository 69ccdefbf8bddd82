import { describe, expect, it } from '@jest/globals';
import { strFromU8, unzipSync, zipSync } from 'fflate';
import { buildAasx, environmentFromJson, mapTwin, readAasx, toJson, verificationErrors } from '../src/index.js';
import { BOTTLING, bottlingSource } from './support.js';

describe('AASX packaging', () => {
  const twin = mapTwin(bottlingSource({ documentLink: (d) => `/aasx/documents/${d.latest?.hash ?? d.hash}` }));
  const manual = new TextEncoder().encode('the manual');
  const aasx = buildAasx(twin.environment, [
    { path: '/aasx/files/plant-1.aml', contentType: 'application/xml', bytes: new TextEncoder().encode(BOTTLING) },
    { path: `/aasx/documents/${'1'.repeat(64)}`, contentType: 'application/octet-stream', bytes: manual },
  ]);

  it('is an OPC package whose relationships lead to a specification that passes verification', () => {
    const content = readAasx(aasx);
    expect(content.specs).toHaveLength(1);
    const env = environmentFromJson(content.specs[0]!.json);
    expect(verificationErrors(env)).toEqual([]);
    expect(toJson(env)).toEqual(toJson(twin.environment));
    expect(strFromU8(content.parts.get('[Content_Types].xml')!)).toContain('PartName="/aasx/files/plant-1.aml" ContentType="application/xml"');
  });

  it('carries the AML and the documents as supplementary files, the File elements pointing at them', () => {
    const content = readAasx(aasx);
    expect(strFromU8(content.supplementary.get('/aasx/files/plant-1.aml')!)).toBe(BOTTLING);
    expect(content.supplementary.get(`/aasx/documents/${'1'.repeat(64)}`)).toEqual(manual);
    expect(JSON.stringify(content.specs[0]!.json)).toContain(`"value":"/aasx/documents/${'1'.repeat(64)}"`);
  });

  it('is the same bytes for the same state', () => {
    expect(buildAasx(twin.environment, [])).toEqual(buildAasx(twin.environment, []));
  });

  it('refuses part names outside /aasx/ and broken packages with AASX_INVALID', () => {
    expect(() => buildAasx(twin.environment, [{ path: '/../etc/passwd', contentType: 'text/plain', bytes: new Uint8Array() }])).toThrow(expect.objectContaining({ code: 'AASX_INVALID' }));
    expect(() => readAasx(new Uint8Array([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'AASX_INVALID' }));
    const parts = unzipSync(aasx);
    delete parts['aasx/aasx-origin'];
    delete parts['aasx/_rels/aasx-origin.rels'];
    expect(() => readAasx(zipSync(parts))).toThrow(expect.objectContaining({ code: 'AASX_INVALID' }));
  });
});
