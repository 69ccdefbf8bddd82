import type { FabricClient, SubmitResult } from '@twinledger/fabric-client';

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

/** A hand-written FabricClient: chaincode functions answer from handlers (or `fallback`); calls are recorded. */
export class FakeFabric implements FabricClient {
  readonly calls: Array<{ fn: string; args: readonly string[] }> = [];
  readonly handlers = new Map<string, (args: readonly string[]) => unknown>();
  constructor(
    readonly mspId = 'Org1MSP',
    /** Answers functions without a handler; none: they fail loudly. */
    readonly fallback?: (fn: string, args: readonly string[]) => unknown,
  ) {}
  on(fn: string, h: (args: readonly string[]) => unknown): this {
    this.handlers.set(fn, h);
    return this;
  }
  private answer(fn: string, args: readonly string[]): Uint8Array {
    this.calls.push({ fn, args });
    const h = this.handlers.get(fn);
    if (h) return Buffer.from(JSON.stringify(asPage(fn, args, h(args))));
    if (this.fallback) return Buffer.from(JSON.stringify(asPage(fn, args, this.fallback(fn, args))));
    throw new Error(`no handler for ${fn}`);
  }
  async evaluate(fn: string, args: readonly string[]) {
    return this.answer(fn, args);
  }
  async submit(fn: string, args: readonly string[]): Promise<SubmitResult> {
    return { result: this.answer(fn, args), transactionId: 'f'.repeat(64), blockNumber: 9n };
  }
  async chaincodeEvents(): Promise<never> {
    throw new Error('unused');
  }
  close() {}
}
