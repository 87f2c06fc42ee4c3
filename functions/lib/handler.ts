import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { BASE_AMI_ARCHITECTURES, LAMBDA_ENV, SERVICE_NAME, type BaseAmiArchitecture } from './contracts';
import { ConfigurationError, asTransientWhenRetryable } from './errors';

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
      throw routed;
    }
  };
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
