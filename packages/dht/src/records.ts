/**
 * The DHT's signed record formats without the node: what an offline verifier needs to check a
 * feed update, its segment's manifest and the bytes they name (packages/audit, ADR-18), with
 * no libp2p, datastore or network code loaded.
 */
export { canonicalJson, canonicalBytes, sha256, toHex } from './codec.js';
export { feedIdOf, feedUpdateAddress, feedUpdateSignatureValid, parseFeedUpdate, parseFeedUpdateShape, signFeedUpdate } from './feed-records.js';
export type { FeedUpdate } from './feed-records.js';
export { decodeManifest, encodeManifest } from './manifest.js';
export type { Manifest } from './manifest.js';
export { signingKeyFromSeed } from './signing.js';
export type { SigningKey } from './signing.js';
