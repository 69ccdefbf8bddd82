// One Jest run for the whole monorepo. Sources are ESM TypeScript, transpiled per file by
// ts-jest (no type-check here: `tsc -b` does that); node_modules stay untransformed, which is
// what lets the ESM-only libp2p and @noble/* v2 packages load under --experimental-vm-modules.
// (swc would be faster, but its per-platform binaries are not all served by our registry, and
// `npm ci` then refuses the lockfile.)
const tsJest = ['ts-jest', { useESM: true, isolatedModules: true, tsconfig: '<rootDir>/tsconfig.jest.json' }];

const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': tsJest },
  moduleNameMapper: {
    // Workspace packages resolve to their TypeScript sources, so tests need no build.
    '^@twinledger/([a-z0-9-]+)$': '<rootDir>/packages/$1/src/index.ts',
    // A service's subpaths (`@twinledger/spec-service/config`) are one source file each.
    '^@twinledger/(spec-service|acl-service|dht-gateway|device-agent|feed-ingest|console)/([a-z0-9-]+)$': '<rootDir>/services/$1/src/$2.ts',
    // Subpaths (`@twinledger/service-kit/ready`, `.../testing`) are one source file each.
    '^@twinledger/([a-z0-9-]+)/([a-z0-9-]+)$': '<rootDir>/packages/$1/src/$2.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
export default {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/{packages,services}/*/test/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.int\\.test\\.ts$', '/node_modules/'],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/{packages,services,test}/**/*.int.test.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
      setupFilesAfterEnv: ['<rootDir>/test/setup-integration.js'],
    },
  ],
};
