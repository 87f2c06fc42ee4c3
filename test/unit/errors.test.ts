import {
  ConfigurationError,
  ERROR_NAMES,
  InvalidRequestError,
  PipelineError,
  asTransientWhenRetryable,
  isAwsError,
} from '../../functions/lib/contracts/errors';

/** An error shaped like an AWS SDK v3 service exception. */
function awsError(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 }, ...extra });
}

describe('error classes', () => {
  it('carry the stable names the state machine routes on', () => {
    const invalid = new InvalidRequestError('clusters[1]', 'is not configured');
    expect(invalid).toBeInstanceOf(PipelineError);
    expect(invalid.name).toBe('InvalidRequest');
    expect(invalid.message).toBe('clusters[1]: is not configured');
    expect(invalid.field).toBe('clusters[1]');
    expect(invalid.problem).toBe('is not configured');

    const config = new ConfigurationError('CLUSTER_WAVES is not set');
    expect(config.name).toBe(ERROR_NAMES.configuration);
    expect(config.message).toBe('CLUSTER_WAVES is not set');

    const named = new PipelineError(ERROR_NAMES.stackBusy, 'busy');
    expect(named).toBeInstanceOf(Error);
    expect(named.name).toBe('StackBusy');
  });
});

describe('asTransientWhenRetryable', () => {
  it.each([
    ['Throttling', 'Rate exceeded'],
    ['ThrottlingException', 'slow down'],
    ['TooManyRequestsException', 'too many'],
    ['RequestLimitExceeded', 'Request limit exceeded.'],
    ['ValidationError', 'Rate exceeded'],
  ])('renames a throttling error (%s: %s) to TransientAwsError, keeping the original in the message', (name, message) => {
    const routed = asTransientWhenRetryable(awsError(name, message));
    expect(routed).toBeInstanceOf(PipelineError);
    expect((routed as Error).name).toBe('TransientAwsError');
    expect((routed as Error).message).toBe(`${name}: ${message}`);
  });

  it('renames server faults, by $fault or by a 5xx status', () => {
    const byFault = asTransientWhenRetryable(awsError('InternalFailure', 'oops', { $fault: 'server' })) as Error;
    expect(byFault.name).toBe('TransientAwsError');
    expect(byFault.message).toBe('InternalFailure: oops');
    const byStatus = asTransientWhenRetryable(awsError('ServiceUnavailable', 'down', { $metadata: { httpStatusCode: 503 } })) as Error;
    expect(byStatus.name).toBe('TransientAwsError');
  });

  it('renames an error the SDK marks $retryable', () => {
    const routed = asTransientWhenRetryable(awsError('LimitExceededException', 'limit', { $retryable: {} })) as Error;
    expect(routed.name).toBe('TransientAwsError');
    expect(routed.message).toBe('LimitExceededException: limit');
  });

  it('leaves a plain client error unchanged (same object)', () => {
    const error = awsError('ValidationError', 'Stack with id x does not exist');
    expect(asTransientWhenRetryable(error)).toBe(error);
    const plain = new Error('something broke');
    expect(asTransientWhenRetryable(plain)).toBe(plain);
  });

  it('leaves non-Error values unchanged', () => {
    expect(asTransientWhenRetryable('text')).toBe('text');
    expect(asTransientWhenRetryable(undefined)).toBeUndefined();
    const obj = { name: 'Throttling' };
    expect(asTransientWhenRetryable(obj)).toBe(obj);
  });

  // The pipeline's own errors are already named for routing; a stack or cluster name, or a
  // CloudFormation root cause quoting "Rate exceeded", must not turn them into retries.
  it.each([
    new PipelineError(ERROR_NAMES.stackRollbackFailed, 'stack prod is UPDATE_ROLLBACK_FAILED: Asg: Rate exceeded (Service: AutoScaling)'),
    new PipelineError(ERROR_NAMES.registrationPending, 'cluster throttler-cluster: 0/2 instances ACTIVE'),
    new InvalidRequestError('clusters[0]', '"api-throttling" is not a configured cluster or stack'),
  ])('keeps the pipeline error %# as it is, even when its message mentions throttling', (error) => {
    expect(asTransientWhenRetryable(error)).toBe(error);
  });
});

describe('isAwsError', () => {
  it('matches the SDK v3 name, or a Code property', () => {
    expect(isAwsError(awsError('ParameterNotFound', 'x'), 'ParameterNotFound')).toBe(true);
    expect(isAwsError(Object.assign(new Error('x'), { Code: 'InvalidAMIID.NotFound' }), 'InvalidAMIID.NotFound')).toBe(true);
  });

  it('does not match another code or a non-Error', () => {
    expect(isAwsError(awsError('ParameterNotFound', 'x'), 'ParameterVersionNotFound')).toBe(false);
    expect(isAwsError({ name: 'ParameterNotFound' }, 'ParameterNotFound')).toBe(false);
    expect(isAwsError(undefined, 'ParameterNotFound')).toBe(false);
  });
});
