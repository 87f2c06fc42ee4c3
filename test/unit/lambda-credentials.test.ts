/**
 * The credential chain of the deployed bundles (functions/lib/aws/lambda-credentials.ts): the
 * environment first, a container credentials endpoint second, memoized until five minutes before
 * the credentials expire, and a plain error when there is neither. (test/deploy/bundle-slimming
 * checks that the bundles use it.)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultProvider } from '../../functions/lib/aws/lambda-credentials';

const CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_PROFILE',
];

let saved: Record<string, string | undefined>;
let endpoint: Server;
let endpointUrl: string;
let served: { expiration: Date; authorization?: string }[];

beforeAll(async () => {
  endpoint = createServer((request, response) => {
    const expiration = new Date(Date.now() + Number(request.url?.split('/').pop() ?? 0) * 60_000);
    served.push({ expiration, authorization: request.headers.authorization });
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ AccessKeyId: `AKIDCONTAINER${served.length}`, SecretAccessKey: 'container-secret', Token: 'container-token', Expiration: expiration.toISOString() }),
    );
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => endpoint.close(resolve));
});

beforeEach(() => {
  served = [];
  saved = Object.fromEntries(CREDENTIAL_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of CREDENTIAL_VARIABLES) delete process.env[name];
});

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

it('answers with the credentials Lambda puts in the environment, without asking an endpoint', async () => {
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'env-secret', AWS_SESSION_TOKEN: 'env-token', AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpointUrl}/creds/60` });
  await expect(defaultProvider()()).resolves.toMatchObject({ accessKeyId: 'AKIDENV', secretAccessKey: 'env-secret', sessionToken: 'env-token' });
  expect(served).toEqual([]);
});

it('asks the container credentials endpoint when the environment holds no keys, with its authorization token', async () => {
  Object.assign(process.env, { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpointUrl}/creds/60`, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'token-123' });
  const provider = defaultProvider();
  await expect(provider()).resolves.toMatchObject({ accessKeyId: 'AKIDCONTAINER1', sessionToken: 'container-token' });
  // Memoized: an hour of validity left, no second request.
  await expect(provider()).resolves.toMatchObject({ accessKeyId: 'AKIDCONTAINER1' });
  expect(served.map((s) => s.authorization)).toEqual(['token-123']);
});

it('fetches again when the credentials it holds expire within five minutes', async () => {
  Object.assign(process.env, { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpointUrl}/creds/4` });
  const provider = defaultProvider();
  const first = await provider();
  const fetchedForFirst = served.length;
  const second = await provider();
  expect(fetchedForFirst).toBeGreaterThanOrEqual(1);
  expect(served.length).toBeGreaterThan(fetchedForFirst);
  expect(second.accessKeyId).not.toBe(first.accessKeyId);
});

it('fails with a message naming what it looked for, and never reads a profile', async () => {
  process.env.AWS_PROFILE = 'default';
  await expect(defaultProvider()()).rejects.toThrow(
    'No credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and AWS_CONTAINER_CREDENTIALS_FULL_URI/_RELATIVE_URI are all unset',
  );
});
