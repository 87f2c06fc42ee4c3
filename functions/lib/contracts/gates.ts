/**
 * The gates a wave may have before and after it rolls (stage param `waves`, per wave):
 * - `requireApproval: true`: before the wave starts, the run waits on a Step Functions task token
 *   until a person answers (`ami-pipeline approve|reject`) or the stage's approval timeout passes;
 * - `soak: {...}`: after the wave confirmed registration, the run watches CloudWatch alarms and the
 *   ECS services on the wave's clusters for a while before the next wave (or the promotion).
 */

/** A wave's soak, as configured (defaults filled in by the waves schema). */
export interface SoakSettings {
  /** How long the wave must stay healthy after it confirmed registration. */
  minutes: number;
  /** CloudWatch alarm names to watch (the services' error and latency alarms): ALARM stops the run. */
  alarms: string[];
  /** Also require every ECS service on the wave's clusters to run its desired count. */
  checkServices: boolean;
  /** Pause between two checks (a Wait state: costs no Lambda time). */
  checkEverySeconds: number;
}

/** How a person (or the clock) answered a wave's approval. */
export const APPROVAL_DECISIONS = ['APPROVED', 'REJECTED', 'TIMED_OUT'] as const;
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[number];

/**
 * The task output `ami-pipeline approve|reject` sends with SendTaskSuccess, and what the run keeps
 * of it (`$.currentWave.approval`, then the rollout's wave and the records). Anything that is not
 * `decision: APPROVED` stops the run: a malformed answer is a rejection, never an approval.
 */
export interface ApprovalAnswer {
  decision: ApprovalDecision;
  /** Caller identity ARN of who answered (the CLI reads it with sts:GetCallerIdentity); null on time-out. */
  by: string | null;
  reason: string | null;
  at: string;
  wave: string;
}

/** Longest approval (or run) reason kept; longer ones are cut, control characters removed. */
export const REASON_LIMIT = 200;

/**
 * The ledger item `approval#<execution ARN>` (see RUN_LEDGER): the task token of the approval a run
 * waits for. Only the pipeline's functions and whoever may read the ledger table (the approvers'
 * policy in the README) can read the token; the ops message never carries it.
 */
export interface ApprovalWaiting {
  executionArn: string;
  wave: string;
  amiId: string;
  clusters: string[];
  token: string;
  requestedAt: string;
  /** When Step Functions times the wait out (as a rejection). */
  expiresAt: string;
  /** Set once a person answered through the CLI: a second answer is refused, naming the first. */
  answer?: ApprovalAnswer;
}

/** How a wave's soak ended, as the rollout keeps it. */
export interface SoakOutcome {
  status: 'PASSED' | 'FAILED';
  startedAt: string;
  endedAt: string;
  checks: number;
  /** What failed the soak, one line each (alarm name, state and reason; a service below desired). */
  problems: string[];
}
