import type { PipelineStep, RunStatus, Wave } from '../contracts';
import { executionConsoleUrl, executionNameOf } from '../contracts/executions';
import type { BakedAmi, Release, RunPlan } from '../contracts/plan';
import type { ClusterBehind } from './promotion';
import type { ApprovalAnswer, SoakOutcome } from '../contracts/gates';
import { assessWave, describeCaughtError, type CaughtError, type ClusterBranchOutput, type ClusterResult, type RolloutState, type WaveRecord } from './rollout';

/**
 * Everything the state machine knows when it notifies: the state document at that point, plus
 * the execution context and the `outcome` the failure or success path set.
 */
export interface RunDocument {
  execution: { id: string; name: string; startTime: string };
  request?: unknown;
  plan?: RunPlan;
  build?: { Build?: CodeBuildView };
  baked?: BakedAmi;
  release?: Release;
  rollout?: RolloutState;
  /**
   * The wave being rolled ("Pick the next wave"), with its clusters' results once "Roll the wave's
   * clusters" returned them. The rollout holds them only after "Assess the wave" folded them in.
   */
  currentWave?: { wave: Wave; approval?: ApprovalAnswer | null; results?: ClusterBranchOutput[] };
  /** Set by settledRunDocument: the wave whose results it folded in because its assessment failed. */
  unassessedWave?: string;
  /** What "Promote the AMI" answered: promoted, or which configured clusters are behind. */
  promotion?: { promoted: boolean; behind?: ClusterBehind[] };
  error?: CaughtError;
  outcome: { status: RunStatus; step: PipelineStep };
}

/** The build as Step Functions hands it over (the CodeBuild API's PascalCase names). */
interface CodeBuildView {
  Id?: string;
  BuildStatus?: string;
  Logs?: { DeepLink?: string };
  Phases?: { PhaseType?: string; PhaseStatus?: string; Contexts?: { Message?: string }[] }[];
}

export interface Notification {
  subject: string;
  message: string;
  attributes: { status: RunStatus; stage: string; step: PipelineStep };
}

export interface NotificationContext {
  serviceName: string;
  stage: string;
  now: Date;
}

const SUBJECT_LIMIT = 99; // SNS e-mail subjects must stay under 100 characters.

function regionOf(arn: string): string {
  return arn.split(':')[3] ?? 'us-east-1';
}

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

function between(start: string | undefined, end: string | undefined): string | undefined {
  if (!start || !end) return undefined;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? formatDuration(ms) : undefined;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * One line SNS accepts as a subject: no line breaks or control characters (the request is
 * refused otherwise), printable ASCII only (e-mail subjects), at most `limit` characters.
 */
function subjectLine(text: string, limit: number): string {
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
  return line.length <= limit ? line : `${line.slice(0, limit - 3)}...`;
}

/** The failed CodeBuild build, from the `.sync` task's error cause (the build as JSON). */
export function failedBuildOf(error: CaughtError | undefined): CodeBuildView | undefined {
  if (!error?.Cause) return undefined;
  try {
    const parsed = JSON.parse(error.Cause) as CodeBuildView & { Build?: CodeBuildView };
    const build = parsed.Build ?? parsed;
    return build.Id || build.BuildStatus ? build : undefined;
  } catch {
    return undefined;
  }
}

function buildSummary(build: CodeBuildView): { id?: string; status?: string; logs?: string; failure?: string } {
  const phases = build.Phases ?? [];
  const failed = phases.find((p) => p.PhaseStatus && !['SUCCEEDED', 'IN_PROGRESS'].includes(p.PhaseStatus));
  const failure = failed
    ? `${failed.PhaseType} phase ${failed.PhaseStatus}${failed.Contexts?.[0]?.Message ? `: ${failed.Contexts[0].Message}` : ''}`
    : undefined;
  return { id: build.Id, status: build.BuildStatus, logs: build.Logs?.DeepLink, failure };
}

function links(doc: RunDocument, build: CodeBuildView | undefined, clusters: ClusterResult[]): string[] {
  const region = regionOf(doc.execution.id);
  const console = `https://${region}.console.aws.amazon.com`;
  const lines = [`Execution:  ${executionConsoleUrl(doc.execution.id)}`];
  const logs = build ? buildSummary(build).logs : (doc.baked?.logsUrl ?? doc.release?.logsUrl);
  if (logs) lines.push(`Build logs: ${logs}`);
  for (const c of clusters) {
    lines.push(`Stack ${c.stackName}: ${console}/cloudformation/home?region=${region}#/stacks?filteringText=${encodeURIComponent(c.stackName)}`);
    lines.push(`Cluster ${c.clusterName}: ${console}/ecs/v2/clusters/${encodeURIComponent(c.clusterName)}/infrastructure?region=${region}`);
  }
  return lines;
}

function targetAmi(doc: RunDocument): string | undefined {
  return doc.release?.amiId ?? doc.baked?.amiId ?? doc.plan?.rollbackTo?.amiId;
}

/** Where a cluster was left, in words: every cluster's line says exactly what state it is in. */
export function clusterCondition(r: ClusterResult): string {
  switch (r.status) {
    case 'ROLLED':
      return `confirmed on ${r.amiId}`;
    case 'ROLLED_BACK':
      return `rolled back to ${r.leftOn ?? 'its last confirmed image'}, the image it last confirmed, and confirmed there`;
    case 'FAILED':
      if (r.ending === 'cloudformation-rolled-back') return `CloudFormation rolled the stack back${r.previousAmiId ? ` to ${r.previousAmiId}` : ''}; the pipeline changed nothing more`;
      if (r.ending === 'registration-not-confirmed' || r.ending === 'registration-not-checked') return `not confirmed on ${r.amiId}; the stack was not changed by this run`;
      return `not changed by this run${r.previousAmiId ? ` (still on ${r.previousAmiId})` : ''}`;
    case 'ROLLBACK_FAILED':
      return r.ending === 'stack-rollback-failed'
        ? 'NEEDS A PERSON: the stack update failed and CloudFormation could not roll it back'
        : `NEEDS A PERSON: rolling back to ${r.confirmedAmiId ?? 'its last confirmed image'} failed; the stack may be half-updated`;
    case 'UNCONFIRMED':
      switch (r.ending) {
        case 'update-timed-out':
          return `NEEDS A PERSON: the stack is still updating to ${r.amiId} past its time bound; the pipeline stopped waiting and did not cancel it`;
        case 'registration-not-confirmed':
          return `NEEDS A PERSON: left on ${r.amiId}, not confirmed, with no confirmed image to go back to`;
        case 'registration-not-checked':
          return `NEEDS A PERSON: left on ${r.amiId}; its registration could not be checked`;
        case 'not-updated':
          return `NEEDS A PERSON: the update step failed after its retries; CloudFormation may have taken the update to ${r.amiId}`;
        default:
          return `NEEDS A PERSON: the stack update to ${r.amiId} could not be followed to its end`;
      }
  }
}

function clusterLine(r: ClusterResult): string {
  const took = between(r.startedAt, r.finishedAt);
  const head = `${r.stackName} (${r.clusterName}): ${r.status.replace('_', ' ')}${took ? ` in ${took}` : ''}`;
  const detail = [
    clusterCondition(r),
    r.error ? `cause: ${r.error}` : undefined,
    r.rollbackError ? `rollback error: ${r.rollbackError}` : undefined,
    r.registration,
  ].filter(Boolean);
  return [head, ...detail.map((d) => `    ${d}`)].join('\n');
}

function clusterSection(doc: RunDocument): string[] {
  const waves = doc.plan?.waves ?? [];
  if (waves.length === 0) return [];
  const done = doc.rollout?.waves ?? [];
  const lines: string[] = [];
  waves.forEach((wave, i) => {
    const finished = done[i];
    if (finished) {
      lines.push(`Wave ${wave.name}:`);
      if (finished.approval) lines.push(`  ${approvalLine(finished.approval)}`);
      for (const r of finished.results) lines.push(...clusterLine(r).split('\n').map((l) => `  ${l}`));
      if (finished.soak) lines.push(`  ${soakLine(finished.soak)}`, ...finished.soak.problems.map((p) => `    ${p}`));
    } else {
      const names = wave.clusters.map((c) => c.stackName).join(', ');
      lines.push(`Wave ${wave.name}: not started (${names})`);
    }
  });
  return lines;
}

function approvalLine(a: ApprovalAnswer): string {
  const why = a.reason ? `: ${a.reason}` : '';
  switch (a.decision) {
    case 'APPROVED':
      return `Approved by ${a.by ?? 'an unnamed caller'} at ${a.at}${why}`;
    case 'REJECTED':
      return `REJECTED by ${a.by ?? 'an unnamed caller'} at ${a.at}${why}`;
    default:
      return `NOT APPROVED: ${a.reason ?? 'nobody answered in time'} (timed out at ${a.at})`;
  }
}

function soakLine(soak: SoakOutcome): string {
  const took = between(soak.startedAt, soak.endedAt) ?? '?';
  return soak.status === 'PASSED'
    ? `Soak passed: ${took}, ${plural(soak.checks, 'check')}, no alarm and every watched service at its desired count`
    : `SOAK FAILED after ${took} (${plural(soak.checks, 'check')}):`;
}

/** The wave a gate stopped, with its record. */
function stoppedWave(rollout: RolloutState | undefined): WaveRecord | undefined {
  const waves = rollout?.waves ?? [];
  return waves[waves.length - 1];
}

interface Story {
  headline: string;
  happened: string;
  leftAsItWas: string;
  pipelineDid: string;
}

function failedClusters(rollout: RolloutState | undefined): ClusterResult[] {
  return (rollout?.waves ?? []).flatMap((w) => w.results.filter((r) => r.status !== 'ROLLED'));
}

function rolledClusters(rollout: RolloutState | undefined): ClusterResult[] {
  return (rollout?.waves ?? []).flatMap((w) => w.results.filter((r) => r.status === 'ROLLED'));
}

/** `build` is the failed build when the run ended at the bake (parsed once by the caller). */
function story(doc: RunDocument, build: CodeBuildView | undefined): Story {
  const { status, step } = doc.outcome;
  const ami = targetAmi(doc) ?? 'the new image';
  const error = describeCaughtError(doc.error);
  const rolled = rolledClusters(doc.rollout);
  const rolledNote = rolled.length
    ? ` ${rolled.map((r) => r.stackName).join(', ')} ${rolled.length === 1 ? 'runs' : 'run'} ${ami} and ${rolled.length === 1 ? 'stays' : 'stay'} there.`
    : '';
  const clusterCount = (doc.plan?.waves ?? []).reduce((n, w) => n + w.clusters.length, 0);
  const current = `The current AMI in SSM (${doc.plan?.currentAmiId ?? 'none promoted yet'})`;

  switch (status) {
    case 'SUCCEEDED':
      return {
        headline:
          doc.plan?.mode === 'rollback'
            ? `${ami} rolled back to ${plural(clusterCount, 'cluster')}`
            : `${ami} rolled to ${plural(clusterCount, 'cluster')}`,
        happened: `Every cluster confirmed ${ami} through the ECS API.`,
        leftAsItWas: 'Nothing: the run completed.',
        pipelineDid: `Promoted ${ami} to current in SSM.`,
      };
    case 'PARTIAL': {
      const behind = doc.promotion?.behind ?? [];
      const list = behind.map((b) => `${b.stackName} (${b.amiId ?? 'no confirmed image'})`).join(', ');
      return {
        headline: `${ami} rolled to ${plural(clusterCount, 'cluster')}, not promoted`,
        happened: `The run's clusters confirmed ${ami} through the ECS API. Still on older images: ${list || 'none'}.`,
        leftAsItWas: `${current}: it changes only when every configured cluster confirmed the image.`,
        pipelineDid: `Rolled and confirmed ${plural(clusterCount, 'cluster')}; promoted nothing. Roll the others (or the whole fleet) to promote ${ami}.`,
      };
    }
    case 'DRY_RUN':
      return {
        headline: `${ami} baked, not rolled (dry run)`,
        happened: `Baked and recorded ${ami} as the latest image.`,
        leftAsItWas: 'Every cluster and the current AMI in SSM.',
        pipelineDid: 'Stopped before the rollout, as a dry run does.',
      };
    case 'SKIPPED': {
      const other = doc.plan?.skip?.runningExecutionArn ?? 'another run';
      return {
        headline: `run ${executionNameOf(other)} holds the fleet`,
        happened: `Run ${executionNameOf(other)} has held the fleet since ${doc.plan?.skip?.runningSince ?? 'earlier'}; only one run may roll the fleet at a time.`,
        leftAsItWas: 'Everything: this run changed nothing.',
        pipelineDid: `Ended this run as skipped. In-progress run: ${other}`,
      };
    }
    case 'REJECTED':
      return {
        headline: `invalid input (${error?.replace(/^InvalidRequest: /, '').split(':')[0] ?? 'request'})`,
        happened: `The request was rejected: ${error ?? 'invalid input'}.`,
        leftAsItWas: 'Everything: nothing was baked, recorded or rolled.',
        pipelineDid: 'Nothing. Fix the input and start the run again.',
      };
    case 'NOT_APPROVED': {
      const wave = stoppedWave(doc.rollout);
      const a = wave?.approval;
      const who = a?.decision === 'TIMED_OUT' ? 'nobody answered in time' : `rejected by ${a?.by ?? 'an unnamed caller'}`;
      return {
        headline: `wave ${wave?.name ?? '?'} ${who}`,
        happened:
          a?.decision === 'TIMED_OUT'
            ? `Wave ${wave?.name} waited for approval until ${a.at}; ${a.reason ?? 'nobody answered'}, which counts as a rejection.`
            : `${a?.by ?? 'An unnamed caller'} rejected wave ${wave?.name} at ${a?.at ?? '?'}: ${a?.reason ?? 'no reason given'}.`,
        leftAsItWas: `${current}; wave ${wave?.name ?? '?'} and later waves were not touched.${rolledNote}`,
        pipelineDid: `Stopped before wave ${wave?.name ?? '?'} and promoted nothing. Start a new run when ${ami} may go on.`,
      };
    }
    case 'ROLLED_BACK': {
      if (step === 'soak') {
        const wave = stoppedWave(doc.rollout);
        const back = (wave?.results ?? []).filter((r) => r.status === 'ROLLED_BACK');
        const problems = wave?.soak?.problems ?? [];
        return {
          headline: `wave ${wave?.name ?? '?'} failed its soak: ${problems[0] ?? 'an alarm or a service'}`,
          happened: `While wave ${wave?.name} soaked on ${ami}:\n${problems.join('\n')}`,
          leftAsItWas: `${current}; later waves were not touched.`,
          pipelineDid: `Rolled ${back.map((r) => `${r.stackName} back to ${r.leftOn ?? 'its last confirmed image'}`).join(', ')}, the image${back.length === 1 ? '' : 's'} confirmed before this run, and confirmed ${back.length === 1 ? 'it' : 'them'}; promoted nothing.`,
        };
      }
      const back = failedClusters(doc.rollout).filter((r) => r.status === 'ROLLED_BACK');
      return {
        headline: `${ami} not confirmed on ${back.map((r) => r.stackName).join(', ') || 'a cluster'}`,
        happened: back.map((r) => `${r.stackName}: ${r.error ?? 'registration not confirmed in time'}`).join('\n'),
        leftAsItWas: `${current}; later waves were not touched.${rolledNote}`,
        pipelineDid: `Rolled ${back.map((r) => `${r.stackName} back to ${r.leftOn ?? 'its last confirmed image'}`).join(', ')}, the image${back.length === 1 ? '' : 's'} last confirmed, and confirmed ${back.length === 1 ? 'it' : 'them'}; promoted nothing.`,
      };
    }
    case 'CRITICAL': {
      const broken = failedClusters(doc.rollout).filter((r) => r.status === 'ROLLBACK_FAILED' || r.status === 'UNCONFIRMED');
      const verb = broken.every((r) => r.status === 'ROLLBACK_FAILED') ? 'rollback of' : 'a person must check';
      return {
        headline: `${verb} ${broken.map((r) => r.stackName).join(', ') || 'a cluster'}${verb === 'rollback of' ? ' failed' : ''}`,
        happened: broken
          .map((r) => `${r.stackName}: ${clusterCondition(r)}${r.error ? `; cause: ${r.error}` : ''}${r.rollbackError ? `; rollback error: ${r.rollbackError}` : ''}`)
          .join('\n'),
        leftAsItWas: `${current}; later waves were not touched.${rolledNote}`,
        pipelineDid:
          'Stopped. ACTION REQUIRED: check each stack named above in the CloudFormation console (ContinueUpdateRollback for UPDATE_ROLLBACK_FAILED) and its ECS cluster.',
      };
    }
    case 'FAILED':
    default: {
      if (step === 'bake') {
        const summary = build ? buildSummary(build) : undefined;
        return {
          headline: `the image build failed`,
          happened: `CodeBuild build${summary?.id ? ` ${summary.id}` : ''} ended ${summary?.status ?? 'in failure'}${summary?.failure ? ` (${summary.failure})` : ''}.${build ? '' : ` ${error ?? ''}`}`.trim(),
          leftAsItWas: 'Everything: no AMI was recorded and no cluster was touched.',
          pipelineDid: 'Stopped. Read the build logs (link below), fix the cause, and run again.',
        };
      }
      if (step === 'copy') {
        const regions = (doc.plan?.copyRegions ?? []).map((c) => c.region).join(', ');
        return {
          headline: `copying ${ami} to other regions failed`,
          happened: `Copying ${ami} to ${regions || 'the configured regions'} failed: ${error ?? 'unknown error'}.`,
          leftAsItWas: `Every cluster and the current AMI in SSM. ${ami} is recorded as the latest image here; a region whose copy did not finish keeps its earlier ami/latest.`,
          pipelineDid: 'Stopped before the rollout. Fix the cause (often the region key\'s policy) and run again.',
        };
      }
      if (step === 'record') {
        return {
          headline: `the baked image could not be recorded`,
          happened: error ?? 'Recording the AMI failed.',
          leftAsItWas: 'The latest and current AMI in SSM, and every cluster.',
          pipelineDid: 'Stopped before the rollout.',
        };
      }
      if (step === 'promote') {
        return {
          headline: `${ami} rolled out but not promoted`,
          happened: `Every cluster confirmed ${ami}, then making it current in SSM failed: ${error ?? 'unknown error'}.`,
          leftAsItWas: `${current}, as far as the pipeline could tell; every cluster runs ${ami}.`,
          pipelineDid: 'Stopped. Run the pipeline again (rollback mode with toAmi set to this AMI re-promotes it without baking).',
        };
      }
      if (step === 'request') {
        const notReady = doc.plan?.notReady;
        return {
          headline: notReady ? `${plural(notReady.length, 'problem')} with the cluster targets` : 'the request could not be checked',
          happened: notReady ? notReady.join('\n') : (error ?? 'Checking the request failed.'),
          leftAsItWas: 'Everything: nothing was baked, recorded or rolled.',
          pipelineDid: 'Stopped before baking. Fix what is named above and start the run again.',
        };
      }
      if (step === 'approval') {
        return {
          headline: 'asking for approval failed',
          happened: error ?? 'The approval request could not be recorded or sent.',
          leftAsItWas: `${current}; the wave that needed approval and later waves were not touched.${rolledNote}`,
          pipelineDid: 'Stopped and promoted nothing. Start a new run once the cause is fixed.',
        };
      }
      if (step === 'soak') {
        const wave = stoppedWave(doc.rollout);
        const problems = wave?.soak?.problems ?? [];
        return {
          headline: problems.length ? `wave ${wave?.name ?? '?'} failed its soak` : `wave ${wave?.name ?? '?'}'s soak could not be checked`,
          happened: problems.length ? problems.join('\n') : (error ?? 'The soak check failed.'),
          leftAsItWas: `${current}; later waves were not touched.${rolledNote}`,
          pipelineDid: problems.length
            ? 'Stopped; no cluster had an earlier confirmed image to go back to. Promoted nothing.'
            : `Stopped with wave ${wave?.name ?? '?'} on ${ami} (not rolled back: its health was not known to be bad). Promoted nothing.`,
        };
      }
      if (step === 'rollout' || step === 'registration') {
        const failed = failedClusters(doc.rollout);
        return {
          headline: `rollout stopped at ${failed.map((r) => r.stackName).join(', ') || 'a cluster'}`,
          happened: failed.map((r) => `${r.stackName}: ${clusterCondition(r)}${r.error ? `; cause: ${r.error}` : ''}`).join('\n') || (error ?? 'the rollout failed'),
          leftAsItWas: `${current}; later waves were not touched.${rolledNote}`,
          pipelineDid: 'Stopped the rollout and promoted nothing.',
        };
      }
      return {
        headline: `failed at ${step}`,
        happened: error ?? 'The run failed.',
        leftAsItWas: 'Whatever the steps before this one did (see below).',
        pipelineDid: 'Stopped.',
      };
    }
  }
}

/**
 * The run as ops must hear it, when the rollout failed between "Pick the next wave" and the wave's
 * assessment. The wave's clusters are then in the state, not in the rollout:
 * - "Assess the wave" failed for good: their results are there, and are folded in as that step
 *   would have, so the message says where each cluster was left;
 * - "Roll the wave's clusters" itself failed: the run lost track of them mid-wave, so each is listed
 *   as a stack update that could not be followed to its end (a person must look).
 * Either way a cluster that needs a person makes the run CRITICAL. A wave whose approval was
 * refused was never rolled, and one already assessed is in the rollout: both are left alone.
 */
export function settledRunDocument(doc: RunDocument, now: Date): RunDocument {
  const current = doc.currentWave;
  const rollout = doc.rollout;
  if (doc.outcome.step !== 'rollout' || !rollout || !current?.wave) return doc;
  if (rollout.waves.some((w) => w.name === current.wave.name)) return doc;
  if (current.approval && current.approval.decision !== 'APPROVED') return doc;
  const results = current.results?.length ? current.results : current.wave.clusters.map((c) => lostTrackOf(c, doc));
  const assessed = assessWave(rollout, current.wave, results, doc.plan?.waves.length ?? rollout.nextWave + 1, now, current.approval);
  const status: RunStatus = assessed.status === 'CRITICAL' ? 'CRITICAL' : doc.outcome.status;
  return { ...doc, rollout: assessed, outcome: { ...doc.outcome, status }, unassessedWave: current.wave.name };
}

/** A cluster of a wave whose roll failed as a whole: nothing is known of how its update went. */
function lostTrackOf(cluster: Wave['clusters'][number], doc: RunDocument): ClusterBranchOutput {
  return {
    stackName: cluster.stackName,
    clusterName: cluster.clusterName,
    amiId: targetAmi(doc) ?? 'the new image',
    outcome: { ending: 'update-not-followed', step: 'rollout' },
    baseline: null,
    update: null,
    registration: null,
    rollbackRegistration: null,
    error: doc.error ?? null,
    rollbackError: null,
  };
}

/** Subject, body and filterable attributes of the message ops receive about a run. */
export function composeNotification(received: RunDocument, ctx: NotificationContext): Notification {
  const doc = settledRunDocument(received, ctx.now);
  const { status, step } = doc.outcome;
  const build = step === 'bake' ? failedBuildOf(doc.error) : doc.build?.Build;
  const tale = story(doc, build);
  if (doc.unassessedWave) {
    tale.happened += doc.currentWave?.results?.length
      ? `\nThen assessing wave ${doc.unassessedWave} failed: ${describeCaughtError(doc.error) ?? 'unknown error'}. Its clusters are listed as they ended.`
      : `\nRolling wave ${doc.unassessedWave} failed as a whole (${describeCaughtError(doc.error) ?? 'unknown error'}): the run lost track of its clusters, listed below as needing a person.`;
  }
  const label = status.replace('_', ' ');
  const subject = subjectLine(`[${ctx.serviceName} ${ctx.stage}] ${label}: ${tale.headline}`, SUBJECT_LIMIT);

  const plan = doc.plan;
  const clusters = (doc.rollout?.waves ?? []).flatMap((w) => w.results);
  const ami = targetAmi(doc);
  const lines: string[] = [
    `Status:   ${label}`,
    `Run:      ${doc.execution.name} (trigger: ${plan?.trigger ?? 'unknown'}, mode: ${plan?.mode ?? 'unknown'}${plan?.dryRun ? ', dry run' : ''})`,
    `Ended at: ${step}`,
    `Duration: ${between(doc.execution.startTime, ctx.now.toISOString()) ?? 'unknown'}`,
  ];
  if (plan?.requestedBy || plan?.reason) {
    lines.push(`Request:  ${[plan.requestedBy, plan.reason].filter(Boolean).join(': ')}`);
  }
  if (plan?.tookOverFrom) {
    lines.push(`Lock:     taken over from run ${executionNameOf(plan.tookOverFrom.executionArn)}, which had ended (${plan.tookOverFrom.status}) without releasing the fleet`);
  }
  if (plan?.skipEarlierWaves) lines.push('Waves:    earlier waves skipped on request (skipEarlierWaves)');
  lines.push('', 'What happened', `  ${tale.happened.split('\n').join('\n  ')}`);
  lines.push('', 'Left as it was', `  ${tale.leftAsItWas}`);
  lines.push('', 'What the pipeline did', `  ${tale.pipelineDid}`);

  const image: string[] = [];
  if (ami) image.push(`New AMI:      ${ami}`);
  // Only a promotion has a previous AMI; every other end leaves ami/current as it was.
  if (status === 'SUCCEEDED') image.push(`Previous AMI: ${plan?.currentAmiId ?? 'none (first promotion)'}`);
  else image.push(`Current AMI:  ${plan?.currentAmiId ? `${plan.currentAmiId} (unchanged)` : 'none promoted yet (unchanged)'}`);
  const base = doc.baked?.baseAmiId ?? doc.release?.baseAmiId ?? plan?.sourceAmi?.id;
  if (base) {
    const name = doc.baked?.baseAmiName ?? doc.release?.baseAmiName ?? plan?.sourceAmi?.name;
    image.push(`Base AMI:     ${base}${name ? ` (${name})` : ''}`);
  }
  const others = doc.release?.otherArchitectures ?? doc.baked?.otherArchitectures ?? [];
  if (others.length) image.push(`Also baked:   ${others.map((o) => `${o.architecture ?? '?'} ${o.amiId}`).join(', ')} (for the clusters of that architecture; ami/<architecture>/latest)`);
  const copies = doc.release?.copies ?? doc.baked?.copies ?? [];
  if (copies.length) image.push(`Copies:       ${copies.map((c) => `${c.region} ${c.amiId}`).join(', ')} (ami/latest in each region)`);
  if (plan) lines.push('', 'Image', ...image.map((l) => `  ${l}`));

  const clusterLines = clusterSection(doc);
  if (clusterLines.length) lines.push('', 'Clusters', ...clusterLines.map((l) => `  ${l}`));

  lines.push('', 'Links', ...links(doc, build, clusters).map((l) => `  ${l}`));
  return {
    subject,
    message: `${lines.join('\n')}\n`,
    attributes: { status, stage: ctx.stage, step },
  };
}
