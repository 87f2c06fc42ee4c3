import type { ClusterTarget, Wave } from './contracts';

/** How one cluster's roll ended. */
export const CLUSTER_STATUSES = ['ROLLED', 'FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

/** A Step Functions error caught by `Catch`: `{Error, Cause}`; Lambda causes are JSON with errorMessage. */
export interface CaughtError {
  Error?: string;
  Cause?: string;
}

export function describeCaughtError(error: CaughtError | undefined): string | undefined {
  if (!error) return undefined;
  let message = error.Cause ?? '';
  try {
    const cause = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof cause?.errorMessage === 'string') message = cause.errorMessage;
  } catch {
    // a plain-text cause
  }
  return [error.Error, message].filter(Boolean).join(': ');
}

/**
 * What the per-cluster branch of the state machine leaves behind: its input, the result of each
 * step under its own key, a caught error if any, and the `outcome` set by the branch's last state.
 */
export interface ClusterBranchOutput {
  target: ClusterTarget;
  amiId: string;
  update?: { previousAmiId?: string; changed?: boolean; requestedAt?: string };
  stack?: { status?: string; settledAt?: string };
  registration?: { summary?: string; checkedAt?: string };
  error?: CaughtError;
  rollbackUpdate?: { requestedAt?: string };
  rollbackRegistration?: { summary?: string; checkedAt?: string };
  rollbackError?: CaughtError;
  outcome: { status: ClusterStatus; step: string };
}

export interface ClusterResult {
  stackName: string;
  clusterName: string;
  status: ClusterStatus;
  /** Where the branch ended: update, stack, registration or rollback. */
  step: string;
  amiId: string;
  previousAmiId?: string;
  error?: string;
  rollbackError?: string;
  registration?: string;
  startedAt?: string;
  finishedAt: string;
}

export function clusterResult(output: ClusterBranchOutput, now: Date): ClusterResult {
  return {
    stackName: output.target.stackName,
    clusterName: output.target.clusterName,
    status: output.outcome.status,
    step: output.outcome.step,
    amiId: output.amiId,
    previousAmiId: output.update?.previousAmiId || undefined,
    error: describeCaughtError(output.error),
    rollbackError: describeCaughtError(output.rollbackError),
    registration: output.rollbackRegistration?.summary ?? output.registration?.summary,
    startedAt: output.update?.requestedAt,
    finishedAt: output.rollbackRegistration?.checkedAt ?? output.registration?.checkedAt ?? now.toISOString(),
  };
}

export type RolloutStatus = 'IN_PROGRESS' | 'COMPLETE' | 'FAILED' | 'ROLLED_BACK' | 'CRITICAL';

export interface RolloutState {
  /** Index into the plan's waves of the wave to roll next. */
  nextWave: number;
  status: RolloutStatus;
  waves: { name: string; results: ClusterResult[] }[];
}

/**
 * Folds one finished wave into the rollout and decides what happens next. Any failed cluster stops
 * the rollout (later waves are not touched); a failed rollback outranks everything.
 */
export function assessWave(
  previous: RolloutState,
  wave: Wave,
  outputs: ClusterBranchOutput[],
  totalWaves: number,
  now: Date,
): RolloutState {
  const results = outputs.map((o) => clusterResult(o, now));
  const statuses = new Set(results.map((r) => r.status));
  let status: RolloutStatus;
  if (statuses.has('ROLLBACK_FAILED')) status = 'CRITICAL';
  else if (statuses.has('FAILED')) status = 'FAILED';
  else if (statuses.has('ROLLED_BACK')) status = 'ROLLED_BACK';
  else status = previous.nextWave + 1 < totalWaves ? 'IN_PROGRESS' : 'COMPLETE';
  return {
    nextWave: previous.nextWave + 1,
    status,
    waves: [...previous.waves, { name: wave.name, results }],
  };
}
