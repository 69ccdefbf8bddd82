// `npm run bench -- <suite>`: runs one suite against the real local network; the last line is
// `BENCH <suite> key=value ...`. Suites are registered here, one file each under suites/.
import { benchLine, type Suite } from './harness.js';
import { devnet } from './suites/devnet.js';
import { rest } from './suites/rest.js';
import { reads } from './suites/reads.js';
import { dht } from './suites/dht.js';
import { chaincode } from './suites/chaincode.js';
import { feedIngest } from './suites/feed-ingest/suite.js';
import { deviceAgent } from './suites/device-agent.js';
import { e2e } from './suites/e2e.js';
import { console_ } from './suites/console.js';
import { specScale } from './suites/spec-scale.js';
import { audit } from './suites/audit.js';

const suites: Record<string, Suite> = { [devnet.name]: devnet, [rest.name]: rest, [reads.name]: reads, [chaincode.name]: chaincode, [dht.name]: dht, [feedIngest.name]: feedIngest, [deviceAgent.name]: deviceAgent, [console_.name]: console_, [e2e.name]: e2e, [specScale.name]: specScale, [audit.name]: audit };

const [name, ...args] = process.argv.slice(2);
const suite = name === undefined ? undefined : suites[name];
if (suite === undefined) {
  process.stderr.write(`usage: npm run bench -- <suite>\nsuites:\n${Object.values(suites).map((s) => `  ${s.name.padEnd(14)} ${s.description}`).join('\n')}\n`);
  process.exit(2);
}
const log = (line: string): void => void process.stdout.write(`[bench ${suite.name}] ${line}\n`);
suite.run({ log, args }).then(
  (figures) => {
    process.stdout.write(`${benchLine(suite.name, figures)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`[bench ${suite.name}] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
