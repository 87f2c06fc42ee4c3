import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describeImage } from '../lib/aws/aws-lookups';
import { readClusterRecords } from '../lib/aws/cluster-records';
import { LAMBDA_ENV, type PromotionRecord } from '../lib/contracts';
import { ERROR_NAMES, PipelineError } from '../lib/contracts/errors';
import { createLogger, lambdaHandler, runLedgerTable, stageParameters } from '../lib/handler';
import { publishMetrics } from '../lib/aws/metrics';
import { patchedFleetMetrics } from '../lib/decisions/metrics';
import { writeParameter } from '../lib/aws/parameters';
import type { Release, RunPlan } from '../lib/contracts/plan';
import { decidePromotion, otherArchitectureImages, type ClusterBehind } from '../lib/decisions/promotion';
import type { RolloutState } from '../lib/decisions/rollout';
import { holdFleet } from '../lib/aws/run-ledger';
import { allTargets, parseConfiguredWaves } from '../lib/decisions/waves';

const ssm = new SSMClient({});
const ec2 = new EC2Client({});
const ddb = new DynamoDBClient({});
const logger = createLogger('promote-ami');

export interface PromoteAmiEvent {
  executionArn: string;
  plan: RunPlan;
  release: Release;
  rollout: RolloutState;
}

export type PromoteAmiResult =
  | { promoted: true; amiId: string; previousAmiId?: string; baseAmiId?: string; version?: number }
  | { promoted: false; amiId: string; currentAmiId?: string; behind: ClusterBehind[] };

/**
 * Makes the image `ami/current`, but only if every configured cluster (not only this run's) has
 * confirmed it; a run limited to some clusters leaves `current` alone and says who is behind.
 * SSM validates aws:ec2:image values after answering, so the new value is read back before the
 * record and the base follow it: a promotion that did not take is a failure, not a success.
 */
/** The exposure window this promotion closed: from AWS publishing the base to the whole fleet on it. */
async function publishTimeToPatchedFleet(baseAmiId: string): Promise<void> {
  try {
    const base = await describeImage(ec2, baseAmiId);
    publishMetrics(patchedFleetMetrics(base?.CreationDate, new Date()));
  } catch (error) {
    // A metric must never fail a promotion that already happened.
    logger.warn('could not read the base AMI for the time-to-patched-fleet metric', { baseAmiId, error: error as Error });
  }
}

export const handler = lambdaHandler(logger, async (event: PromoteAmiEvent): Promise<PromoteAmiResult> => {
  const { plan, release, rollout } = event;
  // The state machine only gets here after the last wave; refusing anything else keeps a
  // definition mistake from promoting an image the fleet has not confirmed.
  if (rollout.status !== 'COMPLETE' || plan.dryRun) {
    throw new Error(`refusing to promote ${release.amiId}: rollout is ${rollout.status}${plan.dryRun ? ' (dry run)' : ''}`);
  }
  const names = stageParameters();
  const configured = allTargets(parseConfiguredWaves(process.env[LAMBDA_ENV.clusterWaves], LAMBDA_ENV.clusterWaves));
  const records = await readClusterRecords(ssm, names, configured);
  const decision = decidePromotion(configured, records, release.amiId);
  if (!decision.promote) {
    logger.info('not every configured cluster confirmed the image; current stays', { behind: decision.behind });
    return { promoted: false, amiId: release.amiId, currentAmiId: plan.currentAmiId, behind: decision.behind };
  }

  const image = await describeImage(ec2, release.amiId);
  if (image?.State !== 'available') {
    throw new PipelineError(ERROR_NAMES.amiUnusable, `${release.amiId} is ${image?.State ?? 'gone (deregistered?)'}; not promoting an image new instances could not launch from`);
  }
  await holdFleet(ddb, runLedgerTable(), event.executionArn, new Date());
  const version = await writeParameter(ssm, names.currentAmi, release.amiId, {
    description: `Current AMI, confirmed by every configured cluster; promoted by run ${plan.runId}`,
    dataType: 'aws:ec2:image',
  });
  const readBack = (await ssm.send(new GetParameterCommand({ Name: names.currentAmi }))).Parameter;
  if (readBack?.Value !== release.amiId || (version !== undefined && readBack.Version !== undefined && readBack.Version < version)) {
    // The state machine retries this a few times; then the run fails at promote, saying so.
    throw new PipelineError(
      ERROR_NAMES.promotionNotVisibleYet,
      `${names.currentAmi} reads ${readBack?.Value ?? 'nothing'} (version ${readBack?.Version ?? '?'}) after writing ${release.amiId} (version ${version ?? '?'}): SSM has not accepted the value`,
    );
  }
  const record: PromotionRecord = {
    amiId: release.amiId,
    previousAmiId: plan.currentAmiId,
    baseAmiId: release.baseAmiId,
    // The run that baked the image (from the baked record, or the image's BuildId tag on a rollback).
    buildId: release.buildId,
    executionArn: event.executionArn,
    promotedAt: new Date().toISOString(),
    reason: plan.mode === 'rollback' ? 'rollback' : 'rollout',
    clusters: configured.map((t) => t.stackName),
    trigger: plan.audit?.trigger ?? plan.trigger,
    requestedBy: plan.audit?.requestedBy ?? plan.requestedBy ?? null,
    requestReason: plan.audit?.reason ?? plan.reason ?? null,
    approvals: rollout.waves.flatMap((w) => (w.approval ? [{ wave: w.name, by: w.approval.by, reason: w.approval.reason, at: w.approval.at }] : [])),
  };
  await writeParameter(ssm, names.currentAmiRecord, JSON.stringify(record), {
    description: `Record of the current AMI ${release.amiId} (${record.reason})`,
  });
  // Each other architecture's image, as its clusters confirmed it with this one, is current for it.
  for (const [architecture, amiId] of otherArchitectureImages(configured, records, release.amiId)) {
    await writeParameter(ssm, names.currentAmiFor(architecture), amiId, {
      description: `Current ${architecture} AMI, promoted with ${release.amiId} by run ${plan.runId}`,
      dataType: 'aws:ec2:image',
    });
  }
  // A rollback keeps the current base: the base-AMI check must not rebuild the image ops just left.
  if (plan.mode === 'bake' && release.baseAmiId) {
    await writeParameter(ssm, names.currentBaseAmi, release.baseAmiId, {
      description: `ECS-optimized base of the current AMI ${release.amiId}`,
    });
    await publishTimeToPatchedFleet(release.baseAmiId);
  }
  return { promoted: true, amiId: release.amiId, previousAmiId: plan.currentAmiId, baseAmiId: release.baseAmiId, version };
});
