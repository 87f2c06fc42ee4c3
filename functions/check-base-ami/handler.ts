import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { listRunningExecutions, recommendedBaseAmi } from '../lib/aws-lookups';
import { decideBaseAmiCheck } from '../lib/base-ami-check';
import { LAMBDA_ENV, parameterNames, recommendedBaseAmiParameter, type BaseAmiArchitecture } from '../lib/contracts';
import { isAwsError } from '../lib/errors';
import { createLogger, lambdaHandler, requireEnv } from '../lib/handler';
import { readParameter } from '../lib/parameters';

const ssm = new SSMClient({});
const sfn = new SFNClient({});
const logger = createLogger('check-base-ami');

export interface BaseAmiCheckResult {
  /** started: a run was started; already-started: a run for this base exists; none: nothing to do. */
  outcome: 'started' | 'already-started' | 'up-to-date' | 'run-in-flight';
  baseAmiId: string;
  baseAmiName?: string;
  currentBaseAmiId?: string;
  executionArn?: string;
  message: string;
}

export const handler = lambdaHandler(logger, async (): Promise<BaseAmiCheckResult> => {
  const stateMachineArn = requireEnv(LAMBDA_ENV.stateMachineArn);
  const architecture = (process.env[LAMBDA_ENV.baseAmiArchitecture] ?? 'x86_64') as BaseAmiArchitecture;
  const names = parameterNames(requireEnv(LAMBDA_ENV.parameterPrefix));

  const recommended = await recommendedBaseAmi(ssm, recommendedBaseAmiParameter(architecture));
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
      executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${decision.executionName}`,
      message: `a run for base AMI ${decision.baseAmiId} was already started (${decision.executionName}); not starting another`,
    };
  }
});
