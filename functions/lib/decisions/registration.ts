import { STACK_OUTPUTS } from '../contracts';
import { ERROR_NAMES, PipelineError } from '../contracts/errors';

/** A container instance as ECS reports it, reduced to what the confirmation needs. */
export interface ContainerInstanceView {
  arn: string;
  ec2InstanceId?: string;
  status: string;
  agentConnected: boolean;
  /** The built-in attribute `ecs.ami-id`. */
  amiId?: string;
}

export interface RegistrationAssessment {
  confirmed: boolean;
  desiredCapacity: number;
  /** ACTIVE, agent connected, on the target AMI. */
  ready: number;
  /** On the target AMI but not (yet) ACTIVE with a connected agent. */
  notReady: number;
  /** Instances still serving on another AMI, per AMI: these block the confirmation. */
  onOtherAmis: Record<string, number>;
  /** Old instances ECS is draining on their way out: reported, not blocking. */
  draining: number;
  summary: string;
}

// INACTIVE instances are deregistered: ECS keeps listing them for a while, but they run nothing.
const GONE = new Set(['INACTIVE', 'DEREGISTERING']);

/**
 * Is the cluster on the new image? As many ACTIVE, agent-connected instances on `amiId` as the
 * Auto Scaling group desires, and no instance on another AMI still taking tasks. Old instances
 * that are DRAINING only hand their tasks over: ECS managed draining can keep them a while after
 * CloudFormation finished the update, and a slow drain is no reason to roll back a healthy fleet.
 */
export function assessRegistration(
  desiredCapacity: number,
  instances: ContainerInstanceView[],
  amiId: string,
): RegistrationAssessment {
  const present = instances.filter((i) => !GONE.has(i.status));
  const onTarget = present.filter((i) => i.amiId === amiId);
  const ready = onTarget.filter((i) => i.status === 'ACTIVE' && i.agentConnected).length;
  const leaving = present.filter((i) => i.amiId !== amiId && i.status === 'DRAINING');
  const onOtherAmis: Record<string, number> = {};
  for (const instance of present) {
    if (instance.amiId === amiId || instance.status === 'DRAINING') continue;
    const key = instance.amiId ?? 'unknown AMI';
    onOtherAmis[key] = (onOtherAmis[key] ?? 0) + 1;
  }
  const others = Object.values(onOtherAmis).reduce((a, b) => a + b, 0);
  const confirmed = ready >= desiredCapacity && others === 0;
  const parts = [`${ready}/${desiredCapacity} instances ACTIVE and connected on ${amiId}`];
  if (onTarget.length > ready) parts.push(`${onTarget.length - ready} on ${amiId} not ready yet`);
  if (others > 0) {
    parts.push(
      `${others} still on other AMIs (${Object.entries(onOtherAmis)
        .map(([ami, n]) => `${ami}: ${n}`)
        .join(', ')})`,
    );
  }
  if (leaving.length > 0) parts.push(`${leaving.length} old instance(s) draining`);
  return {
    confirmed,
    desiredCapacity,
    ready,
    notReady: onTarget.length - ready,
    onOtherAmis,
    draining: leaving.length,
    summary: parts.join('; '),
  };
}

/** The Auto Scaling group of a stack: its `AutoScalingGroupName` output, else its only ASG resource. */
export function autoScalingGroupOf(
  stackName: string,
  outputs: { key: string; value: string }[],
  resources: { type: string; physicalId?: string }[],
): string {
  const output = outputs.find((o) => o.key === STACK_OUTPUTS.autoScalingGroupName);
  if (output?.value) return output.value;
  const groups = resources.filter((r) => r.type === 'AWS::AutoScaling::AutoScalingGroup' && r.physicalId);
  if (groups.length === 1) return groups[0]!.physicalId!;
  throw new PipelineError(
    ERROR_NAMES.stackNotRollable,
    groups.length === 0
      ? `stack ${stackName} has no Auto Scaling group; the pipeline confirms registration against the group the stack owns`
      : `stack ${stackName} has ${groups.length} Auto Scaling groups; add an ${STACK_OUTPUTS.autoScalingGroupName} output naming the ECS one`,
  );
}
