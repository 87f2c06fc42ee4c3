import type { Context } from 'aws-lambda';
import { ERROR_NAMES, PipelineError } from '../../functions/lib/errors';
import { baseAmiArchitecture, createLogger, lambdaHandler, requireEnv } from '../../functions/lib/handler';

describe('lambdaHandler', () => {
  const logger = createLogger('test-function');

  afterEach(() => jest.restoreAllMocks());

  it('returns the work\'s result', async () => {
    const handler = lambdaHandler(logger, async (event: { n: number }) => ({ doubled: event.n * 2 }));
    await expect(handler({ n: 21 })).resolves.toEqual({ doubled: 42 });
  });

  it('resets the log keys, then tags every line with the execution ARN from executionArn or execution.id', async () => {
    const reset = jest.spyOn(logger, 'resetKeys');
    const append = jest.spyOn(logger, 'appendKeys');
    const handler = lambdaHandler(logger, async () => 'ok');
    await handler({ executionArn: 'arn:exec:1' });
    await handler({ execution: { id: 'arn:exec:2' } });
    await handler({ nothing: true });
    await handler(undefined);
    expect(reset).toHaveBeenCalledTimes(4);
    expect(append.mock.calls).toEqual([[{ executionArn: 'arn:exec:1' }], [{ executionArn: 'arn:exec:2' }]]);
  });

  it('adds the Lambda context when there is one', async () => {
    const add = jest.spyOn(logger, 'addContext').mockImplementation(() => undefined);
    const context = { functionName: 'f', awsRequestId: 'r' } as Context;
    await lambdaHandler(logger, async () => 'ok')({}, context);
    expect(add).toHaveBeenCalledWith(context);
  });

  it('renames throttling and 5xx errors to TransientAwsError', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    const handler = lambdaHandler(logger, async () => {
      throw throttled;
    });
    await expect(handler({})).rejects.toMatchObject({ name: 'TransientAwsError', message: 'Throttling: Rate exceeded' });
  });

  it('rethrows other errors as they are', async () => {
    const own = new PipelineError(ERROR_NAMES.stackBusy, 'stack x is busy');
    await expect(lambdaHandler(logger, async () => Promise.reject(own))({})).rejects.toBe(own);
    const plain = new Error('boom');
    await expect(lambdaHandler(logger, async () => Promise.reject(plain))({})).rejects.toBe(plain);
  });
});

describe('requireEnv', () => {
  const NAME = 'ECS_AMI_PIPELINE_TEST_VARIABLE';
  afterEach(() => {
    delete process.env[NAME];
  });

  it('returns the value', () => {
    process.env[NAME] = 'value';
    expect(requireEnv(NAME)).toBe('value');
  });

  it.each([undefined, ''])('fails naming the variable when it is %p', (value) => {
    if (value !== undefined) process.env[NAME] = value;
    expect(() => requireEnv(NAME)).toThrow(`environment variable ${NAME} is not set; it comes from serverless.yml`);
  });
});

describe('baseAmiArchitecture', () => {
  const saved = process.env.BASE_AMI_ARCHITECTURE;
  afterEach(() => {
    if (saved === undefined) delete process.env.BASE_AMI_ARCHITECTURE;
    else process.env.BASE_AMI_ARCHITECTURE = saved;
  });

  it('defaults to x86_64 and accepts arm64', () => {
    delete process.env.BASE_AMI_ARCHITECTURE;
    expect(baseAmiArchitecture()).toBe('x86_64');
    process.env.BASE_AMI_ARCHITECTURE = 'arm64';
    expect(baseAmiArchitecture()).toBe('arm64');
  });

  it('refuses anything else instead of quietly building x86_64', () => {
    process.env.BASE_AMI_ARCHITECTURE = 'aarch64';
    expect(() => baseAmiArchitecture()).toThrow('BASE_AMI_ARCHITECTURE is "aarch64"; set the baseAmiArchitecture param to x86_64 or arm64');
  });
});
