/**
 * Errors the state machine routes on. Step Functions matches `Retry`/`Catch` on the Lambda's
 * error type, which the Node.js runtime takes from `error.name`, so every class sets a stable
 * name here and the ASL refers to exactly these strings (test/unit/contracts-asl.test.ts checks).
 */
export class PipelineError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export const ERROR_NAMES = {
  invalidRequest: 'InvalidRequest',
  noAmiExported: 'NoAmiExported',
  amiNotAvailableYet: 'AmiNotAvailableYet',
  amiUnusable: 'AmiUnusable',
  stackBusy: 'StackBusy',
  /** The stack stayed busy past the cluster's time bound: the pipeline stops waiting and changes nothing. */
  stackBusyTooLong: 'StackBusyTooLong',
  stackNotRollable: 'StackNotRollable',
  stackUpdateInProgress: 'StackUpdateInProgress',
  /** An update the pipeline started is still going past the cluster's time bound. */
  stackUpdateTimedOut: 'StackUpdateTimedOut',
  stackUpdateRolledBack: 'StackUpdateRolledBack',
  stackRollbackFailed: 'StackRollbackFailed',
  stackChangedElsewhere: 'StackChangedElsewhere',
  registrationPending: 'RegistrationPending',
  registrationTimedOut: 'RegistrationTimedOut',
  transientAwsError: 'TransientAwsError',
  configuration: 'ConfigurationError',
  /** Another run holds the fleet lock: this run must not change anything. */
  fleetHeldByAnotherRun: 'FleetHeldByAnotherRun',
  /** `ami/current` does not read back the value just written yet (SSM validates aws:ec2:image asynchronously). */
  promotionNotVisibleYet: 'PromotionNotVisibleYet',
  /** A copy in another region is still pending (copyToRegions); the state machine looks again. */
  copyPending: 'CopyPending',
  /** A copy in another region failed or vanished. */
  copyFailed: 'CopyFailed',
} as const;
export type ErrorName = (typeof ERROR_NAMES)[keyof typeof ERROR_NAMES];

export class InvalidRequestError extends PipelineError {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(ERROR_NAMES.invalidRequest, `${field}: ${problem}`);
  }
}

/** The deployment's own settings are wrong: an operator must fix serverless params and redeploy. */
export class ConfigurationError extends PipelineError {
  constructor(message: string) {
    super(ERROR_NAMES.configuration, message);
  }
}

/**
 * An error as one line for a message or a result: its name and the first line of its message. An
 * answer the SDK could not read (an HTML error page) is named by its HTTP status instead.
 */
export function oneLineError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (/parse error|Deserialization error/i.test(error.message)) return `the endpoint answered HTTP ${status ?? '?'} with a body that is not an EC2 answer`;
  return `${error.name}: ${error.message.split('\n')[0]}`;
}

/**
 * Throttling and 5xx errors survive the SDK's own retries only when AWS is having a bad moment;
 * renaming them lets the state machine's `Retry` back off further instead of failing the run.
 */
export function asTransientWhenRetryable(error: unknown): unknown {
  // The pipeline's own errors are already named for routing; their messages quote stack and
  // cluster names and CloudFormation's reasons ("Rate exceeded"), which must not make them retries.
  if (!(error instanceof Error) || error instanceof PipelineError) return error;
  const meta = error as Error & {
    $retryable?: unknown;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const throttling = /Throttl|TooManyRequests|RequestLimitExceeded|Rate exceeded/i.test(`${error.name} ${error.message}`);
  const serverFault = meta.$fault === 'server' || (meta.$metadata?.httpStatusCode ?? 0) >= 500;
  if (throttling || serverFault || meta.$retryable !== undefined) {
    return new PipelineError(ERROR_NAMES.transientAwsError, `${error.name}: ${error.message}`);
  }
  return error;
}

/** True when an AWS SDK error has the given error code (SDK v3 puts it in `name`). */
export function isAwsError(error: unknown, code: string): boolean {
  return error instanceof Error && (error.name === code || (error as { Code?: string }).Code === code);
}
