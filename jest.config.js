/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  setupFiles: ['<rootDir>/test/support/setup.ts'],
  setupFilesAfterEnv: ['aws-sdk-client-mock-jest'],
  // Each e2e file starts its own moto_server; two workers suit the 2-core machines CI uses.
  maxWorkers: 2,
  testTimeout: 30000,
};
