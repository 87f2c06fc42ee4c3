import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ECSClient } from '@aws-sdk/client-ecs';
import { listContainerInstances } from '../lib/container-instances';
import { LAMBDA_ENV, STACK_OUTPUTS, type ClusterTarget } from '../lib/contracts';
import { ERROR_NAMES, PipelineError } from '../lib/errors';
import { createLogger, lambdaHandler } from '../lib/handler';
import { assessRegistration, autoScalingGroupOf } from '../lib/registration';
import { describeStack, stackOutputs, stackResources } from '../lib/stack-lookups';

const cfn = new CloudFormationClient({});
const autoscaling = new AutoScalingClient({});
const ecs = new ECSClient({});
const logger = createLogger('confirm-registration');

const DEFAULT_TIMEOUT_SECONDS = 900;

export interface ConfirmRegistrationEvent {
  executionArn: string;
  target: ClusterTarget;
  amiId: string;
  /** When the stack settled; the deadline counts from here. */
  since: string;
}

export interface ConfirmRegistrationResult {
  confirmed: true;
  summary: string;
  checkedAt: string;
}

function timeoutSeconds(): number {
  const raw = Number(process.env[LAMBDA_ENV.registrationTimeoutSeconds] ?? DEFAULT_TIMEOUT_SECONDS);
  return Number.isFinite(raw) && raw > 0 ? raw : DEFAULT_TIMEOUT_SECONDS;
}

export const handler = lambdaHandler(logger, async (event: ConfirmRegistrationEvent): Promise<ConfirmRegistrationResult> => {
  const { stackName, clusterName } = event.target;
  const stack = await describeStack(cfn, stackName);
  const outputs = stackOutputs(stack);
  const groupName = autoScalingGroupOf(
    stackName,
    outputs,
    outputs.some((o) => o.key === STACK_OUTPUTS.autoScalingGroupName && o.value) ? [] : await stackResources(cfn, stackName),
  );
  const groups = await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }));
  const group = groups.AutoScalingGroups?.[0];
  if (!group) throw new PipelineError(ERROR_NAMES.stackNotRollable, `Auto Scaling group ${groupName} of stack ${stackName} does not exist`);

  const assessment = assessRegistration(group.DesiredCapacity ?? 0, await listContainerInstances(ecs, clusterName), event.amiId);
  const checkedAt = new Date();
  logger.info('registration assessed', { clusterName, groupName, ...assessment });
  if (assessment.confirmed) return { confirmed: true, summary: assessment.summary, checkedAt: checkedAt.toISOString() };

  const limit = timeoutSeconds();
  const deadline = new Date(event.since).getTime() + limit * 1000;
  if (checkedAt.getTime() < deadline) {
    throw new PipelineError(ERROR_NAMES.registrationPending, `cluster ${clusterName}: ${assessment.summary}`);
  }
  throw new PipelineError(
    ERROR_NAMES.registrationTimedOut,
    `cluster ${clusterName} did not confirm ${event.amiId} within ${limit} s of the stack settling: ${assessment.summary}`,
  );
});
