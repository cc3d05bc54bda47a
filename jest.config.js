// Two projects: `unit` (tests next to the code) and `e2e` (real kube-apiserver + etcd, see e2e/).
// TypeScript is transformed by SWC; types are checked separately by `npm run typecheck`.
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'es6' } }],
};
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  modulePathIgnorePatterns: ['<rootDir>/.toolchain/', '<rootDir>/dist/'],
};

export default {
  // Unit tests run real git, registries and processes on a 2-core machine that may be busy: 5 s is too
  // tight for the slow ones under load. (e2e/jest-timeout.ts raises e2e to 60 s.)
  testTimeout: 30_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{api,lib,controllers,cli,scripts,bench}/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/e2e/**/*.e2e.test.ts'],
      // One etcd + kube-apiserver for the run (built by `make testenv`); see docs/testenv.md.
      globalSetup: '<rootDir>/e2e/global-setup.ts',
      globalTeardown: '<rootDir>/e2e/global-teardown.ts',
      // `testTimeout` is a global option and would be ignored here: e2e/jest-timeout.ts sets it.
      setupFilesAfterEnv: ['<rootDir>/e2e/jest-timeout.ts'],
    },
  ],
};
