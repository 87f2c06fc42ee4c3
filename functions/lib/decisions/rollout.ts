import type { Wave } from '../contracts';
import { ERROR_NAMES } from '../contracts/errors';
import type { ApprovalAnswer, SoakOutcome } from '../contracts/gates';
import type { SoakProgress, SoakRollbackItem } from './gates';

/**
 * How one cluster's roll ended, as the run reports it:
 * - ROLLED: confirmed on the new image through the ECS API;
 * - ROLLED_BACK: put back on the image it last confirmed, and confirmed there;
 * - FAILED: not changed by this run, or rolled back by CloudFormation itself to its previous image;
 * - ROLLBACK_FAILED: the stack update or the pipeline's rollback failed half way: the stack needs a person;
 * - UNCONFIRMED: the stack changed (or may have) and no image was confirmed: still updating past its
 *   bound, no known-good image to go back to, or registration could not be checked.
 * The last two make the run CRITICAL.
 */
export const CLUSTER_STATUSES = ['ROLLED', 'FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED', 'UNCONFIRMED'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

/** Where a cluster's branch of the state machine ended (the `ending` its last state sets). */
export const BRANCH_ENDINGS = [
  'rolled',
  'rolled-back',
  'rollback-failed',
  'baseline-failed',
  'not-updated',
  'cloudformation-rolled-back',
  'stack-rollback-failed',
  'update-timed-out',
  'update-not-followed',
  'registration-not-confirmed',
  'registration-not-checked',
] as const;
export type BranchEnding = (typeof BRANCH_ENDINGS)[number];

/** A Step Functions error caught by `Catch`: `{Error, Cause}`; Lambda causes are JSON with errorMessage. */
export interface CaughtError {
  Error?: string;
  Cause?: string;
}

export function describeCaughtError(error: CaughtError | null | undefined): string | undefined {
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
 * What each cluster's branch hands back (its last state, "Report the cluster's outcome"): only what
 * the assessment and the message need, every step's result compact, so a wave of 50 failing clusters
 * stays far below Step Functions' 256 KiB state limit. Absent steps are null.
 */
export interface ClusterBranchOutput {
  stackName: string;
  clusterName: string;
  amiId: string;
  outcome: { ending: BranchEnding; step: string };
  baseline: { amiId: string | null; copyOf?: string | null; source?: string; detail?: string; startedAt?: string } | null;
  update: { previousAmiId?: string | null; changed?: boolean; requestedAt?: string } | null;
  registration: { summary?: string; checkedAt?: string } | null;
  rollbackRegistration: { summary?: string; checkedAt?: string } | null;
  error: CaughtError | null;
  rollbackError: CaughtError | null;
}

export interface ClusterResult {
  stackName: string;
  clusterName: string;
  status: ClusterStatus;
  ending: BranchEnding;
  /** Where the branch ended: baseline, update, stack, registration or rollback. */
  step: string;
  amiId: string;
  /** The image the cluster last confirmed before this run (its rollback target), when known. */
  confirmedAmiId?: string;
  /** For a cluster in another region: the stage-region image its confirmed one is a copy of. */
  confirmedCopyOf?: string;
  /** The stack's image before this run changed it, when known. */
  previousAmiId?: string;
  /** The image the stack was left on, when the pipeline knows it. */
  leftOn?: string;
  error?: string;
  rollbackError?: string;
  registration?: string;
  startedAt?: string;
  finishedAt: string;
}

/** Errors that mean the update was refused before CloudFormation took it: the stack is as it was. */
const REFUSED_BEFORE_ANY_CHANGE = new Set<string>([
  ERROR_NAMES.stackNotRollable,
  ERROR_NAMES.stackBusyTooLong,
  ERROR_NAMES.fleetHeldByAnotherRun,
  ERROR_NAMES.configuration,
]);

/** Longest error text a result keeps; the whole error is in the execution's history and the function's log. */
export const RESULT_ERROR_LIMIT = 300;

function bounded(text: string | undefined): string | undefined {
  if (text === undefined || text.length <= RESULT_ERROR_LIMIT) return text;
  return `${text.slice(0, RESULT_ERROR_LIMIT)}...`;
}

export function clusterStatus(output: ClusterBranchOutput): ClusterStatus {
  const changed = output.update?.changed === true;
  switch (output.outcome.ending) {
    case 'rolled':
      return 'ROLLED';
    case 'rolled-back':
      return 'ROLLED_BACK';
    case 'rollback-failed':
    case 'stack-rollback-failed':
      return 'ROLLBACK_FAILED';
    case 'baseline-failed':
    case 'cloudformation-rolled-back':
      return 'FAILED';
    case 'not-updated':
      // After the retries, an error nobody named may have come after CloudFormation took the update.
      return REFUSED_BEFORE_ANY_CHANGE.has(output.error?.Error ?? '') ? 'FAILED' : 'UNCONFIRMED';
    case 'update-timed-out':
    case 'update-not-followed':
      return 'UNCONFIRMED';
    case 'registration-not-confirmed':
    case 'registration-not-checked':
      return changed ? 'UNCONFIRMED' : 'FAILED';
  }
}

function leftOn(output: ClusterBranchOutput, status: ClusterStatus): string | undefined {
  if (status === 'ROLLED') return output.amiId;
  if (status === 'ROLLED_BACK') return output.baseline?.amiId ?? undefined;
  if (status === 'FAILED') return output.update?.previousAmiId ?? output.baseline?.amiId ?? undefined;
  if (output.outcome.ending === 'registration-not-confirmed' || output.outcome.ending === 'registration-not-checked') return output.amiId;
  return undefined;
}

export function clusterResult(output: ClusterBranchOutput, now: Date): ClusterResult {
  const status = clusterStatus(output);
  return {
    stackName: output.stackName,
    clusterName: output.clusterName,
    status,
    ending: output.outcome.ending,
    step: output.outcome.step,
    amiId: output.amiId,
    confirmedAmiId: output.baseline?.amiId ?? undefined,
    ...(output.baseline?.copyOf ? { confirmedCopyOf: output.baseline.copyOf } : {}),
    previousAmiId: output.update?.previousAmiId ?? undefined,
    leftOn: leftOn(output, status),
    error: bounded(describeCaughtError(output.error)),
    rollbackError: bounded(describeCaughtError(output.rollbackError)),
    registration: bounded(output.rollbackRegistration?.summary ?? output.registration?.summary),
    startedAt: output.baseline?.startedAt ?? output.update?.requestedAt,
    finishedAt: output.rollbackRegistration?.checkedAt ?? output.registration?.checkedAt ?? now.toISOString(),
  };
}

export type RolloutStatus = 'IN_PROGRESS' | 'COMPLETE' | 'FAILED' | 'ROLLED_BACK' | 'CRITICAL' | 'NOT_APPROVED';

/** One wave as the run kept it: its clusters' results, and its gates when it had them. */
export interface WaveRecord {
  name: string;
  results: ClusterResult[];
  /** The answer to the wave's approval (who, why, when), when the wave required one. */
  approval?: ApprovalAnswer;
  /** How the wave's soak ended, when it had one. */
  soak?: SoakOutcome;
}

export interface RolloutState {
  /** Index into the plan's waves of the wave to roll next. */
  nextWave: number;
  status: RolloutStatus;
  waves: WaveRecord[];
  /** The soak of the wave just rolled, while it runs (the state machine's Wait loop reads it). */
  soak?: SoakProgress;
  /** The clusters a failed soak puts back, the items of "Roll the wave back after its soak". */
  soakRollBack?: SoakRollbackItem[];
}

/**
 * Folds one finished wave into the rollout and decides what happens next. Any cluster not confirmed
 * on the new image stops the rollout (later waves are not touched); a cluster left in a state that
 * needs a person outranks everything.
 */
export function assessWave(
  previous: RolloutState,
  wave: Wave,
  outputs: ClusterBranchOutput[],
  totalWaves: number,
  now: Date,
  approval?: ApprovalAnswer | null,
): RolloutState {
  const results = outputs.map((o) => clusterResult(o, now));
  const statuses = new Set(results.map((r) => r.status));
  let status: RolloutStatus;
  if (statuses.has('ROLLBACK_FAILED') || statuses.has('UNCONFIRMED')) status = 'CRITICAL';
  else if (statuses.has('FAILED')) status = 'FAILED';
  else if (statuses.has('ROLLED_BACK')) status = 'ROLLED_BACK';
  else status = previous.nextWave + 1 < totalWaves ? 'IN_PROGRESS' : 'COMPLETE';
  return {
    nextWave: previous.nextWave + 1,
    status,
    waves: [...previous.waves, { name: wave.name, results, ...(approval ? { approval } : {}) }],
  };
}

/** A wave whose approval was rejected or timed out: the rollout stops before touching it. */
export function assessNotApproved(previous: RolloutState, wave: Wave, approval: ApprovalAnswer): RolloutState {
  return {
    nextWave: previous.nextWave,
    status: 'NOT_APPROVED',
    waves: [...previous.waves, { name: wave.name, results: [], approval }],
  };
}

/**
 * The wave's soak ended: a passed soak is kept on the wave and the rollout goes on as assessed;
 * a failed one keeps the clusters to put back (the rollout's status is decided once they are back).
 */
export function recordSoak(previous: RolloutState, outcome: SoakOutcome, rollBack: SoakRollbackItem[]): RolloutState {
  const waves = previous.waves.map((w, i) => (i === previous.waves.length - 1 ? { ...w, soak: outcome } : w));
  return outcome.status === 'PASSED' ? { ...previous, waves, soakRollBack: undefined } : { ...previous, waves, soakRollBack: rollBack };
}

/**
 * After a failed soak's rollback: each cluster put back is ROLLED_BACK (or ROLLBACK_FAILED, which
 * needs a person); clusters that had nothing to go back to keep their result. The rollout is
 * CRITICAL when a rollback failed, ROLLED_BACK when a cluster went back, FAILED when none could.
 */
export function assessSoakRollback(previous: RolloutState, outputs: ClusterBranchOutput[], now: Date): RolloutState {
  const back = new Map(outputs.map((o) => [o.stackName, clusterResult(o, now)]));
  const last = previous.waves.length - 1;
  const waves = previous.waves.map((w, i) => (i === last ? { ...w, results: w.results.map((r) => back.get(r.stackName) ?? r) } : w));
  const statuses = new Set([...back.values()].map((r) => r.status));
  const status: RolloutStatus =
    statuses.has('ROLLBACK_FAILED') || statuses.has('UNCONFIRMED') ? 'CRITICAL' : statuses.has('ROLLED_BACK') ? 'ROLLED_BACK' : 'FAILED';
  return { nextWave: previous.nextWave, status, waves, soak: previous.soak };
}
