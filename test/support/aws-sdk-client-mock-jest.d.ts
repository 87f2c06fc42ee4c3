// jest.config.js registers the aws-sdk-client-mock-jest matchers (setupFilesAfterEnv); this brings
// their types (toHaveReceivedCommandWith, ...) into every test file for tsc.
/// <reference types="aws-sdk-client-mock-jest" />
