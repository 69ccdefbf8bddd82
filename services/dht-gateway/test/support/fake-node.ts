// The DHT node as the dht-gateway routes see it (GatewayNode), in memory: shared by the route
// tests and the adversarial walk.
import { createHash } from 'node:crypto';
import type { AclView, DhtNodeStatus, Manifest, PutObjectResult, UpdateAclResult } from '@twinledger/dht';
import { AclDeniedError, ItemNotFoundError, PeerRequestError } from '@twinledger/dht/errors';
import type { GatewayNode } from '../../src/app.js';

export const MSP = 'OrgAMSP';
export const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

interface Stored {
  data: Buffer;
  acl: string[];
  version: number;
}

/** The DHT node as the routes see it: objects in a Map, every call recorded. */
export class FakeNode implements GatewayNode {
  readonly mspId = MSP;
  readonly objects = new Map<string, Stored>();
  readonly calls: string[] = [];
  /** Set to make every node call fail as a DHT without reachable replicas would. */
  unavailable = false;

  isStarted(): boolean {
    return true;
  }

  private find(ref: string): Stored {
    if (this.unavailable) throw new PeerRequestError('no replica answered');
    const o = this.objects.get(ref);
    if (!o) throw new ItemNotFoundError(`no object ${ref}`);
    if (!o.acl.includes(MSP)) throw new AclDeniedError(`${MSP} is not in the object's ACL`);
    return o;
  }

  private manifestOf(ref: string, o: Stored): Manifest {
    return { v: 1, objectId: sha256(`id:${ref}`), aclVersion: o.version, cipher: 'aes-256-gcm', chunkSize: 64 * 1024, size: o.data.length, plaintextHash: sha256(o.data), chunks: [{ hash: sha256(o.data), size: o.data.length }], acl: [...o.acl], keys: {} } as unknown as Manifest;
  }

  async putObject(source: unknown, options?: { readonly acl?: readonly string[] }): Promise<PutObjectResult> {
    this.calls.push('putObject');
    const parts: Buffer[] = [];
    for await (const p of source as AsyncIterable<Uint8Array>) parts.push(Buffer.from(p));
    const data = Buffer.concat(parts);
    const acl = [...(options?.acl ?? [MSP])].sort();
    const ref = sha256(`${data.toString('hex')}|${acl.join(',')}`);
    this.objects.set(ref, { data, acl, version: 1 });
    return { ref, objectId: sha256(`id:${ref}`), aclVersion: 1, size: data.length, replicas: ['peer-a', 'peer-b', 'peer-c'] };
  }

  async openObject(ref: string): Promise<{ manifest: Manifest; stream: AsyncGenerator<Uint8Array> }> {
    this.calls.push('openObject');
    const o = this.find(ref);
    async function* stream(): AsyncGenerator<Uint8Array> {
      yield o.data;
    }
    return { manifest: this.manifestOf(ref, o), stream: stream() };
  }

  async getManifest(ref: string): Promise<Manifest> {
    this.calls.push('getManifest');
    return this.manifestOf(ref, this.find(ref));
  }

  async getAcl(ref: string): Promise<AclView> {
    this.calls.push('getAcl');
    const o = this.find(ref);
    return { objectId: sha256(`id:${ref}`), owner: sha256('owner'), version: o.version, parties: [...o.acl] };
  }

  async updateAcl(ref: string, parties: readonly string[]): Promise<UpdateAclResult> {
    this.calls.push('updateAcl');
    const o = this.find(ref);
    const rekeyed = o.acl.some((p) => !parties.includes(p));
    o.acl = [...parties].sort();
    o.version += 1;
    return { ref, version: o.version, rekeyed, acks: 3 };
  }

  status(): DhtNodeStatus {
    this.calls.push('status');
    return {
      peerId: 'peer-a',
      mspId: MSP,
      multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
      peers: [{ peerId: 'peer-b', mspId: 'OrgBMSP' }, { peerId: 'peer-b2', mspId: 'OrgBMSP' }, { peerId: 'peer-c', mspId: undefined }],
      store: { bytes: 10, chunks: 1, manifests: 1, acls: 1, locators: 0, feedUpdates: 0, feedHeads: 0 },
      replicationFactor: 3,
      faultTolerance: 1,
      lastRepair: undefined,
      lastGc: undefined,
    } as DhtNodeStatus;
  }
}
