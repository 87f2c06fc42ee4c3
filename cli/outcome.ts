import { RUN_STATUSES, type RunStatus } from '../functions/lib/contracts';
import { EXIT } from './errors';

/** How an execution ended as ops read it, or where Step Functions itself left it. */
export type RunResult = RunStatus | 'RUNNING' | 'ABORTED' | 'TIMED_OUT' | 'UNKNOWN';

// The `Error` of each Fail state of statemachine/pipeline.asl.json (test/cli/outcome.test.ts holds them to it).
export const FAIL_STATE_ERRORS: Record<string, RunStatus> = {
  RequestRejected: 'REJECTED',
  RolledBack: 'ROLLED_BACK',
  RollbackFailed: 'CRITICAL',
  NotApproved: 'NOT_APPROVED',
  RunFailed: 'FAILED',
  NotificationFailed: 'FAILED',
};

// The Succeed states, for when the output is not there to read (history events truncate large documents).
export const SUCCEED_STATES: Record<string, RunStatus> = {
  'Fleet is on the new image': 'SUCCEEDED',
  'Rolled out to part of the fleet': 'PARTIAL',
  'Image baked (dry run)': 'DRY_RUN',
  'Skipped: another run holds the fleet': 'SKIPPED',
};

export interface ExecutionEnd {
  /** Step Functions' execution status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE. */
  status: string;
  /** The execution's output (the run document, whose `outcome.status` the state machine set). */
  output?: string;
  error?: string;
  /** The last state entered, when known. */
  lastState?: string;
}

function outputStatus(output: string | undefined): RunStatus | undefined {
  if (!output) return undefined;
  try {
    const status = (JSON.parse(output) as { outcome?: { status?: unknown } })?.outcome?.status;
    return (RUN_STATUSES as readonly unknown[]).includes(status) ? (status as RunStatus) : undefined;
  } catch {
    return undefined;
  }
}

export function outcomeOf(end: ExecutionEnd): RunResult {
  switch (end.status) {
    case 'RUNNING':
    case 'PENDING_REDRIVE':
      return 'RUNNING';
    case 'ABORTED':
    case 'TIMED_OUT':
      return end.status;
    case 'SUCCEEDED':
      return outputStatus(end.output) ?? (end.lastState ? SUCCEED_STATES[end.lastState] : undefined) ?? 'SUCCEEDED';
    case 'FAILED':
      return (end.error ? FAIL_STATE_ERRORS[end.error] : undefined) ?? 'FAILED';
    default:
      return 'UNKNOWN';
  }
}

/** `run` and `rollback` exit with how the run ended (documented in their --help and docs/cli.md). */
export function exitCodeOf(result: RunResult): number {
  switch (result) {
    case 'SUCCEEDED':
    case 'PARTIAL':
    case 'DRY_RUN':
      return EXIT.ok;
    case 'SKIPPED':
      return EXIT.skipped;
    case 'ROLLED_BACK':
      return EXIT.rolledBack;
    case 'CRITICAL':
      return EXIT.critical;
    default:
      return EXIT.failed;
  }
}

/** A few words for a result, as the tables and the end of `run` show it. */
export function describeResult(result: RunResult): string {
  const words: Record<RunResult, string> = {
    SUCCEEDED: 'succeeded',
    PARTIAL: 'rolled to its clusters; others still behind, not promoted',
    DRY_RUN: 'dry run: baked, not rolled',
    SKIPPED: 'skipped: another run held the fleet',
    REJECTED: 'rejected: invalid input',
    FAILED: 'failed',
    ROLLED_BACK: 'rolled back: new image not confirmed',
    CRITICAL: 'CRITICAL: a cluster needs a person',
    NOT_APPROVED: 'stopped: a wave was not approved',
    RUNNING: 'running',
    ABORTED: 'aborted',
    TIMED_OUT: 'timed out',
    UNKNOWN: 'unknown',
  };
  return words[result];
}
