import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import {
  BASE_AMI_ARCHITECTURES,
  DEFAULTS,
  IMAGE_RETENTION_MODES,
  LAMBDA_ENV,
  LIMITS,
  SERVICE_NAME,
  parameterNames,
  type BaseAmiArchitecture,
  type ImageRetentionMode,
  type ParameterNames,
  type CopyTarget,
} from './contracts';
import type { RetentionPolicy } from './decisions/retention';
import { NO_SHARING, type ShareTargets } from './decisions/sharing';
import { ConfigurationError, asTransientWhenRetryable } from './contracts/errors';
import { installSourceMappedStacks } from './source-mapped-stacks';

// In a bundle, stack traces name our TypeScript lines; source-mapped-stacks.ts says why this is not --enable-source-maps.
installSourceMappedStacks();

/** One JSON logger per function; every line carries the execution ARN once the handler knows it. */
export function createLogger(functionName: string): Logger {
  return new Logger({ serviceName: process.env.SERVICE_NAME ?? SERVICE_NAME, persistentKeys: { function: functionName } });
}

function executionArnOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as { executionArn?: unknown; execution?: { id?: unknown } };
  if (typeof e.executionArn === 'string') return e.executionArn;
  if (typeof e.execution?.id === 'string') return e.execution.id;
  return undefined;
}

/**
 * The shell every handler shares: log keys for correlation, one line for how it ended, and
 * throttling/5xx errors renamed so the state machine's Retry can back off on them.
 */
export function lambdaHandler<E, R>(logger: Logger, work: (event: E) => Promise<R>) {
  return async (event: E, context?: Context): Promise<R> => {
    logger.resetKeys();
    if (context) logger.addContext(context);
    const executionArn = executionArnOf(event);
    if (executionArn) logger.appendKeys({ executionArn });
    try {
      const result = await work(event);
      logger.info('finished', { result: result as unknown as Record<string, unknown> });
      return result;
    } catch (error) {
      const routed = asTransientWhenRetryable(error);
      logger.error('failed', { error: routed as Error });
      throw boundedForState(routed);
    }
  };
}

/** Longest error message a function hands Step Functions; the full error stays in the function's log. */
export const ERROR_MESSAGE_LIMIT = 1000;

/**
 * Step Functions keeps a caught error (`{Error, Cause}`) in the run's state, and the Lambda runtime
 * puts the message and the whole stack trace into the Cause. Across 50 clusters a wave that fails
 * everywhere would carry 50 stack traces past the 256 KiB state limit, so the error leaves the
 * function with a bounded message and no trace (both are logged in full just before).
 */
export function boundedForState(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (error.message.length > ERROR_MESSAGE_LIMIT) {
    const cut = error.message.length - ERROR_MESSAGE_LIMIT;
    error.message = `${error.message.slice(0, ERROR_MESSAGE_LIMIT)}... (${cut} more characters in the function's log)`;
  }
  error.stack = error.name;
  return error;
}

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`environment variable ${name} is not set; it comes from serverless.yml`);
  }
  return value;
}

/** The configured base AMI architecture; anything but the two AWS publishes is a deployment mistake. */
export function baseAmiArchitecture(): BaseAmiArchitecture {
  const value = process.env[LAMBDA_ENV.baseAmiArchitecture] || 'x86_64';
  if (!(BASE_AMI_ARCHITECTURES as readonly string[]).includes(value)) {
    throw new ConfigurationError(
      `${LAMBDA_ENV.baseAmiArchitecture} is ${JSON.stringify(value)}; set the baseAmiArchitecture param to x86_64 or arm64 and redeploy`,
    );
  }
  return value as BaseAmiArchitecture;
}

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(`${name} is ${JSON.stringify(raw)}; it must be a positive number (set by serverless.yml from the stage params)`);
  }
  return value;
}

/** A whole number in bounds from the environment, the contracts' default when unset. */
function boundedInteger(name: string, fallback: number, bounds: { min: number; max: number }): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw new ConfigurationError(`${name} is ${JSON.stringify(raw)}; it must be a whole number from ${bounds.min} to ${bounds.max} (set by serverless.yml from the stage params)`);
  }
  return value;
}

/** The retention params (retainPromotedImages, retentionGraceDays, bakeLeftoverHours), as serverless.yml passes them. */
export function retentionPolicy(): RetentionPolicy {
  return {
    keepPromoted: boundedInteger(LAMBDA_ENV.retainPromotedImages, DEFAULTS.retainPromotedImages, LIMITS.retainPromotedImages),
    graceDays: boundedInteger(LAMBDA_ENV.retentionGraceDays, DEFAULTS.retentionGraceDays, LIMITS.retentionGraceDays),
    bakeLeftoverHours: boundedInteger(LAMBDA_ENV.bakeLeftoverHours, DEFAULTS.bakeLeftoverHours, LIMITS.bakeLeftoverHours),
  };
}

/** imageRetention: delete, or report (say what would go, change nothing). */
export function retentionMode(): ImageRetentionMode {
  const value = process.env[LAMBDA_ENV.imageRetention] || 'delete';
  if (!(IMAGE_RETENTION_MODES as readonly string[]).includes(value)) {
    throw new ConfigurationError(`${LAMBDA_ENV.imageRetention} is ${JSON.stringify(value)}; set the imageRetention param to delete or report and redeploy`);
  }
  return value as ImageRetentionMode;
}

/** The stage's share targets, as packaging validated them (param shareWith). */
export function shareTargets(): ShareTargets {
  const raw = process.env[LAMBDA_ENV.shareWith];
  if (!raw) return NO_SHARING;
  try {
    return { ...NO_SHARING, ...(JSON.parse(raw) as Partial<ShareTargets>) };
  } catch {
    throw new ConfigurationError(`${LAMBDA_ENV.shareWith} is not JSON; it comes from the shareWith param through serverless.yml: redeploy`);
  }
}

/**
 * The regions each baked image is copied to (param copyToRegions, validated at packaging by
 * decisions/copies.ts parseCopyTargets); unset or empty: none.
 */
export function copyRegions(): CopyTarget[] {
  const raw = process.env[LAMBDA_ENV.copyToRegions];
  if (raw === undefined || raw.trim() === '') return [];
  try {
    const value = JSON.parse(raw) as unknown;
    if (Array.isArray(value) && value.every((t) => typeof t?.region === 'string')) return value as CopyTarget[];
  } catch {
    // reported below
  }
  throw new ConfigurationError(`${LAMBDA_ENV.copyToRegions} is not a JSON list of {region, kmsKeyId?}; it comes from the copyToRegions param: redeploy`);
}

/** How long a wave's approval waits before it counts as a rejection (param approvalTimeoutHours). */
export function approvalTimeoutHours(): number {
  return boundedInteger(LAMBDA_ENV.approvalTimeoutHours, DEFAULTS.approvalTimeoutHours, LIMITS.approvalTimeoutHours);
}

/** How long a stack may stay busy, or keep updating, before the pipeline stops waiting for it. */
export function maxRolloutMinutes(): number {
  return positiveNumber(LAMBDA_ENV.maxRolloutMinutes, DEFAULTS.maxRolloutMinutes);
}

export function registrationTimeoutSeconds(): number {
  return positiveNumber(LAMBDA_ENV.registrationTimeoutSeconds, DEFAULTS.registrationTimeoutSeconds);
}

export function baseAmiMaxAttempts(): number {
  return positiveNumber(LAMBDA_ENV.baseAmiMaxAttempts, DEFAULTS.baseAmiMaxAttempts);
}

/** The run ledger table (fleet lock, notification markers). */
export function runLedgerTable(): string {
  return requireEnv(LAMBDA_ENV.runLedgerTable);
}

/** The stage's SSM parameter names. */
export function stageParameters(): ParameterNames {
  return parameterNames(requireEnv(LAMBDA_ENV.parameterPrefix));
}
