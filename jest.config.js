/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The build scripts are ES modules (scripts/*.mjs); swc turns them into CommonJS for the tests.
  transform: { '^.+\\.(ts|mjs)$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  setupFiles: ['<rootDir>/test/support/setup.ts'],
  setupFilesAfterEnv: ['aws-sdk-client-mock-jest'],
  // Each e2e file starts its own moto_server; two workers suit the 2-core machines CI uses.
  maxWorkers: 2,
  testTimeout: 30000,
};
