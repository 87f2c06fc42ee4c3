import type { Context } from 'aws-lambda';
import { ERROR_NAMES, PipelineError } from '../../functions/lib/contracts/errors';
import {
  ERROR_MESSAGE_LIMIT,
  baseAmiArchitecture,
  baseAmiMaxAttempts,
  boundedForState,
  createLogger,
  lambdaHandler,
  maxRolloutMinutes,
  registrationTimeoutSeconds,
  requireEnv,
} from '../../functions/lib/handler';

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

  it('hands Step Functions a bounded message and no stack trace', async () => {
    const long = new PipelineError(ERROR_NAMES.stackRollbackFailed, 'x'.repeat(ERROR_MESSAGE_LIMIT + 250));
    const error = await lambdaHandler(logger, async () => Promise.reject(long))({}).catch((e: Error) => e);
    expect(error.name).toBe('StackRollbackFailed');
    expect(error.message).toBe(`${'x'.repeat(ERROR_MESSAGE_LIMIT)}... (250 more characters in the function's log)`);
    expect(error.stack).toBe('StackRollbackFailed');
  });

  it('bounds a renamed transient error too', async () => {
    const throttled = Object.assign(new Error('Rate exceeded '.repeat(200)), { name: 'Throttling', $fault: 'client' });
    const error = await lambdaHandler(logger, async () => Promise.reject(throttled))({}).catch((e: Error) => e);
    expect(error.name).toBe('TransientAwsError');
    expect(error.message.startsWith('Throttling: Rate exceeded')).toBe(true);
    expect(error.message).toMatch(/\.\.\. \(\d+ more characters in the function's log\)$/);
    expect(error.stack).toBe('TransientAwsError');
  });
});

describe('boundedForState', () => {
  it(`keeps a message of up to ${ERROR_MESSAGE_LIMIT} characters whole, dropping only the stack trace`, () => {
    const error = new PipelineError(ERROR_NAMES.stackBusy, 'b'.repeat(ERROR_MESSAGE_LIMIT));
    expect(error.stack).toContain('\n');
    expect(boundedForState(error)).toBe(error);
    expect(error.message).toBe('b'.repeat(ERROR_MESSAGE_LIMIT));
    expect(error.stack).toBe('StackBusy');
  });

  it('cuts a longer message, saying how much is left in the log', () => {
    const error = new Error('a'.repeat(ERROR_MESSAGE_LIMIT + 1));
    boundedForState(error);
    expect(error.message).toBe(`${'a'.repeat(ERROR_MESSAGE_LIMIT)}... (1 more characters in the function's log)`);
    expect(error.stack).toBe('Error');
  });

  it('leaves anything that is not an Error alone', () => {
    const thrown = { message: 'x'.repeat(5000) };
    expect(boundedForState(thrown)).toBe(thrown);
    expect(thrown.message).toHaveLength(5000);
    expect(boundedForState('text')).toBe('text');
  });
});

describe('time bounds and attempts from the environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['MAX_ROLLOUT_MINUTES', 'REGISTRATION_TIMEOUT_SECONDS', 'BASE_AMI_MAX_ATTEMPTS']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('fall back to the stage defaults when not set', () => {
    delete process.env.MAX_ROLLOUT_MINUTES;
    process.env.REGISTRATION_TIMEOUT_SECONDS = '';
    delete process.env.BASE_AMI_MAX_ATTEMPTS;
    expect([maxRolloutMinutes(), registrationTimeoutSeconds(), baseAmiMaxAttempts()]).toEqual([240, 900, 3]);
  });

  it('take positive numbers as they are', () => {
    process.env.MAX_ROLLOUT_MINUTES = '90';
    process.env.REGISTRATION_TIMEOUT_SECONDS = '1.5';
    process.env.BASE_AMI_MAX_ATTEMPTS = '5';
    expect([maxRolloutMinutes(), registrationTimeoutSeconds(), baseAmiMaxAttempts()]).toEqual([90, 1.5, 5]);
  });

  it.each(['0', '-1', 'soon', 'Infinity'])('refuse %p with a ConfigurationError naming the variable', (value) => {
    process.env.MAX_ROLLOUT_MINUTES = value;
    expect(() => maxRolloutMinutes()).toThrow(
      expect.objectContaining({
        name: 'ConfigurationError',
        message: `MAX_ROLLOUT_MINUTES is ${JSON.stringify(value)}; it must be a positive number (set by serverless.yml from the stage params)`,
      }),
    );
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
