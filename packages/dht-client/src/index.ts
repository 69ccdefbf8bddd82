export { createDhtClient } from './client.js';
export type { DhtClient, DhtClientInit, CallOptions, ObjectBody, PutObjectOptions, ObjectStream, TokenSource } from './client.js';
export * from './errors.js';
export type * from './types.js';
