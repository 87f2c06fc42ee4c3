/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The build scripts are ES modules (scripts/*.mjs); swc turns them into CommonJS for the tests.
  transform: { '^.+\\.(ts|mjs)$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  setupFiles: ['<rootDir>/test/support/setup.ts'],
  // One moto_server per worker, shared by its files (test/support/worker-moto.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFilesAfterEnv: ['aws-sdk-client-mock-jest'],
  // Two workers suit the 2-core machines CI uses; each has its own moto_server.
  maxWorkers: 2,
  testTimeout: 30000,
};
