export { createLedgerPartyRegistry } from './registry.js';
export type { LedgerPartyRegistry, LedgerPartyRegistryInit, PartySource } from './registry.js';
export { followPartyRegistrations, openLedgerPartyRegistry } from './open.js';
export type { LedgerPartyRegistryConfig } from './open.js';
export { parsePartyRegistry, loadPartyRegistryFile } from './file.js';
export { openPartyRegistry, partyRegistryEnv, partySourceFromEnv } from './source.js';
export type { PartySourceConfig } from './source.js';
