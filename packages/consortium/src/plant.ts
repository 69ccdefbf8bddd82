#!/usr/bin/env node
// The simulated bottling plant as its own process (the device on the Owner's shop floor): the
// device agent's OPC UA simulator, plus a small control endpoint on 127.0.0.1 through which the
// scenario plays the technician (a sensor breaks, a new part is fitted). The simulator is
// device-agent's own, loaded from its build, so the consortium drives the very device model the
// agent is tested against.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface Simulator {
  readonly endpointUrl: string;
  components(): { componentId: string; kind: string; serialNumber?: string }[];
  readonly conveyorSpeed: number;
  readonly flooding: boolean;
  readonly invocations: readonly { componentId: string; method: string; args: Record<string, unknown>; at: number }[];
  breakSensor(componentId: string): void;
  replaceSensor(oldId: string, replacement: { componentId: string; serialNumber?: string }): void;
  stop(): Promise<void>;
}

function envInt(name: string): number {
  const v = Number(process.env[name]);
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`${name} must be a port number`);
  return v;
}

const opcuaPort = envInt('PLANT_OPCUA_PORT');
const controlPort = envInt('PLANT_CONTROL_PORT');
const dataDir = process.env['PLANT_DATA_DIR'];
if (!dataDir) throw new Error('PLANT_DATA_DIR is required');

const simulatorJs = resolve(dirname(fileURLToPath(import.meta.url)), '../../../services/device-agent/dist/domain/simulator.js');
const { startBottlingPlantSimulator } = (await import(pathToFileURL(simulatorJs).href)) as {
  startBottlingPlantSimulator(init: { port: number; pkiDir: string; deviceName?: string }): Promise<Simulator>;
};
const sim = await startBottlingPlantSimulator({ port: opcuaPort, pkiDir: join(dataDir, 'pki'), deviceName: 'BottlingPlant' });

function state(): unknown {
  return {
    endpointUrl: sim.endpointUrl,
    components: sim.components(),
    conveyorSpeed: sim.conveyorSpeed,
    flooding: sim.flooding,
    invocations: sim.invocations,
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 4096) throw new Error('body too large');
  }
  const v: unknown = text ? JSON.parse(text) : {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('body must be a JSON object');
  return v as Record<string, unknown>;
}

// GET /state; POST /sensors/<id>/break; POST /sensors/<id>/replace {componentId, serialNumber?}
const server = createServer((req, res) => {
  void (async () => {
    try {
      const m = /^\/sensors\/([A-Za-z0-9._-]{1,128})\/(break|replace)$/.exec(req.url ?? '');
      if (req.method === 'GET' && req.url === '/state') return send(res, 200, state());
      if (req.method === 'POST' && m) {
        const id = m[1]!;
        if (!sim.components().some((c) => c.componentId === id && c.kind === 'sensor')) return send(res, 404, { code: 'NOT_FOUND', message: `no sensor ${id}` });
        if (m[2] === 'break') sim.breakSensor(id);
        else {
          const body = await readJson(req);
          if (typeof body['componentId'] !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(body['componentId'])) {
            return send(res, 400, { code: 'VALIDATION_FAILED', message: 'componentId must be an ID' });
          }
          sim.replaceSensor(id, { componentId: body['componentId'], ...(typeof body['serialNumber'] === 'string' ? { serialNumber: body['serialNumber'] } : {}) });
        }
        return send(res, 200, state());
      }
      return send(res, 404, { code: 'NOT_FOUND', message: 'unknown route' });
    } catch (err) {
      return send(res, 400, { code: 'VALIDATION_FAILED', message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
server.listen(controlPort, '127.0.0.1');

const stop = (): void => {
  server.close();
  void sim.stop().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
