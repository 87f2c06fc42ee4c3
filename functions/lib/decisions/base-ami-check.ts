import type { RecommendedBaseAmi } from '../contracts/ami';
import type { BaseAmiAttempts } from '../contracts';
import { executionName } from '../contracts/executions';

/** Minutes the check waits after the n-th failed attempt for a base before it starts the next one. */
export const RETRY_AFTER_MINUTES = [60, 240, 960] as const;

/** `requestedBy` of the runs the scheduled check starts. */
export const SCHEDULED_CHECK = 'base-AMI check (schedule)';

export interface BaseAmiCheckState {
  recommended: RecommendedBaseAmi;
  /** `base-ami/current`: the base of the image every cluster confirmed. */
  currentBaseAmiId?: string;
  /** `base-ami/attempts`: the runs already started for the newest recommended base. */
  attempts?: BaseAmiAttempts;
  /** The run holding the fleet lock, and whether its execution is still alive. */
  holder?: { executionArn: string; alive: boolean };
  /** Whether the last run started for this base is still going (it may not hold the lock yet). */
  lastAttemptAlive?: boolean;
  /** Whether the last run started for this base ended because a person rejected a wave (or nobody answered). */
  lastAttemptNotApproved?: boolean;
  now: Date;
  maxAttempts: number;
  /** Who asks: the scheduled check, or the caller of `ami-pipeline check`. Recorded with the run. */
  requestedBy?: string;
}

export type BaseAmiDecision =
  | { action: 'none'; reason: 'up-to-date'; baseAmiId: string }
  | { action: 'none'; reason: 'run-in-flight'; baseAmiId: string; runningExecutionArn: string }
  | { action: 'none'; reason: 'retry-later'; baseAmiId: string; attempts: number; retryAt: string; lastExecutionArn: string }
  | { action: 'none'; reason: 'gave-up'; baseAmiId: string; attempts: number; lastExecutionArn: string }
  | { action: 'none'; reason: 'not-approved'; baseAmiId: string; lastExecutionArn: string }
  | {
      action: 'start';
      baseAmiId: string;
      previousBaseAmiId?: string;
      attempt: number;
      executionName: string;
      input: { trigger: 'base-ami'; sourceAmi: string; reason: string; requestedBy: string };
    };

function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').slice(0, 13);
}

/**
 * Should the recommended base start a run? Decided from recorded state, not from execution names:
 * - the base of the current image is the recommended one: nothing to do;
 * - another run holds the fleet: wait for the next check (a started run would only be skipped);
 * - a person rejected the last run for this base (or let its approval time out): do not ask again
 *   for the same base; the next weekly run, a newer base or `ami-pipeline run` does;
 * - runs already started for this base failed: start again after a growing pause, at most
 *   `maxAttempts` runs in all, then wait for a person (the weekly run still rebuilds);
 * - otherwise start a run. A recommendation that went back to an older base (AWS pulled a release)
 *   differs from the current base just the same, so the fleet follows it back.
 */
export function decideBaseAmiCheck(state: BaseAmiCheckState): BaseAmiDecision {
  const { recommended, currentBaseAmiId, attempts, holder, now, maxAttempts, lastAttemptAlive, lastAttemptNotApproved, requestedBy } = state;
  const baseAmiId = recommended.imageId;
  if (baseAmiId === currentBaseAmiId) return { action: 'none', reason: 'up-to-date', baseAmiId };
  if (holder?.alive) return { action: 'none', reason: 'run-in-flight', baseAmiId, runningExecutionArn: holder.executionArn };

  const tried = attempts?.baseAmiId === baseAmiId ? attempts : undefined;
  if (tried && lastAttemptAlive) return { action: 'none', reason: 'run-in-flight', baseAmiId, runningExecutionArn: tried.lastExecutionArn };
  if (tried && lastAttemptNotApproved) return { action: 'none', reason: 'not-approved', baseAmiId, lastExecutionArn: tried.lastExecutionArn };
  const done = tried?.attempts ?? 0;
  if (tried && done >= maxAttempts) {
    return { action: 'none', reason: 'gave-up', baseAmiId, attempts: done, lastExecutionArn: tried.lastExecutionArn };
  }
  if (tried) {
    const pause = RETRY_AFTER_MINUTES[Math.min(done, RETRY_AFTER_MINUTES.length) - 1] ?? RETRY_AFTER_MINUTES[0];
    const retryAt = new Date(Date.parse(tried.lastStartedAt) + pause * 60_000);
    // A record edited by hand without a readable time is no reason to wait.
    if (!Number.isNaN(retryAt.getTime()) && now.getTime() < retryAt.getTime()) {
      return { action: 'none', reason: 'retry-later', baseAmiId, attempts: done, retryAt: retryAt.toISOString(), lastExecutionArn: tried.lastExecutionArn };
    }
  }
  const attempt = done + 1;
  const why = `new ECS-optimized base AMI ${baseAmiId}${recommended.imageName ? ` (${recommended.imageName})` : ''}`;
  return {
    action: 'start',
    baseAmiId,
    previousBaseAmiId: currentBaseAmiId,
    attempt,
    executionName: executionName('base', baseAmiId, `a${attempt}`, stamp(now)),
    input: {
      trigger: 'base-ami',
      sourceAmi: baseAmiId,
      reason: attempt > 1 ? `${why}, attempt ${attempt} of ${maxAttempts}` : why,
      requestedBy: requestedBy ?? SCHEDULED_CHECK,
    },
  };
}
