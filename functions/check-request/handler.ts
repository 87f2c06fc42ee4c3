import { fleetClientsFor } from '../lib/aws/regional-clients';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { recommendedBaseAmi } from '../lib/aws/aws-lookups';
import { executionStatus } from '../lib/aws/base-ami-job';
import { readClusterRecords } from '../lib/aws/cluster-records';
import { LAMBDA_ENV, confirmedStageImage, recommendedBaseAmiParameter, type BaseAmiArchitecture } from '../lib/contracts';
import { DEFAULT_BUILD_INSTANCE_TYPES } from '../lib/decisions/instance-types';
import { decideLock } from '../lib/decisions/fleet-lock';
import { approvalTimeoutHours, baseAmiArchitecture, copyRegions, createLogger, lambdaHandler, runLedgerTable, stageParameters } from '../lib/handler';
import { readParameter } from '../lib/aws/parameters';
import type { RunPlan } from '../lib/contracts/plan';
import { checkSourceImage, resolveRollbackTarget } from '../lib/aws/request-images';
import { enforceWaveOrder, parseRunRequest, selectWaves, waveOrderBreaches, type RunRequest } from '../lib/decisions/request';
import { readLock, writeLock } from '../lib/aws/run-ledger';
import { lookUpTargets } from '../lib/aws/target-lookups';
import { readAlarms } from '../lib/aws/soak-health';
import { preflight, type TargetProblem } from '../lib/decisions/targets';
import { allTargets, parseConfiguredWaves } from '../lib/decisions/waves';

const ssm = new SSMClient({});
const sfn = new SFNClient({});
const ec2 = new EC2Client({});
const ddb = new DynamoDBClient({});
const cfn = new CloudFormationClient({});
const ecs = new ECSClient({});
const cloudwatch = new CloudWatchClient({});
const logger = createLogger('check-request');

export interface CheckRequestEvent {
  input: unknown;
  execution: { id: string; name: string; startTime: string };
}

async function sourceImage(request: RunRequest): Promise<NonNullable<RunPlan['sourceAmi']>> {
  if (request.sourceAmi) return checkSourceImage(ec2, request.sourceAmi);
  const recommended = await recommendedBaseAmi(ssm, recommendedBaseAmiParameter(baseAmiArchitecture()));
  return { id: recommended.imageId, name: recommended.imageName };
}

/**
 * Takes the fleet for this run, or says who holds it. The conditional write decides a race: of two
 * runs started in the same second exactly one writes the lock, and the other reads the winner.
 */
async function takeTheFleet(table: string, executionArn: string, trigger: string): Promise<Pick<RunPlan, 'skip' | 'tookOverFrom'>> {
  const current = await readLock(ddb, table);
  const ownerStatus = current && current.ownerExecutionArn !== executionArn ? await executionStatus(sfn, current.ownerExecutionArn) : undefined;
  const decision = decideLock(current, executionArn, ownerStatus);
  if (decision.action === 'held') return current?.tookOverFrom ? { tookOverFrom: current.tookOverFrom } : {};
  if (decision.action === 'give-way') {
    return { skip: { runningExecutionArn: decision.owner.ownerExecutionArn, runningSince: decision.owner.acquiredAt } };
  }
  const replacing = decision.action === 'take-over' ? decision.owner.ownerExecutionArn : undefined;
  const tookOverFrom = decision.action === 'take-over' ? { executionArn: decision.owner.ownerExecutionArn, status: decision.ownerStatus } : undefined;
  if (await writeLock(ddb, table, { ownerExecutionArn: executionArn, acquiredAt: new Date().toISOString(), trigger, tookOverFrom }, replacing)) {
    if (decision.action === 'take-over') {
      logger.warn('took the fleet lock over from a run that had ended', { previousOwner: decision.owner.ownerExecutionArn, status: decision.ownerStatus });
      return { tookOverFrom };
    }
    return {};
  }
  const winner = await readLock(ddb, table);
  return { skip: { runningExecutionArn: winner?.ownerExecutionArn ?? 'another run', runningSince: winner?.acquiredAt ?? new Date().toISOString() } };
}

export const handler = lambdaHandler(logger, async (event: CheckRequestEvent): Promise<RunPlan> => {
  // Everything that can reject the input comes first: a rejected run never touches the lock.
  const request = parseRunRequest(event.input);
  const configured = parseConfiguredWaves(process.env[LAMBDA_ENV.clusterWaves], LAMBDA_ENV.clusterWaves);
  const waves = selectWaves(request, configured);
  const names = stageParameters();
  const plan: RunPlan = {
    runId: event.execution.name,
    executionArn: event.execution.id,
    startedAt: event.execution.startTime,
    trigger: request.trigger,
    mode: request.rollback ? 'rollback' : 'bake',
    dryRun: request.dryRun ?? false,
    reason: request.reason,
    requestedBy: request.requestedBy,
    audit: { trigger: request.trigger, requestedBy: request.requestedBy ?? null, reason: request.reason ?? null, runId: event.execution.name },
    ...(request.skipEarlierWaves ? { skipEarlierWaves: true } : {}),
    waves,
    approvalTimeoutSeconds: approvalTimeoutHours() * 3600,
    copyRegions: copyRegions(),
    otherBuilds: [],
  };
  if (request.rollback) {
    plan.rollbackTo = await resolveRollbackTarget({ ssm, ec2 }, request.rollback.toAmi, names, allTargets(configured));
    const records = await readClusterRecords(ssm, names, allTargets(configured));
    const target = plan.rollbackTo.amiId;
    enforceWaveOrder(request, waveOrderBreaches(configured, waves, (stack) => confirmedStageImage(records.get(stack)) === target));
  } else {
    if (!request.dryRun) enforceWaveOrder(request, waveOrderBreaches(configured, waves));
    plan.sourceAmi = await sourceImage(request);
    // Clusters of another architecture need their own image, baked in the same run from that
    // architecture's recommended base (a dry run bakes for every configured cluster: a first deployment).
    const primary = baseAmiArchitecture();
    const rolled = allTargets(request.dryRun ? configured : waves);
    for (const architecture of [...new Set(rolled.map((t) => t.architecture).filter((a): a is BaseAmiArchitecture => Boolean(a) && a !== primary))]) {
      const base = await recommendedBaseAmi(ssm, recommendedBaseAmiParameter(architecture));
      plan.otherBuilds.push({ architecture, sourceAmi: { id: base.imageId, name: base.imageName }, instanceType: DEFAULT_BUILD_INSTANCE_TYPES[architecture] });
    }
  }

  const fleet = await takeTheFleet(runLedgerTable(), event.execution.id, request.trigger);
  if (fleet.skip) {
    logger.warn('another run holds the fleet; skipping', { runningExecutionArn: fleet.skip.runningExecutionArn });
    return { ...plan, skip: fleet.skip };
  }
  Object.assign(plan, fleet);
  plan.currentAmiId = await readParameter(ssm, names.currentAmi);

  if (!plan.dryRun) {
    const targets = allTargets(waves);
    const problems: TargetProblem[] = [];
    // Each region's targets are looked up there; a region the image is not copied to cannot be rolled.
    const home = process.env.AWS_REGION;
    const copied = new Set(plan.copyRegions.map((c) => c.region));
    for (const region of [...new Set(targets.map((t) => t.region ?? home))]) {
      const here = targets.filter((t) => (t.region ?? home) === region);
      // Copies are of the stage's architecture: a cluster elsewhere of another one has no image there.
      for (const t of here.filter((t) => region !== home && t.architecture && t.architecture !== baseAmiArchitecture())) {
        problems.push({ stackName: t.stackName, problem: `${t.stackName} is ${t.architecture} in ${region}: copies to other regions are of the stage's architecture (${baseAmiArchitecture()}) only` });
      }
      if (region !== home && !copied.has(region ?? '')) {
        for (const t of here) problems.push({ stackName: t.stackName, problem: `${t.stackName} is in ${region}, which the image is not copied to: add ${region} to the copyToRegions param` });
        continue;
      }
      const { stacks, clusters } = await lookUpTargets(fleetClientsFor(region, { cfn, ecs }), here);
      problems.push(...preflight(here, stacks, clusters));
    }
    // A soak that cannot see its alarm would roll a healthy wave back after the roll: say so now.
    const soakAlarms = plan.mode === 'bake' ? [...new Set(waves.flatMap((w) => w.soak?.alarms ?? []))] : [];
    if (soakAlarms.length) {
      const { missing } = await readAlarms(cloudwatch, soakAlarms);
      for (const name of missing) {
        const wave = waves.find((w) => w.soak?.alarms.includes(name))!;
        problems.push({ stackName: wave.clusters[0]!.stackName, problem: `wave ${wave.name}: the soak's alarm ${name} does not exist in this region; create it or fix the wave's soak.alarms` });
      }
    }
    // Reported, not thrown: the run keeps its plan, so the message can say what stays as it was.
    if (problems.length > 0) plan.notReady = problems.map((p) => p.problem);
  }
  return plan;
});
