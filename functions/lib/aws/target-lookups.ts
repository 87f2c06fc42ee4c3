import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeClustersCommand, type ECSClient } from '@aws-sdk/client-ecs';
import pLimit from 'p-limit';
import type { ClusterTarget } from '../contracts';
import { PipelineError } from '../contracts/errors';
import type { StackView } from '../decisions/stack';
import { describeStack, stackView } from './stack-lookups';

/** At most this many DescribeStacks calls at once: CloudFormation's describe rate is shared by the account. */
const STACK_CONCURRENCY = 5;

/** Every target's stack (undefined when it does not exist) and every cluster's ECS status (undefined when unknown). */
export async function lookUpTargets(
  clients: { cfn: CloudFormationClient; ecs: ECSClient },
  targets: ClusterTarget[],
): Promise<{ stacks: Map<string, StackView | undefined>; clusters: Map<string, string | undefined> }> {
  const limit = pLimit(STACK_CONCURRENCY);
  const stacks = new Map<string, StackView | undefined>(
    await Promise.all(
      targets.map((t) =>
        limit(async (): Promise<[string, StackView | undefined]> => {
          try {
            return [t.stackName, stackView(t.stackName, await describeStack(clients.cfn, t.stackName))];
          } catch (error) {
            // describeStack names a missing stack with StackNotRollable; anything else is a real failure.
            if (error instanceof PipelineError && /does not exist/.test(error.message)) return [t.stackName, undefined];
            throw error;
          }
        }),
      ),
    ),
  );
  const names = [...new Set(targets.map((t) => t.clusterName))];
  const clusters = new Map<string, string | undefined>(names.map((n) => [n, undefined]));
  for (let i = 0; i < names.length; i += 100) {
    const out = await clients.ecs.send(new DescribeClustersCommand({ clusters: names.slice(i, i + 100) }));
    for (const c of out.clusters ?? []) if (c.clusterName) clusters.set(c.clusterName, c.status);
  }
  return { stacks, clusters };
}
