export { createLedgerPartyRegistry } from './registry.js';
export type { LedgerPartyRegistry, LedgerPartyRegistryInit, PartySource } from './registry.js';
export { openLedgerPartyRegistry } from './open.js';
export type { LedgerPartyRegistryConfig } from './open.js';
