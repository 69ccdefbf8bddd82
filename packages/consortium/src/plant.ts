#!/usr/bin/env node
// The simulated bottling plant as its own process (the device on the Owner's shop floor): the
// device agent's OPC UA simulator, plus a small control endpoint on 127.0.0.1 through which the
// scenario plays the technician (a sensor breaks, a new part is fitted). The simulator is
// @twinledger/plant-sim, the very device model the agent is tested against.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ensureApplicationCertificate, SECURE_POLICIES, type UserCredentials } from '@twinledger/opcua';
import { startBottlingPlantSimulator, type SimulatorSecurity } from '@twinledger/plant-sim';

function envInt(name: string): number {
  const v = Number(process.env[name]);
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`${name} must be a port number`);
  return v;
}

const opcuaPort = envInt('PLANT_OPCUA_PORT');
const controlPort = envInt('PLANT_CONTROL_PORT');
const dataDir = process.env['PLANT_DATA_DIR'];
if (!dataDir) throw new Error('PLANT_DATA_DIR is required');

// The plant's side of the OPC UA link (PLANT_*): SignAndEncrypt with its own certificate, only
// for the agent certificate(s) in PLANT_TRUSTED_CLIENT_CERTS and the users in PLANT_USERS_FILE;
// no security only with PLANT_ALLOW_INSECURE=true.
const policy = process.env['PLANT_OPCUA_SECURITY_POLICY'] || 'Basic256Sha256';
const allowInsecure = process.env['PLANT_ALLOW_INSECURE'] === 'true';
const isSecurePolicy = (p: string): p is (typeof SECURE_POLICIES)[number] => (SECURE_POLICIES as readonly string[]).includes(p);
if (policy !== 'None' && !isSecurePolicy(policy)) throw new Error(`PLANT_OPCUA_SECURITY_POLICY ${policy} is not supported`);
if (policy === 'None' && !allowInsecure) throw new Error('PLANT_OPCUA_SECURITY_POLICY=None needs PLANT_ALLOW_INSECURE=true');

function readUsers(file: string): UserCredentials[] {
  const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(v) || v.length === 0 || !v.every((u: { username?: unknown; password?: unknown }) => typeof u?.username === 'string' && typeof u.password === 'string' && u.password.length >= 12)) {
    throw new Error(`PLANT_USERS_FILE ${file} must be a JSON array of {username, password (12+ chars)}`);
  }
  return v as UserCredentials[];
}

const pkiDir = join(dataDir, 'pki');
let security: SimulatorSecurity = { mode: 'None' };
let certificatePem: string | undefined;
if (isSecurePolicy(policy)) {
  const trusted = (process.env['PLANT_TRUSTED_CLIENT_CERTS'] ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const usersFile = process.env['PLANT_USERS_FILE'];
  if (trusted.length === 0) throw new Error('PLANT_TRUSTED_CLIENT_CERTS must name the agent certificate(s) the plant trusts');
  if (!usersFile) throw new Error('PLANT_USERS_FILE is required');
  const certificate = await ensureApplicationCertificate({ pkiDir, applicationUri: 'urn:twinledger:bottling-plant', commonName: 'TwinLedger bottling plant', dns: ['localhost', '127.0.0.1'] });
  certificatePem = readFileSync(certificate.certificateFile, 'utf8');
  security = { mode: 'SignAndEncrypt', policy, certificate, trustedClientCertificates: trusted, users: readUsers(usersFile) };
}
const sim = await startBottlingPlantSimulator({ port: opcuaPort, pkiDir, deviceName: 'BottlingPlant', security });

function state(): unknown {
  return {
    endpointUrl: sim.endpointUrl,
    // The plant's public application certificate: what its operator gives the agent to trust.
    security: { mode: security.mode, ...(security.mode === 'SignAndEncrypt' ? { policy: security.policy, certificatePem } : {}) },
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

// GET /state; POST /sensors/<id>/break; POST /sensors/<id>/replace {componentId, serialNumber?};
// POST /sensors/<id>/swap {serialNumber} (a new part under the same tag)
const server = createServer((req, res) => {
  void (async () => {
    try {
      const m = /^\/sensors\/([A-Za-z0-9._-]{1,128})\/(break|replace|swap)$/.exec(req.url ?? '');
      if (req.method === 'GET' && req.url === '/state') return send(res, 200, state());
      if (req.method === 'POST' && m) {
        const id = m[1]!;
        if (!sim.components().some((c) => c.componentId === id && c.kind === 'sensor')) return send(res, 404, { code: 'NOT_FOUND', message: `no sensor ${id}` });
        if (m[2] === 'break') sim.breakSensor(id);
        else if (m[2] === 'swap') {
          const body = await readJson(req);
          if (typeof body['serialNumber'] !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(body['serialNumber'])) {
            return send(res, 400, { code: 'VALIDATION_FAILED', message: 'serialNumber must be a serial number' });
          }
          sim.swapSensorPart(id, { serialNumber: body['serialNumber'] });
        } else {
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
