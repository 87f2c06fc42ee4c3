/**
 * What CloudFormation and Auto Scaling do on real AWS after UpdateStack changes a cluster stack's
 * image, done by hand because moto does none of it: moto makes the new launch template version
 * but never replaces an instance, knows no rollback states, and runs no ECS agent.
 *
 * Per the stack's AutoScalingRollingUpdate (MinInstancesInService = desired, MaxBatchSize): point
 * the group at the new launch template version, then batch by batch launch new instances, wait
 * for their signal (the first-run script's ECS registration), drain and terminate the old ones.
 * A batch that does not signal rolls the whole stack back to the previous image, as
 * WaitOnResourceSignals does, and leaves the stack in UPDATE_ROLLBACK_COMPLETE.
 *
 * Stacks are known by region and name: one moto holds every region, and the same stack name may
 * exist in two of them. Each update's calls go to its stack's region.
 */
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStacksCommand, UpdateStackCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { randomUUID } from 'node:crypto';
import { DEFAULT_IMAGE_PARAMETER, STACK_OUTPUTS } from '../functions/lib/contracts';
import { planImageUpdate } from '../functions/lib/decisions/stack';
import { stackView } from '../functions/lib/aws/stack-lookups';
import { CLUSTER_CAPABILITIES, groupInstances, stackOutput } from './cluster-stack';
import type { SimulatedEcsAgent, SimulatedEcsAgents } from './ecs-agent';

/**
 * How instances of an image behave at boot. `never-signals`: the first-run script fails, so no
 * signal and CloudFormation rolls back. `never-registers`: the stack's signal passes but the ECS
 * agent never shows up in the cluster (what the pipeline's registration check exists to catch).
 */
export type ImageBehaviour = 'healthy' | 'never-signals' | 'never-registers';

export interface SimulatedStackEvent {
  timestamp: Date;
  logicalResourceId: string;
  resourceType: string;
  resourceStatus: string;
  reason?: string;
  clientRequestToken?: string;
}

interface Overlay {
  region: string;
  status?: string;
  reason?: string;
  token?: string;
  events: SimulatedStackEvent[];
}

/** What the simulation uses in one region. */
interface Regional {
  cfn: CloudFormationClient;
  ec2: EC2Client;
  autoscaling: AutoScalingClient;
  agent: SimulatedEcsAgent;
}

export class SimulatedRollingUpdates {
  private readonly overlays = new Map<string, Overlay>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly regions = new Map<string, Regional>();

  constructor(
    private readonly options: {
      /** moto itself, not the proxy: the simulation's own calls must not be simulated again. */
      motoEndpoint: string;
      /** The stage's region: where a stack is when the caller names no region. */
      region: string;
      agents: SimulatedEcsAgents;
      imageBehaviour: (amiId: string) => ImageBehaviour;
      log: (stackName: string, message: string) => void;
      /** Pause between the steps of a batch, so the pipeline's polls see the update in flight. */
      stepMs: number;
    },
  ) {}

  private in(region: string): Regional {
    let regional = this.regions.get(region);
    if (!regional) {
      const config = { region, endpoint: this.options.motoEndpoint };
      regional = {
        cfn: new CloudFormationClient(config),
        ec2: new EC2Client(config),
        autoscaling: new AutoScalingClient(config),
        agent: this.options.agents.in(region),
      };
      this.regions.set(region, regional);
    }
    return regional;
  }

  private key(stackName: string, region: string = this.options.region): string {
    return `${region}/${stackName}`;
  }

  statusOf(stackName: string, region?: string): { status?: string; reason?: string } {
    const overlay = this.overlays.get(this.key(stackName, region));
    return { status: overlay?.status, reason: overlay?.reason };
  }

  eventsOf(stackName: string, region?: string): SimulatedStackEvent[] {
    return [...(this.overlays.get(this.key(stackName, region))?.events ?? [])].reverse();
  }

  /** Resolves when no rolling update is running. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Called once moto accepted an UpdateStack (in `region`, default the stage's): the stack is busy from this moment. */
  updateAccepted(stackName: string, token?: string, region: string = this.options.region): void {
    const overlay: Overlay = { region, status: 'UPDATE_IN_PROGRESS', token, events: [] };
    this.overlays.set(this.key(stackName, region), overlay);
    this.event(overlay, stackName, 'AWS::CloudFormation::Stack', 'UPDATE_IN_PROGRESS', 'User Initiated');
    const run = this.roll(stackName, overlay)
      .catch((error: unknown) => {
        overlay.status = 'UPDATE_ROLLBACK_FAILED';
        overlay.reason = `harness error: ${error instanceof Error ? error.message : String(error)}`;
        this.log(stackName, overlay, overlay.reason);
      })
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  /** The timeline names the region of a stack outside the stage's own. */
  private log(stackName: string, overlay: Overlay, message: string): void {
    this.options.log(overlay.region === this.options.region ? stackName : `${stackName} (${overlay.region})`, message);
  }

  private event(overlay: Overlay, logicalId: string, type: string, status: string, reason?: string): void {
    overlay.events.push({
      timestamp: new Date(),
      logicalResourceId: logicalId,
      resourceType: type,
      resourceStatus: status,
      reason,
      clientRequestToken: overlay.token,
    });
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.options.stepMs));
  }

  private async stack(at: Regional, stackName: string): Promise<Stack> {
    return (await at.cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks![0]!;
  }

  private async latestLaunchTemplateVersion(at: Regional, launchTemplateId: string): Promise<string> {
    const versions = await at.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: launchTemplateId }));
    return String(Math.max(...(versions.LaunchTemplateVersions ?? []).map((v) => v.VersionNumber ?? 0)));
  }

  private async roll(stackName: string, overlay: Overlay): Promise<void> {
    const at = this.in(overlay.region);
    const stack = await this.stack(at, stackName);
    const parameter = (key: string) => stack.Parameters?.find((p) => p.ParameterKey === key)?.ParameterValue ?? '';
    const imageId = parameter(DEFAULT_IMAGE_PARAMETER);
    const groupName = stackOutput(stack, STACK_OUTPUTS.autoScalingGroupName);
    const clusterName = stackOutput(stack, STACK_OUTPUTS.clusterName);
    const launchTemplateId = stackOutput(stack, 'LaunchTemplateId');
    const batchSize = Math.max(1, Number(parameter('MaxBatchSize')) || 1);
    const desired = Number(parameter('ApplicationDesiredCount'));

    const group = (await at.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] })))
      .AutoScalingGroups![0]!;
    const previousVersion = group.LaunchTemplate?.Version ?? '1';
    const version = await this.latestLaunchTemplateVersion(at, launchTemplateId);
    // CloudFormation points the group at the new version (moto does not re-resolve the GetAtt).
    await at.autoscaling.send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: groupName, LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: version } }),
    );

    const old = (await groupInstances(at, groupName)).filter((i) => i.imageId !== imageId);
    const batches = Math.ceil(old.length / batchSize);
    this.log(stackName, overlay, `rolling update: ${old.length} instance(s) to replace with ${imageId}, ${batchSize} at a time`);
    const replaced = await this.replaceInBatches(stackName, overlay, groupName, clusterName, desired, old, imageId, batchSize, batches);
    if (replaced) {
      this.event(overlay, stackName, 'AWS::CloudFormation::Stack', 'UPDATE_COMPLETE');
      overlay.status = undefined; // moto's own status (UPDATE_COMPLETE) is right again
      this.log(stackName, overlay, 'UPDATE_COMPLETE');
      return;
    }

    // WaitOnResourceSignals: the stack goes back to the previous image and template version.
    const reason = `Received 0 SUCCESS signal(s) out of ${Math.min(batchSize, old.length)}. Unable to satisfy 100% MinSuccessfulInstancesPercent requirement`;
    this.event(overlay, 'AutoScalingGroup', 'AWS::AutoScaling::AutoScalingGroup', 'UPDATE_FAILED', reason);
    this.event(overlay, stackName, 'AWS::CloudFormation::Stack', 'UPDATE_ROLLBACK_IN_PROGRESS', 'The following resource(s) failed to update: [AutoScalingGroup].');
    overlay.status = 'UPDATE_ROLLBACK_IN_PROGRESS';
    this.log(stackName, overlay, `no signal from the new instances: rolling the stack back (${reason})`);
    const previousImage = await this.imageOfVersion(at, launchTemplateId, previousVersion);
    await this.restoreParameters(at, stack, previousImage);
    const restoredVersion = await this.latestLaunchTemplateVersion(at, launchTemplateId);
    await at.autoscaling.send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: groupName, LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: restoredVersion } }),
    );
    const onNewImage = (await groupInstances(at, groupName)).filter((i) => i.imageId !== previousImage);
    await this.replaceInBatches(stackName, overlay, groupName, clusterName, desired, onNewImage, previousImage, batchSize, Math.ceil(onNewImage.length / batchSize));
    this.event(overlay, stackName, 'AWS::CloudFormation::Stack', 'UPDATE_ROLLBACK_COMPLETE');
    overlay.status = 'UPDATE_ROLLBACK_COMPLETE';
    this.log(stackName, overlay, `UPDATE_ROLLBACK_COMPLETE: back on ${previousImage}`);
  }

  /** Replaces `old` batch by batch; false as soon as a batch does not signal (nothing of that batch kept). */
  private async replaceInBatches(
    stackName: string,
    overlay: Overlay,
    groupName: string,
    clusterName: string,
    desired: number,
    old: { id: string }[],
    imageId: string,
    batchSize: number,
    batches: number,
  ): Promise<boolean> {
    const at = this.in(overlay.region);
    const behaviour = this.options.imageBehaviour(imageId);
    for (let b = 0; b < batches; b++) {
      const batch = old.slice(b * batchSize, (b + 1) * batchSize);
      await this.pause();
      const before = new Set((await groupInstances(at, groupName)).map((i) => i.id));
      // MinInstancesInService = desired: launch the batch first, then retire the old instances.
      await at.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: groupName, DesiredCapacity: desired + batch.length }));
      const launched = (await groupInstances(at, groupName)).filter((i) => !before.has(i.id));
      this.log(stackName, overlay, `batch ${b + 1}/${batches}: launched ${launched.map((i) => i.id).join(', ')} on ${imageId}`);
      await this.pause();
      if (behaviour === 'never-signals') {
        for (const instance of launched) {
          await at.autoscaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instance.id, ShouldDecrementDesiredCapacity: true }));
        }
        return false;
      }
      if (behaviour === 'healthy') {
        for (const instance of launched) await at.agent.register(clusterName, instance.id);
        this.log(stackName, overlay, `batch ${b + 1}/${batches}: ${launched.length} instance(s) registered with ECS and signalled`);
      } else {
        this.log(stackName, overlay, `batch ${b + 1}/${batches}: signalled, but the ECS agent never registered`);
      }
      const registered = await at.agent.instances(clusterName);
      for (const instance of batch) {
        const container = registered.find((c) => c.ec2InstanceId === instance.id);
        if (container) await at.agent.drain(clusterName, container.arn);
        await at.autoscaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instance.id, ShouldDecrementDesiredCapacity: true }));
        if (container) await at.agent.deregister(clusterName, container.arn);
      }
      this.log(stackName, overlay, `batch ${b + 1}/${batches}: drained and terminated ${batch.map((i) => i.id).join(', ')}`);
    }
    return true;
  }

  private async imageOfVersion(at: Regional, launchTemplateId: string, version: string): Promise<string> {
    const out = await at.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: launchTemplateId, Versions: [version] }));
    return out.LaunchTemplateVersions![0]!.LaunchTemplateData!.ImageId!;
  }

  /** After a rollback CloudFormation reports the previous parameter values again. */
  private async restoreParameters(at: Regional, stack: Stack, previousImage: string): Promise<void> {
    const stackName = stack.StackName!;
    // The same "only the image changes" update the pipeline sends; the overlay hides the busy state.
    const plan = planImageUpdate({ ...stackView(stackName, stack), status: 'UPDATE_COMPLETE' }, DEFAULT_IMAGE_PARAMETER, previousImage);
    if (plan.kind === 'none') return;
    await at.cfn.send(
      new UpdateStackCommand({
        StackName: stackName,
        UsePreviousTemplate: true,
        Parameters: plan.parameters,
        Capabilities: [...CLUSTER_CAPABILITIES],
        ClientRequestToken: `harness-rollback-${randomUUID()}`,
      }),
    );
  }
}
