import { DescribeContainerInstancesCommand, ListContainerInstancesCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { ContainerInstanceView } from '../decisions/registration';

/** Every container instance ECS lists for the cluster (all but INACTIVE ones), as the confirmation and the CLI read them. */
export async function listContainerInstances(ecs: ECSClient, cluster: string): Promise<ContainerInstanceView[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListContainerInstancesCommand({ cluster, nextToken, maxResults: 100 }));
    arns.push(...(page.containerInstanceArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  const views: ContainerInstanceView[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const out = await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: arns.slice(i, i + 100) }));
    for (const ci of out.containerInstances ?? []) {
      views.push({
        arn: ci.containerInstanceArn ?? '',
        ec2InstanceId: ci.ec2InstanceId,
        status: ci.status ?? 'UNKNOWN',
        agentConnected: ci.agentConnected ?? false,
        amiId: ci.attributes?.find((a) => a.name === 'ecs.ami-id')?.value,
      });
    }
  }
  return views;
}
