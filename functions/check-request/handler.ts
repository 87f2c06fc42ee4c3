import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { describeImage, listRunningExecutions, recommendedBaseAmi, tagValue } from '../lib/aws-lookups';
import {
  AMI_TAGS,
  LAMBDA_ENV,
  MANAGED_BY_VALUE,
  parameterNames,
  recommendedBaseAmiParameter,
} from '../lib/contracts';
import { InvalidRequestError } from '../lib/errors';
import { runToGiveWayTo, stateMachineArnOf } from '../lib/executions';
import { baseAmiArchitecture, createLogger, lambdaHandler, requireEnv } from '../lib/handler';
import { previousDistinctValue } from '../lib/history';
import { parameterHistory, readParameter } from '../lib/parameters';
import type { RunPlan } from '../lib/plan';
import { parseRunRequest, selectWaves, type RunRequest } from '../lib/request';
import { parseConfiguredWaves } from '../lib/waves';

const ssm = new SSMClient({});
const sfn = new SFNClient({});
const ec2 = new EC2Client({});
const logger = createLogger('check-request');

export interface CheckRequestEvent {
  input: unknown;
  execution: { id: string; name: string; startTime: string };
}

async function sourceImage(request: RunRequest): Promise<NonNullable<RunPlan['sourceAmi']>> {
  if (!request.sourceAmi) {
    const recommended = await recommendedBaseAmi(ssm, recommendedBaseAmiParameter(baseAmiArchitecture()));
    return { id: recommended.imageId, name: recommended.imageName };
  }
  const image = await describeImage(ec2, request.sourceAmi);
  if (!image) throw new InvalidRequestError('sourceAmi', `${request.sourceAmi} does not exist in this region`);
  if (image.State !== 'available') {
    throw new InvalidRequestError('sourceAmi', `${request.sourceAmi} is ${image.State}, not available`);
  }
  return { id: request.sourceAmi, name: image.Name };
}

async function rollbackImage(request: RunRequest, currentAmiParameter: string): Promise<NonNullable<RunPlan['rollbackTo']>> {
  let amiId = request.rollback?.toAmi;
  if (!amiId) {
    const previous = previousDistinctValue(await parameterHistory(ssm, currentAmiParameter));
    if (!previous) {
      throw new InvalidRequestError(
        'rollback.toAmi',
        `${currentAmiParameter} has no earlier AMI to roll back to; name one with {"rollback": {"toAmi": "ami-..."}}`,
      );
    }
    amiId = previous.value;
  }
  const image = await describeImage(ec2, amiId);
  if (!image) throw new InvalidRequestError('rollback.toAmi', `${amiId} does not exist in this region (deregistered?)`);
  if (image.State !== 'available') throw new InvalidRequestError('rollback.toAmi', `${amiId} is ${image.State}, not available`);
  if (tagValue(image, AMI_TAGS.managedBy) !== MANAGED_BY_VALUE) {
    throw new InvalidRequestError(
      'rollback.toAmi',
      `${amiId} was not baked by this pipeline (no ${AMI_TAGS.managedBy}=${MANAGED_BY_VALUE} tag); only pipeline images can be rolled back to`,
    );
  }
  return { amiId, baseAmiId: tagValue(image, AMI_TAGS.sourceAmiId) };
}

export const handler = lambdaHandler(logger, async (event: CheckRequestEvent): Promise<RunPlan> => {
  const request = parseRunRequest(event.input);
  const waves = selectWaves(request, parseConfiguredWaves(process.env[LAMBDA_ENV.clusterWaves], LAMBDA_ENV.clusterWaves));
  const names = parameterNames(requireEnv(LAMBDA_ENV.parameterPrefix));
  const base: RunPlan = {
    runId: event.execution.name,
    executionArn: event.execution.id,
    startedAt: event.execution.startTime,
    trigger: request.trigger,
    mode: request.rollback ? 'rollback' : 'bake',
    dryRun: request.dryRun ?? false,
    reason: request.reason,
    requestedBy: request.requestedBy,
    waves,
  };

  const mine = { executionArn: event.execution.id, startDate: new Date(event.execution.startTime) };
  const running = await listRunningExecutions(sfn, stateMachineArnOf(event.execution.id));
  const other = runToGiveWayTo(mine, running);
  if (other) {
    logger.warn('another run is in flight; skipping', { runningExecutionArn: other.executionArn });
    return { ...base, skip: { runningExecutionArn: other.executionArn, runningSince: other.startDate.toISOString() } };
  }

  const currentAmiId = await readParameter(ssm, names.currentAmi);
  const plan: RunPlan = { ...base, currentAmiId };
  if (request.rollback) plan.rollbackTo = await rollbackImage(request, names.currentAmi);
  else plan.sourceAmi = await sourceImage(request);
  return plan;
});
