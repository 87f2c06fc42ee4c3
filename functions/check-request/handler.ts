import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { listRunningExecutions, recommendedBaseAmi } from '../lib/aws-lookups';
import { LAMBDA_ENV, parameterNames, recommendedBaseAmiParameter } from '../lib/contracts';
import { runToGiveWayTo, stateMachineArnOf } from '../lib/executions';
import { baseAmiArchitecture, createLogger, lambdaHandler, requireEnv } from '../lib/handler';
import { readParameter } from '../lib/parameters';
import type { RunPlan } from '../lib/plan';
import { checkSourceImage, resolveRollbackTarget } from '../lib/request-images';
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
  if (request.sourceAmi) return checkSourceImage(ec2, request.sourceAmi);
  const recommended = await recommendedBaseAmi(ssm, recommendedBaseAmiParameter(baseAmiArchitecture()));
  return { id: recommended.imageId, name: recommended.imageName };
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
  if (request.rollback) plan.rollbackTo = await resolveRollbackTarget({ ssm, ec2 }, request.rollback.toAmi, names.currentAmi);
  else plan.sourceAmi = await sourceImage(request);
  return plan;
});
