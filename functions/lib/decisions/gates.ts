import { LIMITS, type ClusterTarget, type Wave } from '../contracts';
import { REASON_LIMIT, type ApprovalAnswer, type SoakOutcome, type SoakSettings } from '../contracts/gates';
import { sanitized } from './request';

/** A person's free text as records and messages keep it: one line, bounded. */
export function boundedReason(text: string | null | undefined): string | null {
  if (text === undefined || text === null) return null;
  const line = sanitized(text);
  if (line === '') return null;
  // By code points, so a cut never splits a character (an emoji is two UTF-16 units).
  const chars = Array.from(line);
  return chars.length <= REASON_LIMIT ? line : `${chars.slice(0, REASON_LIMIT - 3).join('')}...`;
}

export type AnswerProblem = { field: string; problem: string };

/**
 * The answer `ami-pipeline approve|reject` sends. A rejection must say why (the message and the
 * records carry it to whoever started the run).
 */
export function composeAnswer(
  decision: 'APPROVED' | 'REJECTED',
  by: string,
  reason: string | undefined,
  wave: string,
  now: Date,
): { ok: true; answer: ApprovalAnswer } | { ok: false; problem: AnswerProblem } {
  const kept = boundedReason(reason);
  if (decision === 'REJECTED' && kept === null) {
    return { ok: false, problem: { field: '--reason', problem: 'a rejection needs a reason (it goes into the message and the records)' } };
  }
  return { ok: true, answer: { decision, by, reason: kept, at: now.toISOString(), wave } };
}

/**
 * The approval as the run keeps it, from whatever reached the task's output. Step Functions takes
 * any JSON from SendTaskSuccess (the CLI, or a person with the AWS CLI or console): only an
 * explicit `decision: APPROVED` approves; anything else is read as a rejection, with what it said.
 */
export function readAnswer(output: unknown, wave: string, now: Date): ApprovalAnswer {
  const raw = (output && typeof output === 'object' ? output : {}) as Record<string, unknown>;
  // A person answers APPROVED or REJECTED; TIMED_OUT is the state machine's own (timedOutAnswer).
  const decision = PERSON_DECISIONS.includes(raw.decision as never) ? (raw.decision as ApprovalAnswer['decision']) : undefined;
  const text = (value: unknown) => (typeof value === 'string' ? boundedReason(value) : null);
  const at = typeof raw.at === 'string' ? new Date(Date.parse(raw.at)) : undefined;
  return {
    decision: decision ?? 'REJECTED',
    by: text(raw.by),
    reason: decision ? text(raw.reason) : boundedReason(`the answer was not an approval the pipeline understands: ${JSON.stringify(output ?? null)}`),
    // Kept only as a normalised time: a date string may carry any text Date.parse skips.
    at: at && !Number.isNaN(at.getTime()) ? at.toISOString() : now.toISOString(),
    wave,
  };
}

const PERSON_DECISIONS: readonly ApprovalAnswer['decision'][] = ['APPROVED', 'REJECTED'];

/** What a wave waiting past the stage's approval timeout counts as. */
export function timedOutAnswer(wave: string, timeoutSeconds: number, now: Date): ApprovalAnswer {
  return {
    decision: 'TIMED_OUT',
    by: null,
    reason: `nobody answered within ${formatHours(timeoutSeconds)}`,
    at: now.toISOString(),
    wave,
  };
}

function formatHours(seconds: number): string {
  const hours = seconds / 3600;
  return Number.isInteger(hours) ? `${hours} hour${hours === 1 ? '' : 's'}` : `${Math.round(seconds / 60)} minutes`;
}

/** A Standard workflow run lives at most this long: the state machine's TimeoutSeconds (7 days). */
export const RUN_HOURS_LIMIT = 7 * 24;

/**
 * The longest a run can take with every wait at its bound: the bake (CodeBuild's 2-hour build and
 * 1-hour queue), the copies (an hour), and per wave its approval, its rollout bound and its soak.
 * Past RUN_HOURS_LIMIT, Step Functions would end the run TIMED_OUT half way.
 */
export function worstCaseRunHours(waves: Pick<Wave, 'requireApproval' | 'soak'>[], settings: { approvalTimeoutHours: number; maxRolloutMinutes: number; copies: boolean }): number {
  const perWave = waves.reduce(
    (sum, w) => sum + (w.requireApproval ? settings.approvalTimeoutHours : 0) + settings.maxRolloutMinutes / 60 + (w.soak ? w.soak.minutes / 60 : 0),
    0,
  );
  return 3 + (settings.copies ? 1 : 0) + perWave;
}

// ---------------------------------------------------------------------------------------------
// Soak

/**
 * Seconds between two soak checks: the configured pause, stretched so a soak never takes more than
 * LIMITS.soakChecks checks (each check is a Wait, a Lambda task and a Choice in the run's history).
 */
export function soakCheckInterval(soak: SoakSettings): number {
  return Math.max(soak.checkEverySeconds, Math.ceil((soak.minutes * 60) / LIMITS.soakChecks));
}

/** A CloudWatch alarm as the soak reads it (DescribeAlarms, metric and composite alarms). */
export interface AlarmView {
  name: string;
  state: string;
  reason?: string;
}

/** An ECS service on one of the wave's clusters. */
export interface ServiceView {
  cluster: string;
  service: string;
  desired: number;
  running: number;
}

/** The soak so far (`$.rollout.soak`), and what the run does next. */
export interface SoakProgress {
  status: 'STARTING' | 'SOAKING' | 'PASSED' | 'FAILED';
  startedAt?: string;
  endsAt?: string;
  checks?: number;
  /** When the last check looked. */
  checkedAt?: string;
  /** Services below their desired count at the last check: still below at the next one fails the soak. */
  belowDesired?: string[];
  /** Seconds the Wait state pauses before the next check. */
  nextCheckSeconds?: number;
  problems?: string[];
  /** What alarms and services looked like at the last check, one line (the run's history and logs). */
  lastCheck?: string;
}

export interface SoakObservation {
  alarms: AlarmView[];
  /** Configured alarm names DescribeAlarms did not return (deleted or renamed after the run started). */
  missingAlarms: string[];
  services: ServiceView[];
}

const serviceKey = (s: ServiceView) => `${s.cluster}/${s.service}`;

/**
 * One check of a wave's soak. An alarm in ALARM, or a watched alarm that no longer exists, fails it
 * at once. A service below its desired count fails it when it is still below at the next check (or
 * at the last one): a task being replaced on a fresh instance is a moment, not a failure.
 * INSUFFICIENT_DATA is not ALARM: a quiet service must not roll back a healthy wave.
 */
export function assessSoak(soak: SoakSettings, previous: SoakProgress, seen: SoakObservation, now: Date): SoakProgress {
  const startedAt = previous.status === 'STARTING' || !previous.startedAt ? now.toISOString() : previous.startedAt;
  const endsAt = new Date(Date.parse(startedAt) + soak.minutes * 60_000);
  const checks = (previous.status === 'STARTING' ? 0 : (previous.checks ?? 0)) + 1;
  const last = now.getTime() >= endsAt.getTime();

  const problems: string[] = [];
  for (const alarm of seen.alarms) {
    if (alarm.state === 'ALARM') problems.push(`alarm ${alarm.name} is ALARM${alarm.reason ? `: ${boundedReason(alarm.reason)}` : ''}`);
  }
  for (const name of seen.missingAlarms) problems.push(`alarm ${name} does not exist any more; the soak cannot watch it`);

  const below = soak.checkServices ? seen.services.filter((s) => s.running < s.desired) : [];
  const belowBefore = new Set(previous.status === 'STARTING' ? [] : (previous.belowDesired ?? []));
  for (const s of below) {
    if (belowBefore.has(serviceKey(s)) || last) {
      problems.push(`service ${s.service} on ${s.cluster} runs ${s.running} of ${s.desired} desired tasks${belowBefore.has(serviceKey(s)) ? ' at two checks in a row' : ' at the end of the soak'}`);
    }
  }

  const alarmWords = seen.alarms.length ? seen.alarms.map((a) => `${a.name} ${a.state}`).join(', ') : 'no alarms';
  const serviceWords = soak.checkServices
    ? `${seen.services.length - below.length}/${seen.services.length} services at their desired count`
    : 'services not checked';
  const lastCheck = `${alarmWords}; ${serviceWords}`;
  const base = { startedAt, endsAt: endsAt.toISOString(), checks, checkedAt: now.toISOString(), lastCheck };
  if (problems.length > 0) return { ...base, status: 'FAILED', problems };
  if (last) return { ...base, status: 'PASSED', problems: [] };
  const remaining = Math.ceil((endsAt.getTime() - now.getTime()) / 1000);
  return {
    ...base,
    status: 'SOAKING',
    belowDesired: below.map(serviceKey),
    nextCheckSeconds: Math.max(1, Math.min(soakCheckInterval(soak), remaining)),
    problems: [],
  };
}

/** How the soak ended, as the rollout keeps it for the message and the records. */
export function soakOutcome(progress: SoakProgress, now: Date): SoakOutcome | undefined {
  if (progress.status !== 'PASSED' && progress.status !== 'FAILED') return undefined;
  return {
    status: progress.status,
    startedAt: progress.startedAt ?? now.toISOString(),
    endedAt: now.toISOString(),
    checks: progress.checks ?? 0,
    problems: progress.problems ?? [],
  };
}

/** One cluster the soak rollback puts back (an item of "Roll the wave back after its soak"). */
export interface SoakRollbackItem {
  target: ClusterTarget;
  /** The image the cluster confirmed before this run: where it goes back to. */
  amiId: string;
  /** When the soak failed: the update's time bound counts from here. */
  since: string;
  /** For a cluster in another region: the stage-region image `amiId` is a copy of (null otherwise). */
  copyOf: string | null;
}

/**
 * Which of a wave's clusters go back, and to what: every cluster this run moved onto the new image,
 * to the image it confirmed before the run. A cluster that was on the new image already has nothing
 * earlier to go back to and stays.
 */
export function soakRollbackItems(
  wave: Wave,
  results: { stackName: string; status: string; confirmedAmiId?: string; confirmedCopyOf?: string; amiId: string }[],
  now: Date,
): SoakRollbackItem[] {
  return wave.clusters.flatMap((target) => {
    const result = results.find((r) => r.stackName === target.stackName);
    if (!result || result.status !== 'ROLLED' || !result.confirmedAmiId || result.confirmedAmiId === result.amiId) return [];
    return [{ target, amiId: result.confirmedAmiId, since: now.toISOString(), copyOf: result.confirmedCopyOf ?? null }];
  });
}
