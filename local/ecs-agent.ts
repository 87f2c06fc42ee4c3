/**
 * Stands in for the ECS agent on emulated instances. On real AWS the agent on each instance
 * registers it with its cluster (the first-run script waits for that) and ECS deregisters it
 * when the instance terminates; moto runs no agent, so the harness does both through the ECS API.
 */
import {
  DeregisterContainerInstanceCommand,
  ECSClient,
  RegisterContainerInstanceCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { listContainerInstances } from '../functions/lib/aws/container-instances';
import type { ContainerInstanceView } from '../functions/lib/decisions/registration';

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

  /** Registered instances, as the pipeline's confirmation reads them (deregistered ones dropped). */
  async instances(cluster: string): Promise<ContainerInstanceView[]> {
    // moto ignores ListContainerInstances' status filter and keeps INACTIVE ones listed.
    return (await listContainerInstances(this.ecs, cluster)).filter((i) => i.status !== 'INACTIVE');
  }
}

/**
 * The agents of every region the harness runs clusters in: moto keeps ECS per region, so an
 * instance must register with the agent of the region its cluster is in.
 */
export class SimulatedEcsAgents {
  private readonly byRegion = new Map<string, SimulatedEcsAgent>();

  constructor(readonly home: string) {}

  in(region: string = this.home): SimulatedEcsAgent {
    let agent = this.byRegion.get(region);
    if (!agent) this.byRegion.set(region, (agent = new SimulatedEcsAgent(region)));
    return agent;
  }
}
