import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Program } from '@twinledger/ledger';
import type { Producer } from '@twinledger/kafka';
import { silentLogger } from '@twinledger/observability';
import { decodeReadingsMessage } from '@twinledger/readings';
import { attributeMismatches, identityChange, isSensor, parseTwinAml, sensorFragment } from '../src/domain/aml.js';
import { openCallJournal } from '../src/domain/call-journal.js';
import { checkProgramCall, readBackMatches } from '../src/domain/safety.js';
import { createReadingForwarder } from '../src/domain/reading-forwarder.js';
import { derivedFeedRegistrar } from '../src/domain/feed-registrar.js';

const FIXTURE = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../../chaincode/fixtures/bottling-plant.aml'), 'utf8');

describe('AML of the twin', () => {
  const model = parseTwinAml(FIXTURE);
  it('finds the four sensors of the fixture with parent, order and attributes', () => {
    const sensors = [...model.elements.values()].filter(isSensor).map((e) => e.id);
    expect(sensors).toEqual(['sensor-fill-level-1', 'sensor-flow-1', 'sensor-pressure-1', 'sensor-temperature-1']);
    expect(model.elements.get('filler-1')?.childIds).toEqual(sensors);
    expect(model.elements.get('sensor-pressure-1')).toMatchObject({ parentId: 'filler-1', name: 'PressureSensor', attributes: { Unit: 'bar', ExpectedMin: '1.5', ExpectedMax: '3.0' } });
    expect(model.elements.get('plant-1')?.parentId).toBe('');
  });

  it('builds a sensor fragment from device metadata that reads back the same, escaped', () => {
    const c = { componentId: 'sensor-x-2', kind: 'sensor', name: 'X<&>"Sensor', parentId: 'filler-1', measuredQuantity: 'fill level', unit: 'mm', expectedMin: 180, expectedMax: 195.5, serialNumber: 'SN-1' };
    const frag = sensorFragment(c);
    expect(frag).toContain('Name="X&lt;&amp;&gt;&quot;Sensor"');
    const back = parseTwinAml(`<CAEXFile><InstanceHierarchy Name="h"><InternalElement Name="P" ID="filler-1">${frag}</InternalElement></InstanceHierarchy></CAEXFile>`).elements.get('sensor-x-2')!;
    expect(isSensor(back)).toBe(true);
    expect(back.name).toBe('X<&>"Sensor');
    expect(attributeMismatches(back, c)).toEqual([]);
    expect(attributeMismatches(back, { ...c, expectedMax: 200 })).toEqual([{ attribute: 'ExpectedMax', twin: '195.5', device: '200' }]);
    expect(() => sensorFragment({ ...c, componentId: 'bad id' })).toThrow(expect.objectContaining({ code: 'DEVICE_METADATA_INVALID' }));
    // Metadata the ledger's AML rules refuse never reaches a transaction.
    expect(() => sensorFragment({ ...c, name: 'bad\u0001name' })).toThrow(expect.objectContaining({ code: 'DEVICE_METADATA_INVALID', details: { componentId: 'sensor-x-2', reason: 'AML_INVALID' } }));
  });

  it('compares no text with a value held as element content (CAEX 2.15): the device\'s value is a difference', () => {
    const c = { componentId: 's-9', kind: 'sensor', name: 'S', parentId: 'filler-1', expectedMin: 0, serialNumber: 'SN-2' };
    const structured = (name: string, content: string) => `<Attribute Name="${name}"><Value>${content}</Value></Attribute>`;
    const spec = `<CAEXFile SchemaVersion="2.15" FileName="t.aml"><InstanceHierarchy Name="h"><InternalElement Name="P" ID="filler-1"><InternalElement Name="S" ID="s-9">${structured('ExpectedMin', '<v/>')}${structured('SerialNumber', 'SN <b>2</b>')}</InternalElement></InternalElement></InstanceHierarchy></CAEXFile>`;
    const el = parseTwinAml(spec).elements.get('s-9')!;
    expect(el.attributes).toEqual({});
    expect(attributeMismatches(el, c)).toEqual([{ attribute: 'ExpectedMin', twin: undefined, device: '0' }]);
    expect(identityChange(el, c)).toBeUndefined();
  });

  it('derives one stable feed ID per twin component', async () => {
    const r = derivedFeedRegistrar();
    const c = { componentId: 's-1', kind: 'sensor', name: 'S', parentId: 'p' };
    const a = await r.ensureFeed('t', c);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await r.ensureFeed('t', c)).toBe(a);
    expect(await r.ensureFeed('t2', c)).not.toBe(a);
  });
});

describe('safety re-check', () => {
  const program: Program = {
    twinId: 't', elementId: 'prog-set-conveyor-speed', name: 'SetConveyorSpeed',
    parameters: [
      { name: 'speed', dataType: 'xs:double', type: 'double', unit: 'm/s', required: true, min: 0, max: 2.5 },
      { name: 'mode', dataType: 'xs:string', type: 'string', required: false, default: 'normal', allowed: ['normal', 'slow'] },
    ],
  };
  it.each([
    [{ speed: 1.2 }, { ok: true, parameters: { speed: 1.2, mode: 'normal' } }],
    [{ speed: 2.5, mode: 'slow' }, { ok: true, parameters: { speed: 2.5, mode: 'slow' } }],
    [{ speed: 2.6 }, { ok: false, code: 'OUT_OF_BOUNDS', parameter: 'speed' }],
    [{ speed: -0.1 }, { ok: false, code: 'OUT_OF_BOUNDS', parameter: 'speed' }],
    [{ speed: 'fast' }, { ok: false, code: 'INVALID_TYPE', parameter: 'speed' }],
    [{}, { ok: false, code: 'MISSING_PARAMETER', parameter: 'speed' }],
    [{ speed: 1, turbo: true }, { ok: false, code: 'UNKNOWN_PARAMETER', parameter: 'turbo' }],
    [{ speed: 1, mode: 'warp' }, { ok: false, code: 'NOT_ALLOWED', parameter: 'mode' }],
  ])('%j -> %j', (params, verdict) => {
    expect(checkProgramCall(program, params)).toMatchObject(verdict);
  });
  it('refuses an unknown program and compares read-backs with rounding only', () => {
    expect(checkProgramCall(undefined, {})).toMatchObject({ ok: false, code: 'UNKNOWN_PROGRAM' });
    expect(readBackMatches({ speed: 1.2, open: true }, { speed: 1.2000000000001, open: true })).toBe(true);
    expect(readBackMatches({ speed: 1.2 }, { speed: 1.1 })).toBe(false);
    expect(readBackMatches({ open: true }, {})).toBe(false);
  });
});

describe('program call journal', () => {
  it('survives a reopen and ignores a torn last line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'da-journal-'));
    try {
      const path = join(dir, 'calls.jsonl');
      const j = await openCallJournal(path);
      await j.record({ twinId: 't', callId: 1, state: 'started' });
      await j.record({ twinId: 't', callId: 1, state: 'done', status: 'EXECUTED', result: { readBack: { speed: 1 } } });
      await j.record({ twinId: 't', callId: 2, state: 'started' });
      await appendFile(path, '{"twinId":"t","callId":2,"sta');
      const again = await openCallJournal(path);
      expect(again.get('t', 1)).toMatchObject({ state: 'done', status: 'EXECUTED', result: { readBack: { speed: 1 } } });
      expect(again.get('t', 2)).toMatchObject({ state: 'started' });
      expect(again.get('t', 3)).toBeUndefined();
      expect(again.recent(10).map((e) => e.callId)).toEqual([2, 1]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('reading forwarder', () => {
  // A small double of kafkajs' Producer.send: fails while `down`, records acknowledged batches.
  function fakeProducer() {
    const sent: { key: string; value: string }[] = [];
    const state = { down: false };
    const producer = {
      async send({ messages }: { messages: { key: string; value: string }[] }) {
        if (state.down) throw new Error('broker down');
        sent.push(...messages.map((m) => ({ key: String(m.key), value: String(m.value) })));
        return [];
      },
    } as unknown as Producer;
    return { producer, sent, state };
  }
  const feeds = new Map([['s-1', { feedRef: 'f'.repeat(64), unit: 'bar' }]]);
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('drops readings of sensors without a feed, bad values and those above the rate limit', async () => {
    const { producer, sent } = fakeProducer();
    const f = createReadingForwarder({ producer, topic: 'dt.readings', logger: silentLogger(), maxReadingsPerSecond: 5, maxBuffered: 100, flushIntervalMs: 10 });
    f.setFeeds(feeds);
    expect(f.accept({ componentId: 's-9', ts: 1, value: 1, good: true })).toBe(false);
    expect(f.accept({ componentId: 's-1', ts: 1, value: 1, good: false })).toBe(false);
    const accepted = Array.from({ length: 20 }, (_, i) => f.accept({ componentId: 's-1', ts: 1000 + i, value: i, good: true })).filter(Boolean).length;
    expect(accepted).toBe(5);
    f.start();
    await f.stop();
    const readings = sent.flatMap((m) => decodeReadingsMessage(m.key, m.value));
    expect(readings.map((r) => r.ts)).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect(readings[0]).toEqual({ feed: 'f'.repeat(64), component: 's-1', ts: 1000, v: 0, u: 'bar' });
  });

  it('buffers while Kafka is down, bounded (oldest dropped), and sends the rest in order when it is back', async () => {
    const { producer, sent, state } = fakeProducer();
    state.down = true;
    const f = createReadingForwarder({ producer, topic: 'dt.readings', logger: silentLogger(), maxReadingsPerSecond: 10_000, maxBuffered: 50, flushIntervalMs: 10 });
    f.setFeeds(feeds);
    f.start();
    for (let i = 0; i < 80; i += 1) f.accept({ componentId: 's-1', ts: 2000 + i, value: i, good: true });
    await wait(100);
    expect(f.kafkaUp).toBe(false);
    expect(f.buffered).toBe(50);
    state.down = false;
    for (let i = 0; i < 200 && f.buffered > 0; i += 1) await wait(20);
    await f.stop();
    const ts = sent.flatMap((m) => decodeReadingsMessage(m.key, m.value)).map((r) => r.ts);
    expect(ts).toEqual(Array.from({ length: 50 }, (_, i) => 2030 + i));
    expect(f.kafkaUp).toBe(true);
  });
});
