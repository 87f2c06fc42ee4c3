/**
 * The gated fleet's cluster of the other architecture: a stack in prod's wave whose instances are
 * Graviton (arm64), created on the arm64 image the setup's dry run baked (what `ami/arm64/latest`
 * names), so every run bakes an arm64 image next to the stage's x86_64 one and rolls it there.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { readParameter } from '../functions/lib/aws/parameters';
import { DEFAULT_IMAGE_PARAMETER, type ClusterTarget, type ParameterNames } from '../functions/lib/contracts';
import { deployClusterStack, groupInstances, type DeployedClusterStack } from './cluster-stack';
import type { SimulatedEcsAgents } from './ecs-agent';

export const ARM_CLUSTER = {
  stackName: 'ecs-prod-arm',
  clusterName: 'ecs-prod-arm',
  architecture: 'arm64',
  wave: 'prod',
  /** The parameter file it is deployed with, as ecs-prod. */
  stage: 'prod',
  // One Graviton instance: each more is one more batch of the demo's rolling update.
  overrides: { ApplicationMinSize: '1', ApplicationDesiredCount: '1', InstanceType: 't4g.medium' } as Record<string, string>,
} as const;

export function armClusterTarget(): ClusterTarget {
  const { stackName, clusterName, architecture } = ARM_CLUSTER;
  return { stackName, clusterName, imageParameter: DEFAULT_IMAGE_PARAMETER, architecture };
}

/** Creates the stack on `ami/arm64/latest` (the setup's dry run baked it) and registers its instances. */
export async function deployArmCluster(options: { region: string; names: ParameterNames; agents: SimulatedEcsAgents }): Promise<DeployedClusterStack> {
  const { stackName, clusterName, stage, overrides, architecture } = ARM_CLUSTER;
  const image = await readParameter(new SSMClient({ region: options.region }), options.names.latestAmiFor(architecture));
  if (!image) throw new Error(`${options.names.latestAmiFor(architecture)} is not set: did the setup's dry run bake an ${architecture} image?`);
  const stack = await deployClusterStack({ region: options.region, stackName, stage, imageId: image, overrides });
  if (stack.clusterName !== clusterName) throw new Error(`the reference stack named its cluster ${stack.clusterName}, not ${clusterName}`);
  const agent = options.agents.in(options.region);
  for (const instance of await groupInstances(options.region, stack.autoScalingGroupName)) await agent.register(stack.clusterName, instance.id);
  return stack;
}
