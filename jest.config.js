/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testTimeout: 120000,
  // The Kafka tests talk to a real broker started once for the whole run (docker/kafka/broker.sh).
  globalSetup: '<rootDir>/test/kafka/global-setup.ts',
  globalTeardown: '<rootDir>/test/kafka/global-teardown.ts',
  // Type errors are caught by `tsc --noEmit` (run first by `npm test`); ts-jest only transpiles.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
};
