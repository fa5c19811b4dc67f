/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testTimeout: 120000,
  // ts-jest typechecks per file; `npm test` runs `tsc --noEmit` over everything first.
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
};
