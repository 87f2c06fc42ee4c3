import { DescribeAutoScalingGroupsCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { CloudFormationClient, Stack } from '@aws-sdk/client-cloudformation';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { listContainerInstances } from './container-instances';
import { STACK_OUTPUTS, type ClusterTarget } from '../contracts';
import { ERROR_NAMES, PipelineError } from '../contracts/errors';
import { assessRegistration, autoScalingGroupOf, type RegistrationAssessment } from '../decisions/registration';
import { stackOutputs, stackResources } from './stack-lookups';

export interface RegistrationClients {
  cfn: CloudFormationClient;
  autoscaling: AutoScalingClient;
  ecs: ECSClient;
}

/** What the ECS API says about a cluster and `amiId`, measured against the stack's Auto Scaling group. */
export async function clusterRegistration(
  clients: RegistrationClients,
  target: ClusterTarget,
  stack: Stack,
  amiId: string,
): Promise<RegistrationAssessment & { groupName: string }> {
  const { stackName, clusterName } = target;
  const outputs = stackOutputs(stack);
  const hasGroupOutput = outputs.some((o) => o.key === STACK_OUTPUTS.autoScalingGroupName && o.value);
  const groupName = autoScalingGroupOf(stackName, outputs, hasGroupOutput ? [] : await stackResources(clients.cfn, stackName));
  const groups = await clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }));
  const group = groups.AutoScalingGroups?.[0];
  if (!group) throw new PipelineError(ERROR_NAMES.stackNotRollable, `Auto Scaling group ${groupName} of stack ${stackName} does not exist`);
  return { ...assessRegistration(group.DesiredCapacity ?? 0, await listContainerInstances(clients.ecs, clusterName), amiId), groupName };
}
