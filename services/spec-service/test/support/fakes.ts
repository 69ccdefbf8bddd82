import { createHash } from 'node:crypto';
import type { DhtClient, ObjectBody, StoredObject } from '@twinledger/dht-client';
import { DhtNotFoundError } from '@twinledger/dht-client';
import { AccessDeniedError } from '@twinledger/errors';
import type { FabricClient, PeerConnectionPool, SubmitResult } from '@twinledger/fabric-client';
import { createIdentityRegistry, type IdentityRegistry } from '@twinledger/ledger-gateway';

type Handler = (args: readonly string[]) => unknown;

/**
 * The chaincode answers its lists a page at a time ({ items, bookmark }, the last two
 * arguments being pageSize and bookmark) and history a page of changes: a handler's plain
 * array is served in such pages (bookmark = the next index), so the client's page-following
 * is exercised too.
 */
const PAGED = new Set([
  'spec:listTwins', 'spec:listDocuments', 'spec:listExternalSources', 'spec:listSensorFeeds', 'spec:listPrograms',
  'spec:listPendingProgramCalls', 'spec:listSafetyProposals', 'acl:listGrants', 'acl:listParties', 'acl:listDeviceNamespaces',
]);
function asPage(fn: string, args: readonly string[], v: unknown): unknown {
  if ((fn === 'spec:history' || fn === 'spec:getDocumentHistory') && typeof v === 'object' && v !== null && !('bookmark' in v)) return { ...v, bookmark: '' };
  if (!PAGED.has(fn) || !Array.isArray(v)) return v;
  const size = Number(args[args.length - 2] || 100);
  const from = Number(args[args.length - 1] || 0);
  return { items: v.slice(from, from + size), bookmark: from + size < v.length ? String(from + size) : '' };
}

/**
 * A hand-written FabricClient (our interface): each chaincode function answers from a handler;
 * unknown functions fail loudly. Every call is recorded, so tests can prove none was made.
 */
export class FakeFabricClient implements FabricClient {
  readonly calls: Array<{ fn: string; args: readonly string[]; kind: 'evaluate' | 'submit' }> = [];
  readonly handlers = new Map<string, Handler>();
  private tx = 0;
  constructor(
    readonly mspId = 'Org1MSP',
    /** Answers functions without a handler; none: they fail loudly. */
    readonly fallback?: (fn: string, args: readonly string[]) => unknown,
  ) {}
  on(fn: string, h: Handler): this {
    this.handlers.set(fn, h);
    return this;
  }
  private answer(fn: string, args: readonly string[]): Uint8Array {
    const h = this.handlers.get(fn) ?? (this.fallback ? (args: readonly string[]) => this.fallback!(fn, args) : undefined);
    if (!h) throw new Error(`fake ledger: no handler for ${fn}`);
    return Buffer.from(JSON.stringify(asPage(fn, args, h(args))));
  }
  async evaluate(fn: string, args: readonly string[]): Promise<Uint8Array> {
    this.calls.push({ fn, args, kind: 'evaluate' });
    return this.answer(fn, args);
  }
  async submit(fn: string, args: readonly string[]): Promise<SubmitResult> {
    this.calls.push({ fn, args, kind: 'submit' });
    const result = this.answer(fn, args);
    this.tx++;
    return { result, transactionId: this.tx.toString(16).padStart(64, '0'), blockNumber: BigInt(10 + this.tx) };
  }
  async chaincodeEvents(): Promise<never> {
    throw new Error('not used');
  }
  close(): void {}
}

/** The gateway's 403 for a manifest without a key wrapped to the caller's party. */
class DhtNoKeyError extends AccessDeniedError {
  override readonly code = 'DHT_NO_KEY_FOR_PARTY';
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function collect(body: ObjectBody): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body);
  const parts: Buffer[] = [];
  for await (const p of body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

/** An in-memory DhtClient (our interface) with a tamper switch. */
export class FakeDht implements Partial<DhtClient> {
  readonly objects = new Map<string, { bytes: Buffer; acl: string[]; sha256: string }>();
  readonly aclUpdates: Array<{ ref: string; parties: readonly string[] }> = [];
  async putObject(body: ObjectBody, options?: { acl?: readonly string[] }): Promise<StoredObject> {
    const bytes = await collect(body);
    const ref = sha(Buffer.concat([Buffer.from('manifest:'), bytes, Buffer.from(String(this.objects.size))]));
    this.objects.set(ref, { bytes, acl: [...(options?.acl ?? [])], sha256: sha(bytes) });
    return { ref, size: bytes.length, sha256: sha(bytes), replicas: ['peerA'] };
  }
  /** Refs whose manifest holds no key for the caller (answered 403 DHT_NO_KEY_FOR_PARTY). */
  readonly noKey = new Set<string>();
  /** ref -> the object's current manifest (the ACL record's `head`). */
  readonly heads = new Map<string, string>();
  async getAcl(ref: string) {
    if (!this.objects.has(ref)) throw new DhtNotFoundError(`no object ${ref}`);
    return { ref, objectId: ref, owner: 'ab', version: 1, parties: this.objects.get(ref)!.acl, ...(this.heads.has(ref) ? { head: this.heads.get(ref)! } : {}) };
  }
  async getObjectStream(ref: string) {
    if (this.noKey.has(ref)) throw new DhtNoKeyError(`no wrapped key for the caller in ${ref}`);
    const o = this.objects.get(ref);
    if (!o) throw new DhtNotFoundError(`no object ${ref}`);
    return { size: o.bytes.length, sha256: o.sha256, body: (async function* () { yield new Uint8Array(o.bytes); })() };
  }
  async updateAcl(ref: string, parties: readonly string[]) {
    this.aclUpdates.push({ ref, parties });
    const o = this.objects.get(ref);
    if (o) o.acl = [...parties];
    return { ref, version: 2, rekeyed: false };
  }
  /** Replaces the stored bytes (a bad replica) while the manifest claims the original hash. */
  tamper(ref: string): void {
    const o = this.objects.get(ref)!;
    o.bytes = Buffer.concat([o.bytes, Buffer.from('!')]);
  }
  asClient(): DhtClient {
    return this as unknown as DhtClient;
  }
}

/**
 * Org1's identity registry (one identity, User1) whose clients are whatever `current()` returns
 * at call time: the registry keeps one client per identity, so delegating lets each test's fresh
 * fake answer.
 */
export function fakeIdentityRegistry(current: () => FabricClient): IdentityRegistry {
  return createIdentityRegistry({
    mspId: 'Org1MSP',
    identities: { User1: { mspId: 'Org1MSP', certPath: 'c', keyPath: 'k' } },
    pool: {} as PeerConnectionPool,
    peer: { endpoint: '127.0.0.1:1', tlsRootCertPath: 'x' },
    channel: 'twins',
    chaincode: 'twinledger',
    clientFactory: async () =>
      new Proxy({}, { get: (_t, k) => { const f = current() as unknown as Record<string | symbol, unknown>; const v = f[k]; return typeof v === 'function' ? v.bind(f) : v; } }) as never,
  });
}
