import { ErrorCodes, fail } from '../errors';
import { compositeKey, KeyTypes } from '../ledger/keys';
import { list, type StateReader } from '../ledger/state';

/**
 * A device-ID namespace an organization has claimed: only that organization creates twins whose
 * device ID starts with the prefix, so no other member can take ("squat") its devices' IDs
 * first (issue #20). IDs outside every claimed namespace are first come, first served.
 */
export interface DeviceNamespace {
  prefix: string;
  mspId: string;
  claimedBy: string;
  claimedAt: string;
  txId: string;
}

/**
 * 4..64 characters of the twin-ID alphabet, ending in a separator (`:` `/` `.` `-` `_` `@`), so
 * that `acme:` cannot be read as claiming `acmecorp-7` too, and a one-letter prefix cannot take
 * a whole alphabet.
 */
export const NAMESPACE_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._:@-]{2,62}[._:@-]$/;
/** Namespaces one organization may hold (each check of createTwin reads them all). */
export const MAX_NAMESPACES_PER_ORG = 16;

export const namespaceKey = (prefix: string): string => compositeKey(KeyTypes.deviceNamespace, [prefix]);

export async function listNamespaces(r: StateReader): Promise<DeviceNamespace[]> {
  return (await list<DeviceNamespace>(r, KeyTypes.deviceNamespace, [])).map((e) => e.value);
}

/** Refuses (ACCESS_DENIED) a device ID inside another organization's namespace. */
export async function requireMayCreate(r: StateReader, deviceId: string, mspId: string): Promise<void> {
  for (const ns of await listNamespaces(r)) {
    if (deviceId.startsWith(ns.prefix) && ns.mspId !== mspId) {
      fail(ErrorCodes.ACCESS_DENIED, `device ID ${deviceId} lies in the namespace '${ns.prefix}' of ${ns.mspId}; only it creates twins there`);
    }
  }
}
