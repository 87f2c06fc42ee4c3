import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { publishToOps } from '../lib/aws/ops-topic';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { deleteBakeResource, deleteOrphanSnapshot, deprecateImage, deregisterWithSnapshots, terminateInstances } from '../lib/aws/image-cleanup';
import { listRunningExecutions } from '../lib/aws/aws-lookups';
import { surveyStageImages, type ImageSurvey, type SurveyScope } from '../lib/aws/image-inventory';
import { ec2In, fleetClientsFor, ssmIn } from '../lib/aws/regional-clients';
import { regionalSurvey } from '../lib/decisions/regional-retention';
import { executionNameOf } from '../lib/contracts/executions';
import { publishMetrics } from '../lib/aws/metrics';
import { fleetAgeMetrics } from '../lib/decisions/metrics';
import { LAMBDA_ENV, SERVICE_NAME, type ClusterTarget, type ImageRetentionMode } from '../lib/contracts';
import { InvalidRequestError, oneLineError } from '../lib/contracts/errors';
import { decideRetention, type RetentionPlan } from '../lib/decisions/retention';
import { combinedRetentionMessage, retentionMessage, worthTelling, type RetentionOutcome } from '../lib/decisions/retention-message';
import { allTargets, parseConfiguredWaves } from '../lib/decisions/waves';
import { copyRegions, createLogger, lambdaHandler, requireEnv, retentionMode, retentionPolicy, stageParameters } from '../lib/handler';

const ec2 = new EC2Client({});
const ssm = new SSMClient({});
const cfn = new CloudFormationClient({});
const autoscaling = new AutoScalingClient({});
const sfn = new SFNClient({});
const sns = new SNSClient({});
const logger = createLogger('retain-images');

/**
 * The daily schedule and the end of every successful run invoke it with their EventBridge events
 * (only their source matters); a person may invoke it with `{"dryRun": true}` to see the plan.
 */
const eventSchema = z
  .object({ dryRun: z.boolean({ invalid_type_error: 'dryRun must be true or false' }).optional() })
  .passthrough();

export type RetainImagesEvent = z.input<typeof eventSchema>;

export interface RetainImagesResult {
  /** `dry-run` when the event asked for one; else the stage's imageRetention mode. */
  mode: ImageRetentionMode | 'dry-run';
  /** DEFERRED: a run started while retention decided; it changed nothing and the next pass decides again. */
  status: RetentionOutcome['status'] | 'NOTHING_TO_DO' | 'DEFERRED';
  deregistered: string[];
  wouldDeregister: { imageId: string; why: string }[];
  deprecated: string[];
  terminated: string[];
  /** Orphan snapshots of the stage deleted (their images were already gone). */
  snapshotsDeleted: string[];
  /** Temporary security groups and key pairs of finished bakes deleted. */
  bakeResourcesDeleted: string[];
  kept: { imageId: string; reasons: string[] }[];
  failures: string[];
  /** Deprecations EC2 refused: the images stay, undeprecated; the next pass tries again. */
  warnings: string[];
  notified: boolean;
  /** The same, for each region the stage copies its images to (copyToRegions). */
  regions?: (RetainImagesResult & { region: string })[];
}

function summary(mode: RetainImagesResult['mode'], status: RetainImagesResult['status'], plan: RetentionPlan, done: Partial<RetentionOutcome>, notified: boolean): RetainImagesResult {
  return {
    mode,
    status,
    deregistered: (done.deregistered ?? []).map((d) => d.imageId),
    wouldDeregister: plan.deregister.map((r) => ({ imageId: r.image.imageId, why: r.why })),
    deprecated: done.deprecated ?? [],
    terminated: done.terminated ?? [],
    snapshotsDeleted: done.snapshotsDeleted ?? [],
    bakeResourcesDeleted: done.bakeResourcesDeleted ?? [],
    kept: plan.keep.map((k) => ({ imageId: k.image.imageId, reasons: k.reasons.map((r) => r.detail) })),
    failures: done.failures ?? [],
    warnings: done.warnings ?? [],
    notified,
  };
}

async function messageOf(outcome: RetentionOutcome, region?: string) {
  const stage = requireEnv(LAMBDA_ENV.stage);
  const where = region ?? (await ec2.config.region());
  return { ...retentionMessage({ serviceName: process.env[LAMBDA_ENV.serviceName] ?? SERVICE_NAME, stage, region: where }, outcome), region: where };
}

/** One message per pass, whatever the number of regions it changed something in. */
async function publish(outcomes: { outcome: RetentionOutcome; region?: string }[]): Promise<void> {
  if (!outcomes.length) return;
  const message = combinedRetentionMessage(await Promise.all(outcomes.map((o) => messageOf(o.outcome, o.region))));
  await publishToOps(sns, requireEnv(LAMBDA_ENV.topicArn), message, { eventType: 'retention' });
}

/**
 * The fleet's daily figures, from what the survey read anyway: each configured cluster's image age
 * (the image its record names, when it is one of the stage's), the oldest, and the days since the
 * last promotion. The stack's alarms watch the last two.
 */
function fleetMetrics(survey: ImageSurvey, targets: ClusterTarget[], now: Date) {
  const confirmed = new Map(survey.uses.filter((u) => u.kind === 'cluster-confirmed' && u.stackName).map((u) => [u.stackName!, u.imageId]));
  const created = new Map(survey.images.map((i) => [i.imageId, i.createdAt]));
  return fleetAgeMetrics(
    targets.map((t) => ({ stackName: t.stackName, amiId: confirmed.get(t.stackName) })),
    (amiId) => created.get(amiId),
    survey.lastPromotedAt,
    now,
  );
}

/** Carries the plan out, one change at a time; a change that fails is reported and the others go on. */
type Changes = Pick<RetentionOutcome, 'deregistered' | 'deprecated' | 'terminated' | 'failures' | 'warnings'> & { snapshotsDeleted: string[]; bakeResourcesDeleted: string[] };

async function carryOut(plan: RetentionPlan, now: Date, ec2: EC2Client): Promise<Changes> {
  const done: Changes = { deregistered: [], deprecated: [], terminated: [], snapshotsDeleted: [], bakeResourcesDeleted: [], failures: [], warnings: [] };
  // Build instances first: a stopped build's instance costs money every hour.
  if (plan.terminate.length) {
    const ids = plan.terminate.map((t) => t.instanceId);
    try {
      await terminateInstances(ec2, ids);
      done.terminated.push(...ids);
    } catch (error) {
      done.failures.push(`terminate ${ids.join(', ')}: ${oneLineError(error)}`);
    }
  }
  for (const removed of plan.deregister) {
    try {
      const result = await deregisterWithSnapshots(ec2, removed.image);
      done.deregistered.push(result);
      logger.info('deregistered', { imageId: removed.image.imageId, why: removed.why, snapshots: result });
      for (const left of result.snapshotsKept.filter((k) => k.failed)) done.failures.push(`delete snapshot ${left.snapshotId} of ${removed.image.imageId}: ${left.reason}`);
    } catch (error) {
      done.failures.push(`deregister ${removed.image.imageId}: ${oneLineError(error)}`);
    }
  }
  for (const orphan of plan.deleteSnapshots) {
    try {
      await deleteOrphanSnapshot(ec2, orphan.snapshotId);
      done.snapshotsDeleted.push(orphan.snapshotId);
    } catch (error) {
      done.failures.push(`delete snapshot ${orphan.snapshotId}: ${oneLineError(error)}`);
    }
  }
  for (const resource of plan.deleteBakeResources) {
    try {
      if (await deleteBakeResource(ec2, resource)) done.bakeResourcesDeleted.push(resource.id);
      else done.warnings.push(`delete ${resource.kind} ${resource.id}: still in use (its instance is shutting down); the next pass deletes it`);
    } catch (error) {
      done.failures.push(`delete ${resource.kind} ${resource.id}: ${oneLineError(error)}`);
    }
  }
  for (const kept of plan.keep.filter((k) => k.deprecate)) {
    try {
      await deprecateImage(ec2, kept.image.imageId, now);
      done.deprecated.push(kept.image.imageId);
    } catch (error) {
      // Deprecation only makes the console warn; a refusal is reported, not a failure of the pass.
      done.warnings.push(`deprecate ${kept.image.imageId}: ${oneLineError(error)}`);
    }
  }
  return done;
}

/**
 * Deregisters the stage's images nothing needs any more (with their snapshots), deprecates the
 * superseded ones it keeps, and terminates build instances a stopped bake left behind. The rules are
 * decideRetention's; this shell gathers the facts, re-checks that no run started meanwhile, makes
 * the changes and tells ops once. A pass that fails tells ops too, and changes nothing it had not
 * finished deciding.
 *
 * `now` is the pass's clock: the handler passes the real time; the local harness passes a later one
 * to show what a pass days from now would do.
 */
export async function retainImages(event: RetainImagesEvent, now: Date): Promise<RetainImagesResult> {
  const parsed = eventSchema.safeParse(event ?? {});
  if (!parsed.success) throw new InvalidRequestError('dryRun', 'must be true or false (invoke with {"dryRun": true} to see the plan)');
  const mode: RetainImagesResult['mode'] = parsed.data.dryRun ? 'dry-run' : retentionMode();
  const policy = retentionPolicy();
  const stateMachineArn = requireEnv(LAMBDA_ENV.stateMachineArn);

  const failed = async (error: unknown): Promise<never> => {
    if (mode !== 'dry-run') {
      const empty: RetentionPlan = { keep: [], deregister: [], terminate: [], deleteSnapshots: [], deleteBakeResources: [] };
      await publish([{ outcome: { status: 'FAILED', plan: empty, deregistered: [], deprecated: [], terminated: [], failures: [], warnings: [], untagged: [], notes: [], error: oneLineError(error) } }]).catch(
        (publishError: unknown) => logger.error('could not tell ops that retention failed', { error: publishError as Error }),
      );
    }
    throw error;
  };

  let survey: ImageSurvey;
  let scope: SurveyScope;
  let targets: ClusterTarget[];
  try {
    targets = allTargets(parseConfiguredWaves(process.env[LAMBDA_ENV.clusterWaves], LAMBDA_ENV.clusterWaves));
    scope = {
      stage: requireEnv(LAMBDA_ENV.stage),
      names: stageParameters(),
      targets: targets.filter((t) => !t.region || t.region === process.env.AWS_REGION),
      stateMachineArn,
      amiNamePrefix: process.env[LAMBDA_ENV.amiNamePrefix] ?? '',
    };
    survey = await surveyStageImages({ ec2, ssm, cfn, autoscaling, sfn }, scope);
  } catch (error) {
    return failed(error);
  }

  // Each copy region is surveyed there, with what only the stage's region knows carried over.
  const regional: { region: string; survey: ImageSurvey }[] = [];
  try {
    for (const { region } of copyRegions()) {
      const here = targets.filter((t) => t.region === region);
      const clients = { ...fleetClientsFor(region, { cfn }), ec2: ec2In(region), ssm: ssmIn(region), sfn };
      const raw = await surveyStageImages(clients, { ...scope, targets: here });
      regional.push({ region, survey: regionalSurvey(survey, raw, here) });
    }
  } catch (error) {
    return failed(error);
  }

  const plans = [{ region: undefined as string | undefined, survey, client: ec2 }, ...regional.map((r) => ({ region: r.region, survey: r.survey, client: ec2In(r.region) }))].map((p) => ({
    ...p,
    plan: decideRetention({ now, policy, ...p.survey }),
  }));
  for (const { region, plan } of plans) {
    logger.info('decided', {
      region: region ?? 'stage region',
      mode,
      deregister: plan.deregister.map((r) => ({ imageId: r.image.imageId, why: r.why })),
      keep: plan.keep.map((k) => ({ imageId: k.image.imageId, reasons: k.reasons.map((r) => r.kind) })),
      terminate: plan.terminate.map((t) => t.instanceId),
      deleteSnapshots: plan.deleteSnapshots.map((sn) => sn.snapshotId),
    });
  }
  // A regional cluster's confirmed image is a copy there: its age comes from the copies' creation dates.
  if (mode !== 'dry-run') publishMetrics(fleetMetrics({ ...survey, images: [...survey.images, ...regional.flatMap((r) => r.survey.images)] }, targets, now));

  const changes = (plan: RetentionPlan) =>
    plan.deregister.length || plan.terminate.length || plan.deleteSnapshots.length || plan.deleteBakeResources.length || plan.keep.some((k) => k.deprecate);
  if (mode === 'delete' && plans.some((p) => changes(p.plan))) {
    // A run that started after the survey may be rolling back to an image the plan removes: the
    // next pass decides with it in view. (The window left is the seconds between this and the calls.)
    let startedSince: string[];
    try {
      // Only the names matter here: a run already seen had its input read by the survey.
      startedSince = (await listRunningExecutions(sfn, stateMachineArn)).map((e) => executionNameOf(e.executionArn)).filter((n) => !survey.runsInFlight.includes(n));
    } catch (error) {
      return failed(error);
    }
    if (startedSince.length) {
      logger.warn('a run started while retention decided; changing nothing this pass', { startedSince });
      const [home, ...others] = plans;
      return { ...summary(mode, 'DEFERRED', home!.plan, {}, false), regions: others.map((o) => ({ ...summary(mode, 'DEFERRED', o.plan, {}, false), region: o.region! })) };
    }
  }

  const results: RetainImagesResult[] = [];
  const toTell: { outcome: RetentionOutcome; region?: string }[] = [];
  for (const { region, survey: seen, plan, client } of plans) {
    const base = { plan, untagged: seen.untagged, notes: seen.notes };
    if (mode === 'dry-run') {
      results.push(summary(mode, 'WOULD_CLEAN_UP', plan, {}, false));
    } else if (mode === 'report') {
      const outcome: RetentionOutcome = { ...base, status: 'WOULD_CLEAN_UP', deregistered: [], deprecated: [], terminated: [], failures: [], warnings: [] };
      const tell = worthTelling(outcome);
      if (tell) toTell.push({ outcome, region });
      results.push(summary(mode, tell ? 'WOULD_CLEAN_UP' : 'NOTHING_TO_DO', plan, {}, tell));
    } else if (!changes(plan)) {
      results.push(summary(mode, 'NOTHING_TO_DO', plan, {}, false));
    } else {
      const done = await carryOut(plan, now, client);
      const outcome: RetentionOutcome = { ...base, ...done, status: done.failures.length ? 'FAILED' : 'CLEANED_UP' };
      const tell = worthTelling(outcome);
      if (tell) toTell.push({ outcome, region });
      results.push(summary(mode, outcome.status, plan, done, tell));
    }
  }
  await publish(toTell);
  const [home, ...others] = results;
  return { ...home!, ...(others.length ? { regions: others.map((r, i) => ({ ...r, region: plans[i + 1]!.region! })) } : {}) };
}

export const handler = lambdaHandler(logger, (event: RetainImagesEvent) => retainImages(event, new Date()));
