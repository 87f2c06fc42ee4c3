// An esbuild plugin: in a function's bundle, the SDK clients' default credential chain
// (`@aws-sdk/credential-provider-node`) is replaced by functions/lib/aws/lambda-credentials.ts,
// which reads credentials the way Lambda provides them (environment, else a container endpoint).
// The module says why; tests and the CLI, which do not bundle, keep the SDK's full chain.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAMBDA_CREDENTIALS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'functions', 'lib', 'aws', 'lambda-credentials.ts');

export const lambdaCredentials = {
  name: 'lambda-credentials',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({ path: LAMBDA_CREDENTIALS }));
  },
};
