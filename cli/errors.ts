import { ConfigurationError, InvalidRequestError } from '../functions/lib/contracts/errors';

/**
 * Exit codes. `run` and `rollback` say how the run ended; every command uses USAGE when it stopped
 * before doing anything (bad option or input, unknown stage, no credentials, no confirmation).
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  rolledBack: 2,
  critical: 3,
  usage: 4,
  skipped: 5,
  interrupted: 130,
} as const;

/** An error the CLI explains itself: one line that names the problem and the fix. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const NO_CREDENTIALS = 'no AWS credentials: set AWS_PROFILE or run aws configure / aws sso login';

// Credentials that exist but AWS refuses (expired session, deleted key, wrong clock).
const REJECTED_CREDENTIALS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'TokenProviderError',
]);
const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT']);

// The request's fields, as the options that set them: the state machine's messages name the fields.
const FLAGS: [RegExp, string][] = [
  [/^sourceAmi$/, '--source-ami'],
  [/^dryRun$/, '--dry-run'],
  [/^clusters(\[|$)/, '--clusters'],
  [/^rollback\.toAmi$/, '--to'],
  [/^reason$/, '--reason'],
];

function flagOf(field: string): string | undefined {
  return FLAGS.find(([pattern]) => pattern.test(field))?.[1];
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

function isErrorLike(value: unknown): value is Error {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string' && typeof (value as { name?: unknown }).name === 'string';
}

/** The one line printed for an error, and the exit code. */
export function describeError(error: unknown, profile?: string): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof InvalidRequestError) {
    const flag = flagOf(error.field);
    return { message: `invalid request: ${error.field}${flag ? ` (${flag})` : ''}: ${error.problem}`, exitCode: EXIT.usage };
  }
  if (error instanceof ConfigurationError) return { message: `configuration: ${error.message}`, exitCode: EXIT.usage };
  // Duck-typed: Node's own errors (an invalid URL from the SDK's endpoint parsing) may come from
  // another realm than this module's Error (a vm context, as under jest), and are no less errors.
  if (!isErrorLike(error)) return { message: String(error), exitCode: EXIT.failed };
  const code = (error as { code?: string }).code;
  if (error.name === 'CredentialsProviderError') {
    const message = profile
      ? `no AWS credentials for profile "${profile}": check the name (aws configure list-profiles), or run aws configure / aws sso login`
      : NO_CREDENTIALS;
    return { message, exitCode: EXIT.usage };
  }
  if (code === 'ERR_INVALID_URL') {
    return { message: 'AWS_ENDPOINT_URL is not a URL; set it to one like http://127.0.0.1:5000, or unset it to reach AWS', exitCode: EXIT.usage };
  }
  if (/^Region not accepted/i.test(error.message)) {
    return { message: 'the AWS region (AWS_REGION or your profile\'s region) is not a region name like us-east-1; fix it or pass --region', exitCode: EXIT.usage };
  }
  if (/^Region is missing/i.test(error.message)) {
    return { message: 'no AWS region: pass --region, or set AWS_REGION (or a region in your AWS profile)', exitCode: EXIT.usage };
  }
  if (REJECTED_CREDENTIALS.has(error.name)) {
    return {
      message: `AWS rejected the credentials (${error.name}: ${firstLine(error.message)}); refresh them (aws sso login) or check AWS_PROFILE`,
      exitCode: EXIT.usage,
    };
  }
  if (ACCESS_DENIED.has(error.name)) {
    return {
      message: `access denied: ${firstLine(error.message)}; use a role allowed to operate the pipeline (AWS_PROFILE)`,
      exitCode: EXIT.usage,
    };
  }
  if (code && UNREACHABLE.has(code)) {
    return {
      message: `cannot reach AWS (${[code, firstLine(error.message)].filter(Boolean).join(' ')}); check the network, --region and --endpoint-url / AWS_ENDPOINT_URL`,
      exitCode: EXIT.failed,
    };
  }
  return { message: `${error.name}: ${firstLine(error.message)} (run with --debug for details)`, exitCode: EXIT.failed };
}
