/**
 * The gated fleet's cluster outside the stage's region: a third stack in prod's wave, in the region
 * each image is copied to, created on the copy of the first image there (what a user would do: the
 * copy is what that region's `ami/latest` names).
 *
 * Off by default: a fleet with it needs the product to roll regional targets (ClusterTarget.region).
 * Switch it on with WorldOptions.regionalCluster, or with DEMO_REGIONAL_CLUSTER=1 in the environment
 * of `make demo` and the e2e files (World's default).
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { DEFAULT_IMAGE_PARAMETER, type ClusterTarget, type ParameterNames } from '../functions/lib/contracts';
import { readParameter } from '../functions/lib/aws/parameters';
import { deployClusterStack, groupInstances, type DeployedClusterStack } from './cluster-stack';
import type { SimulatedEcsAgents } from './ecs-agent';
import { DEMO_COPY_REGION } from './gates';

export const REGIONAL_CLUSTER_ENV = 'DEMO_REGIONAL_CLUSTER';

export const REGIONAL_CLUSTER = {
  stackName: 'ecs-prod-eu',
  clusterName: 'ecs-prod-eu',
  region: DEMO_COPY_REGION,
  wave: 'prod',
  /** The parameter file it is deployed with, as ecs-prod. */
  stage: 'prod',
  // One instance instead of prod.cfg's three: each more is one more batch of the demo's rolling update.
  overrides: { ApplicationMinSize: '1', ApplicationDesiredCount: '1' } as Record<string, string>,
} as const;

/** Whether the environment asks for the regional cluster (`DEMO_REGIONAL_CLUSTER=1`). */
export function regionalClusterRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[REGIONAL_CLUSTER_ENV] === '1';
}

/** Its target in the waves: known before the stack exists, as the reference stack names its cluster after itself. */
export function regionalClusterTarget(): ClusterTarget {
  const { stackName, clusterName, region } = REGIONAL_CLUSTER;
  return { stackName, clusterName, imageParameter: DEFAULT_IMAGE_PARAMETER, region };
}

/**
 * Creates the stack on the image the region's `ami/latest` names, which must be the copy of
 * `firstImage` (the setup's dry run copied it), and registers its instances with that region's agent.
 */
export async function deployRegionalCluster(options: {
  names: ParameterNames;
  firstImage: string;
  agents: SimulatedEcsAgents;
}): Promise<DeployedClusterStack> {
  const { region, stackName, clusterName, stage, overrides } = REGIONAL_CLUSTER;
  const ssm = new SSMClient({ region });
  const copy = await readParameter(ssm, options.names.latestAmi);
  const record = await readParameter(ssm, options.names.latestAmiRecord);
  const copiedFrom = record ? (JSON.parse(record) as { copiedFrom?: { amiId?: string } }).copiedFrom?.amiId : undefined;
  if (!copy || copiedFrom !== options.firstImage) {
    throw new Error(
      `${region}'s ami/latest is ${copy ?? 'not set'} (a copy of ${copiedFrom ?? 'nothing recorded'}), not a copy of the first image ${options.firstImage}: ` +
        'did the setup\'s dry run copy it there (copyToRegions)?',
    );
  }
  const stack = await deployClusterStack({ region, stackName, stage, imageId: copy, overrides });
  if (stack.clusterName !== clusterName) throw new Error(`the reference stack named its cluster ${stack.clusterName}, not ${clusterName}`);
  const agent = options.agents.in(region);
  for (const instance of await groupInstances(region, stack.autoScalingGroupName)) await agent.register(stack.clusterName, instance.id);
  return stack;
}
