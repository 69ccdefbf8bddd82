import { AasIdentifierInvalidError } from './errors.js';

/*
 * Identifiers are derived from the twin ID alone, so they stay the same across revisions and
 * replicas: the shell is `urn:twinledger:<twinId>`, a component's submodel
 * `urn:twinledger:<twinId>/submodels/<element ID, percent-encoded>`, and the submodel of
 * documents and feeds attached to no component `urn:twinledger:<twinId>/attachments`. A twin ID
 * never holds `/` (spec-service's TwinId pattern), so the first `/` ends it.
 */
const PREFIX = 'urn:twinledger:';

export const shellId = (twinId: string): string => `${PREFIX}${twinId}`;
export const submodelId = (twinId: string, elementId: string): string => `${PREFIX}${twinId}/submodels/${encodeURIComponent(elementId)}`;
export const attachmentsSubmodelId = (twinId: string): string => `${PREFIX}${twinId}/attachments`;
/** The asset the shell describes: the device. */
export const globalAssetId = (deviceId: string): string => `${PREFIX}device:${encodeURIComponent(deviceId)}`;

/** The twin a shell identifier names, or undefined when it is not one of ours. */
export function twinOfShell(id: string): string | undefined {
  if (!id.startsWith(PREFIX)) return undefined;
  const twinId = id.slice(PREFIX.length);
  return twinId === '' || twinId.includes('/') ? undefined : twinId;
}

/** The twin a submodel identifier belongs to, or undefined when it is not one of ours. */
export function twinOfSubmodel(id: string): string | undefined {
  if (!id.startsWith(PREFIX)) return undefined;
  const rest = id.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const tail = rest.slice(slash);
  return tail === '/attachments' || tail.startsWith('/submodels/') ? rest.slice(0, slash) : undefined;
}

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** IDTA-01002 path identifiers are base64url-encoded UTF-8 (padding tolerated); anything else is refused. */
export function decodeIdentifier(segment: string): string {
  if (!BASE64URL.test(segment) || segment.replace(/=+$/, '').length % 4 === 1) {
    throw new AasIdentifierInvalidError('the identifier is not base64url-encoded', { details: { identifier: segment.slice(0, 256) } });
  }
  const bytes = Buffer.from(segment, 'base64url');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  // Re-encoding must give the same bytes: otherwise the segment carried bits base64url drops, or invalid UTF-8.
  if (Buffer.from(text, 'utf8').toString('base64url') !== segment.replace(/=+$/, '') || text === '') {
    throw new AasIdentifierInvalidError('the identifier is not base64url-encoded UTF-8', { details: { identifier: segment.slice(0, 256) } });
  }
  return text;
}

export const encodeIdentifier = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');
