import { readFileSync } from 'fs';
import { join } from 'path';
import { AccessControlContract, DiagnosticsContract, SpecificationContract } from '../../src';
import { FakeLedger, identity } from './fake-ledger';

export const FIXTURE = readFileSync(join(__dirname, '..', '..', 'fixtures', 'bottling-plant.aml'), 'utf8');
export const TWIN = 'bottling-plant-1';

/** The four lifecycle parties of the use case, one MSP each, plus a device agent identity. */
export const who = {
  owner: identity('OwnerMSP', 'User1'),
  ownerAdmin: identity('OwnerMSP', 'Admin', 'admin'),
  manufacturer: identity('ManufacturerMSP', 'User1'),
  manufacturerAdmin: identity('ManufacturerMSP', 'Admin', 'admin'),
  maintainer: identity('MaintainerMSP', 'User1'),
  auditor: identity('AuditorMSP', 'User1'),
  /** Runs in the owner's org, so it also holds the owner's MSP-wide OWNER role. */
  deviceAgent: identity('OwnerMSP', 'DeviceAgent'),
  /** A device agent of an org holding no other role: DEVICE_AGENT alone. */
  agentElsewhere: identity('AgentMSP', 'DeviceAgent'),
  /** Holds OWNER on the twin as one identity in worldWithTwin(aml, 'elsewhere'); appoints agentElsewhere. */
  agentAdmin: identity('AgentMSP', 'Admin', 'admin'),
  outsider: identity('OutsiderMSP', 'User1'),
};

export const hash = (n: number): string => n.toString(16).padStart(64, 'a');

export interface World {
  ledger: FakeLedger;
  spec: SpecificationContract;
  acl: AccessControlContract;
  diag: DiagnosticsContract;
}

export function newWorld(): World {
  return { ledger: new FakeLedger(), spec: new SpecificationContract(), acl: new AccessControlContract(), diag: new DiagnosticsContract() };
}

/**
 * The use-case twin: created by the owner, with manufacturer, maintainer, auditor and device
 * agent roles. A twin has one device agent, an identity of its granting OWNER's organization:
 * `agent: 'owner'` (default) makes it the owner org's DeviceAgent (which also holds the org's
 * MSP-wide OWNER); `'elsewhere'` makes AgentMSP's Admin an OWNER of the twin (identity grant),
 * which appoints AgentMSP's DeviceAgent, so that identity holds DEVICE_AGENT alone.
 */
export async function worldWithTwin(aml = FIXTURE, agent: 'owner' | 'elsewhere' = 'owner'): Promise<World> {
  const w = newWorld();
  const grants = JSON.stringify([
    { mspId: 'ManufacturerMSP', role: 'MANUFACTURER' },
    { mspId: 'MaintainerMSP', role: 'MAINTAINER' },
    { mspId: 'AuditorMSP', role: 'AUDITOR' },
    agent === 'owner'
      ? { mspId: 'OwnerMSP', identity: who.deviceAgent.id, role: 'DEVICE_AGENT' }
      : { mspId: 'AgentMSP', identity: who.agentAdmin.id, role: 'OWNER' },
  ]);
  await w.ledger.invoke(who.owner, w.spec, 'createTwin', TWIN, 'Bottling plant 1', aml, grants);
  if (agent === 'elsewhere') {
    await w.ledger.invoke(who.agentAdmin, w.acl, 'grant', TWIN, JSON.stringify({ mspId: 'AgentMSP', identity: who.agentElsewhere.id, role: 'DEVICE_AGENT' }));
  }
  return w;
}

/** Asserts a rejection by its stable code and that the transaction attempted no write. */
export async function expectRefusal(w: World, p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toMatchObject({ code, message: expect.stringMatching(new RegExp(`^${code}: `)) });
  expect(w.ledger.lastTx.ok).toBe(false);
  expect(w.ledger.lastTx.writeCalls).toBe(0);
}

/**
 * A safety change the four-eyes way (README "Safety rules"): the owner proposes, the
 * manufacturer approves; returns the approval's result.
 */
export async function applySafetyChange(w: World, operation: 'insertAML' | 'removeAML' | 'replaceAML', change: Record<string, string>): Promise<Record<string, unknown>> {
  const p = await w.ledger.invoke(who.owner, w.spec, 'proposeSafetyChange', TWIN, operation, JSON.stringify(change), '');
  return w.ledger.invoke(who.manufacturer, w.spec, 'approveSafetyChange', TWIN, String(p.proposalId));
}
