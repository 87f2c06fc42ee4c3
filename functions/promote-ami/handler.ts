import { SSMClient } from '@aws-sdk/client-ssm';
import { LAMBDA_ENV, parameterNames, type PromotionRecord } from '../lib/contracts';
import { createLogger, lambdaHandler, requireEnv } from '../lib/handler';
import { writeParameter } from '../lib/parameters';
import type { Release, RunPlan } from '../lib/plan';
import type { RolloutState } from '../lib/rollout';

const ssm = new SSMClient({});
const logger = createLogger('promote-ami');

export interface PromoteAmiEvent {
  executionArn: string;
  plan: RunPlan;
  release: Release;
  rollout: RolloutState;
}

export interface PromoteAmiResult {
  amiId: string;
  previousAmiId?: string;
  baseAmiId?: string;
  version?: number;
}

export const handler = lambdaHandler(logger, async (event: PromoteAmiEvent): Promise<PromoteAmiResult> => {
  const { plan, release, rollout } = event;
  // The state machine only gets here after the last wave; refusing anything else keeps a
  // definition mistake from promoting an image the fleet has not confirmed.
  if (rollout.status !== 'COMPLETE' || plan.dryRun) {
    throw new Error(`refusing to promote ${release.amiId}: rollout is ${rollout.status}${plan.dryRun ? ' (dry run)' : ''}`);
  }
  const names = parameterNames(requireEnv(LAMBDA_ENV.parameterPrefix));
  const record: PromotionRecord = {
    amiId: release.amiId,
    previousAmiId: plan.currentAmiId,
    baseAmiId: release.baseAmiId,
    // The run that baked the image (from the baked record, or the image's BuildId tag on a rollback).
    buildId: release.buildId,
    executionArn: event.executionArn,
    promotedAt: new Date().toISOString(),
    reason: plan.mode === 'rollback' ? 'rollback' : 'rollout',
    clusters: rollout.waves.flatMap((w) => w.results.map((r) => r.stackName)),
  };
  await writeParameter(ssm, names.currentAmiRecord, JSON.stringify(record), {
    description: `Record of the current AMI ${release.amiId} (${record.reason})`,
  });
  const version = await writeParameter(ssm, names.currentAmi, release.amiId, {
    description: `Current AMI, confirmed on ${record.clusters.length} cluster(s) by run ${plan.runId}`,
    dataType: 'aws:ec2:image',
  });
  // A rollback keeps the current base: the base-AMI check must not rebuild the image ops just left.
  if (plan.mode === 'bake' && release.baseAmiId) {
    await writeParameter(ssm, names.currentBaseAmi, release.baseAmiId, {
      description: `ECS-optimized base of the current AMI ${release.amiId}`,
    });
  }
  return { amiId: release.amiId, previousAmiId: plan.currentAmiId, baseAmiId: release.baseAmiId, version };
});
