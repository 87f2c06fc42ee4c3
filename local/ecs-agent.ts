/**
 * Stands in for the ECS agent on emulated instances. On real AWS the agent on each instance
 * registers it with its cluster (the first-run script waits for that) and ECS deregisters it
 * when the instance terminates; moto runs no agent, so the harness does both through the ECS API.
 */
import {
  DeregisterContainerInstanceCommand,
  DescribeContainerInstancesCommand,
  ECSClient,
  ListContainerInstancesCommand,
  RegisterContainerInstanceCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';

export interface RegisteredInstance {
  containerInstanceArn: string;
  ec2InstanceId: string;
  status: string;
  amiId?: string;
}

export class SimulatedEcsAgent {
  private readonly ecs: ECSClient;

  constructor(region: string) {
    this.ecs = new ECSClient({ region });
  }

  /** What the agent does at boot: register the instance (moto reads its AMI into ecs.ami-id). */
  async register(cluster: string, ec2InstanceId: string): Promise<string> {
    const out = await this.ecs.send(
      new RegisterContainerInstanceCommand({
        cluster,
        instanceIdentityDocument: JSON.stringify({ instanceId: ec2InstanceId }),
      }),
    );
    return out.containerInstance!.containerInstanceArn!;
  }

  /** What ECS managed draining does before the group terminates an instance. */
  async drain(cluster: string, containerInstanceArn: string): Promise<void> {
    await this.ecs.send(
      new UpdateContainerInstancesStateCommand({ cluster, containerInstances: [containerInstanceArn], status: 'DRAINING' }),
    );
  }

  /** What ECS does when the instance is gone. */
  async deregister(cluster: string, containerInstanceArn: string): Promise<void> {
    await this.ecs.send(new DeregisterContainerInstanceCommand({ cluster, containerInstance: containerInstanceArn, force: true }));
  }

  /** Registered instances (moto ignores the status filter; deregistered ones are dropped here). */
  async instances(cluster: string): Promise<RegisteredInstance[]> {
    const arns = (await this.ecs.send(new ListContainerInstancesCommand({ cluster }))).containerInstanceArns ?? [];
    if (arns.length === 0) return [];
    const described = await this.ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }));
    return (described.containerInstances ?? [])
      .filter((ci) => ci.status !== 'INACTIVE')
      .map((ci) => ({
        containerInstanceArn: ci.containerInstanceArn!,
        ec2InstanceId: ci.ec2InstanceId!,
        status: ci.status ?? 'UNKNOWN',
        amiId: ci.attributes?.find((a) => a.name === 'ecs.ami-id')?.value,
      }));
  }
}
