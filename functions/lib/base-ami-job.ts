import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { listRunningExecutions, recommendedBaseAmi } from './aws-lookups';
import { decideBaseAmiCheck } from './base-ami-check';
import { parameterNames, recommendedBaseAmiParameter, type BaseAmiArchitecture } from './contracts';
import { isAwsError } from './errors';
import { executionArnFor } from './executions';
import { readParameter } from './parameters';

export interface BaseAmiCheckResult {
  /** started: a run was started; already-started: a run for this base exists; the rest: nothing to do. */
  outcome: 'started' | 'already-started' | 'up-to-date' | 'run-in-flight';
  baseAmiId: string;
  baseAmiName?: string;
  currentBaseAmiId?: string;
  executionArn?: string;
  message: string;
}

/**
 * The base-AMI check, shared by the scheduled function and `ami-pipeline check`: compare AWS's
 * recommended ECS-optimized AMI with the current base, and start a run when it changed.
 */
export async function runBaseAmiCheck(
  clients: { ssm: SSMClient; sfn: SFNClient },
  settings: { stateMachineArn: string; parameterPrefix: string; architecture: BaseAmiArchitecture },
): Promise<BaseAmiCheckResult> {
  const { ssm, sfn } = clients;
  const { stateMachineArn } = settings;
  const names = parameterNames(settings.parameterPrefix);
  const recommended = await recommendedBaseAmi(ssm, recommendedBaseAmiParameter(settings.architecture));
  const currentBaseAmiId = await readParameter(ssm, names.currentBaseAmi);
  const running = await listRunningExecutions(sfn, stateMachineArn);
  const decision = decideBaseAmiCheck(recommended, currentBaseAmiId, running);
  const common = { baseAmiId: recommended.imageId, baseAmiName: recommended.imageName, currentBaseAmiId };

  if (decision.action === 'none' && decision.reason === 'up-to-date') {
    return { ...common, outcome: 'up-to-date', message: `no new base AMI: the current image is built on ${decision.baseAmiId}` };
  }
  if (decision.action === 'none') {
    return {
      ...common,
      outcome: 'run-in-flight',
      executionArn: decision.runningExecutionArn,
      message: `new base AMI ${decision.baseAmiId} found, but run ${decision.runningExecutionArn} is in flight; the next check will start a run`,
    };
  }
  try {
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: decision.executionName, input: JSON.stringify(decision.input) }),
    );
    return {
      ...common,
      outcome: 'started',
      executionArn: started.executionArn,
      message: `new base AMI ${decision.baseAmiId} (was ${currentBaseAmiId ?? 'none'}); started run ${decision.executionName}`,
    };
  } catch (error) {
    if (!isAwsError(error, 'ExecutionAlreadyExists')) throw error;
    return {
      ...common,
      outcome: 'already-started',
      executionArn: executionArnFor(stateMachineArn, decision.executionName),
      message: `a run for base AMI ${decision.baseAmiId} was already started (${decision.executionName}); not starting another`,
    };
  }
}
