#!/usr/bin/env node
// `npm run verify -- <bundle.json>`: the auditor's tool. It reads one file and nothing else (no
// network, no TwinLedger service) and prints each check, then each failure with its code.
// Exit 0 = the bundle verifies, 1 = it does not, 2 = usage or an unreadable file.
import { runVerifyCli } from './run-cli.js';

// Piped into `head`, the reader may leave early: that is not an error of the verification.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

process.exitCode = runVerifyCli(process.argv.slice(2), {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
});
