import { parseArgs } from 'node:util';
import { createPeerConnectionPool, fabricClientFromEnv, loadIdentity } from '@twinledger/fabric-client';
import { createTwinLedger } from '@twinledger/ledger';
import { loadEnv } from '@twinledger/config';
import { adminCliEnv } from './config.js';

/**
 * Organization-admin commands, run by an operator (or the launcher) with the org's Admin
 * certificate and key, outside the user-facing acl-service: the service itself never holds the
 * Admin key. The peer connection comes from the same variables as the service's
 * (MSP_ID, PEER_ENDPOINT, PEER_TLS_ROOT_CERT, PEER_HOST_ALIAS, CHANNEL, CHAINCODE).
 *
 *   node dist/admin-cli.js register-party --peer-ids <id>[,<id>...] --x25519 <base64 of 32 bytes> \
 *     --cert <Admin signcert PEM> --key <Admin private key PEM>
 *   node dist/admin-cli.js claim-namespace --prefix <device-ID prefix, e.g. acme:> --cert <..> --key <..>
 *
 * Prints the committed transaction as one JSON line. Exit codes: 0 done, 1 refused or failed
 * (the chaincode's code on stderr), 2 usage.
 */

const PEER_ID = /^(12D3KooW|16Uiu2HA|Qm)[1-9A-HJ-NP-Za-km-z]{20,100}$/;
const X25519 = /^[A-Za-z0-9+/]{43}=$/;
const USAGE = [
  'usage: admin-cli register-party --peer-ids <id,...> --x25519 <base64> --cert <pem file> --key <pem file>',
  '       admin-cli claim-namespace --prefix <device-ID prefix> --cert <pem file> --key <pem file>',
].join('\n');
/** The chaincode's rule (chaincode/src/access/namespaces.ts), checked here for a clear usage error. */
const NAMESPACE_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._:@-]{2,62}[._:@-]$/;

type Command =
  | { readonly kind: 'register-party'; readonly peerIds: string[]; readonly x25519: string; readonly cert: string; readonly key: string }
  | { readonly kind: 'claim-namespace'; readonly prefix: string; readonly cert: string; readonly key: string };

class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
}

function parse(argv: readonly string[]): Command {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { 'peer-ids': { type: 'string' }, x25519: { type: 'string' }, prefix: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' } },
  });
  if (positionals.length !== 1 || (positionals[0] !== 'register-party' && positionals[0] !== 'claim-namespace')) throw new UsageError(USAGE);
  if (!values.cert || !values.key) throw new UsageError('--cert and --key: the Admin identity\'s certificate and private key files');
  if (positionals[0] === 'claim-namespace') {
    const prefix = values.prefix ?? '';
    if (!NAMESPACE_PREFIX.test(prefix)) throw new UsageError('--prefix: 4..64 characters of a device ID, ending in one of . _ : @ -');
    return { kind: 'claim-namespace', prefix, cert: values.cert, key: values.key };
  }
  const peerIds = (values['peer-ids'] ?? '').split(',').filter((p) => p !== '');
  if (peerIds.length === 0 || peerIds.length > 32 || !peerIds.every((p) => PEER_ID.test(p))) throw new UsageError('--peer-ids: 1..32 base58btc libp2p peer IDs, comma-separated');
  const x25519 = values.x25519 ?? '';
  if (!X25519.test(x25519) || Buffer.from(x25519, 'base64').length !== 32) throw new UsageError('--x25519: base64 of a 32-byte X25519 public key');
  return { kind: 'register-party', peerIds, x25519, cert: values.cert, key: values.key };
}

async function main(): Promise<number> {
  let args: Command;
  try {
    args = parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const env = loadEnv(adminCliEnv);
  const pool = createPeerConnectionPool();
  const client = fabricClientFromEnv(env, { pool, identity: await loadIdentity({ mspId: env.MSP_ID, certPath: args.cert, keyPath: args.key }) });
  try {
    const ledger = createTwinLedger(client);
    const res = args.kind === 'register-party' ? await ledger.registerParty(args.peerIds, args.x25519) : await ledger.claimDeviceNamespace(args.prefix);
    process.stdout.write(`${JSON.stringify({ transactionId: res.transactionId, blockNumber: Number(res.blockNumber), result: res.result })}\n`);
    return 0;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`${JSON.stringify({ code: e.code ?? 'ERROR', message: e.message ?? String(err) })}\n`);
    return 1;
  } finally {
    client.close();
    pool.close();
  }
}

process.exitCode = await main();
