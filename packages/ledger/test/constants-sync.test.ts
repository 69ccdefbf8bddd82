import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ALL_PERMISSIONS,
  CallStatuses,
  ChaincodeErrorCodes,
  ConfidentialityLevels,
  ContractNames,
  EVERYONE,
  LedgerEvents,
  Limits,
  Permissions,
  PROGRAM_ROLE_CLASS,
  ProposalStatuses,
  ROLE_PERMISSIONS,
  SafetyOperations,
  Roles,
} from '../src/index.js';

// The chaincode is built alone by the peer and cannot be imported by workspace packages, so
// this test reads its source text and checks that our mirror of its constants agrees.
const src = join(dirname(fileURLToPath(import.meta.url)), '../../../chaincode/src');
const text = (file: string): string => readFileSync(join(src, file), 'utf8');

/** The body of `export const <name> = { ... } as const;` (or `= [ ... ] as const;`). */
function body(file: string, name: string): string {
  const m = new RegExp(`export const ${name}(?:: [^=]+)? = ([\\[{][\\s\\S]*?[\\]}])(?: as const)?;`).exec(text(file));
  if (!m) throw new Error(`${name} not found in chaincode/src/${file}`);
  return m[1]!.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

/** `KEY: 'value'` pairs of an object literal. */
function stringEntries(file: string, name: string): Record<string, string> {
  return Object.fromEntries([...body(file, name).matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*:\s*'([^']*)'/g)].map((m) => [m[1]!, m[2]!]));
}

function stringList(file: string, name: string): string[] {
  return [...body(file, name).matchAll(/'([^']*)'/g)].map((m) => m[1]!);
}

/** `KEY: 8 * 1024 * 1024` entries: products of integer literals only. */
function numberEntries(file: string, name: string): Record<string, number> {
  return Object.fromEntries(
    [...body(file, name).matchAll(/([A-Z_][A-Z0-9_]*)\s*:\s*([0-9_ *]+)/g)].map((m) => [
      m[1]!,
      m[2]!.split('*').reduce((p, f) => p * Number(f.trim().replace(/_/g, '')), 1),
    ]),
  );
}

describe('constants mirror the chaincode', () => {
  it('error codes', () => {
    expect(ChaincodeErrorCodes).toEqual(stringEntries('errors.ts', 'ErrorCodes'));
  });

  it('event names', () => {
    expect(LedgerEvents).toEqual(stringEntries('events.ts', 'Events'));
  });

  it('roles, permissions, levels and call statuses', () => {
    expect(Roles).toEqual(stringEntries('access/roles.ts', 'Roles'));
    expect(Permissions).toEqual(stringEntries('access/roles.ts', 'Permissions'));
    expect([...ConfidentialityLevels]).toEqual(stringList('access/roles.ts', 'Levels'));
    expect([...CallStatuses]).toEqual(stringList('spec/model.ts', 'CallStatuses'));
    expect([...SafetyOperations]).toEqual(stringList('spec/model.ts', 'SafetyOperations'));
    expect([...ProposalStatuses]).toEqual(stringList('spec/model.ts', 'ProposalStatuses'));
  });

  it('limits', () => {
    const theirs = numberEntries('limits.ts', 'Limits');
    expect(Object.keys(theirs).length).toBeGreaterThan(5);
    expect(Limits).toEqual(theirs);
  });

  it('contract names, the program role class and "everyone"', () => {
    expect(ContractNames).toEqual(stringEntries('index.ts', 'ContractNames'));
    expect(text('aml/programs.ts')).toContain(`export const PROGRAM_ROLE_CLASS = '${PROGRAM_ROLE_CLASS}';`);
    expect(text('access/grants.ts')).toContain(`export const EVERYONE = '${EVERYONE}';`);
  });

  it('what every role confers (evaluated from the chaincode module, which imports nothing)', async () => {
    // roles.ts is self-contained, so loading it runs no chaincode machinery.
    expect(text('access/roles.ts')).not.toMatch(/^import /m);
    const theirs = (await import('../../../chaincode/src/access/roles.js')) as {
      ROLE_PERMISSIONS: Record<string, readonly string[]>;
      ALL_PERMISSIONS: readonly string[];
    };
    expect(Object.keys(ROLE_PERMISSIONS).sort()).toEqual(Object.keys(theirs.ROLE_PERMISSIONS).sort());
    for (const [role, perms] of Object.entries(theirs.ROLE_PERMISSIONS)) {
      expect([...ROLE_PERMISSIONS[role as keyof typeof ROLE_PERMISSIONS]].sort()).toEqual([...perms].sort());
    }
    expect([...ALL_PERMISSIONS].sort()).toEqual([...theirs.ALL_PERMISSIONS].sort());
  });
});
