/**
 * The reference cluster stack, deployed in the emulator the way `make cluster` deploys it on AWS:
 * from cluster/ecs-cluster.yml and a stage's parameter file, with the placeholder network and
 * image ids swapped for emulated ones.
 */
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CreateSubnetCommand, CreateVpcCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import path from 'node:path';
import { DEFAULT_IMAGE_PARAMETER, STACK_OUTPUTS } from '../functions/lib/contracts';
import { loadCfg } from './cfg-file';
import { loadCfnYaml } from './cfn-yaml';

const ROOT = path.join(__dirname, '..');
export const CLUSTER_TEMPLATE = loadCfnYaml(path.join(ROOT, 'cluster', 'ecs-cluster.yml'));
export const CLUSTER_CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] as const;

export interface Network {
  vpcId: string;
  subnetIds: string[];
}

let networks = 0;

export async function createNetwork(region: string, subnetCount: number): Promise<Network> {
  const ec2 = new EC2Client({ region });
  const octet = 20 + (networks++ % 200);
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${octet}.0.0/16` }));
  const vpcId = vpc.Vpc!.VpcId!;
  const subnetIds: string[] = [];
  for (let i = 0; i < subnetCount; i++) {
    const subnet = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.${octet}.${i}.0/24`, AvailabilityZone: `${region}${'abcdef'[i]}` }),
    );
    subnetIds.push(subnet.Subnet!.SubnetId!);
  }
  return { vpcId, subnetIds };
}

/**
 * The stage's parameter file with emulated ids. Parameters the file leaves out are passed with
 * their template defaults: moto only remembers the values CreateStack named, and answers an
 * UpdateStack that asks UsePreviousValue for any other with an internal error (CloudFormation
 * remembers defaults too).
 */
export async function stageParameters(
  region: string,
  stage: string,
  imageId: string,
  overrides: Record<string, string> = {},
): Promise<Record<string, string>> {
  const values = loadCfg(path.join(ROOT, 'cluster', 'params', `${stage}.cfg`));
  const defaults = Object.fromEntries(
    Object.entries(CLUSTER_TEMPLATE.Parameters ?? {}).map(([key, p]) => [key, p.Default === undefined ? '' : String(p.Default)]),
  );
  const network = await createNetwork(region, (values.ApplicationSubnets ?? '').split(',').length);
  return {
    ...defaults,
    ...values,
    [DEFAULT_IMAGE_PARAMETER]: imageId,
    VpcId: network.vpcId,
    ApplicationSubnets: network.subnetIds.join(','),
    ...overrides,
  };
}

export function stackOutput(stack: Stack, key: string): string {
  const value = stack.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  if (value === undefined) throw new Error(`stack ${stack.StackName} has no output ${key}`);
  return value;
}

export async function describeClusterStack(region: string, stackName: string): Promise<Stack> {
  const out = await new CloudFormationClient({ region }).send(new DescribeStacksCommand({ StackName: stackName }));
  return out.Stacks![0]!;
}

export async function createClusterStack(region: string, stackName: string, parameters: Record<string, string>): Promise<Stack> {
  await new CloudFormationClient({ region }).send(
    new CreateStackCommand({
      StackName: stackName,
      // moto parses JSON templates; YAML short-form tags are resolved here first.
      TemplateBody: JSON.stringify(CLUSTER_TEMPLATE),
      Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
      Capabilities: [...CLUSTER_CAPABILITIES],
    }),
  );
  return describeClusterStack(region, stackName);
}

export interface DeployedClusterStack {
  /** Where the stack is: the stage's region, or another one the stage copies its images to. */
  region: string;
  stackName: string;
  clusterName: string;
  autoScalingGroupName: string;
  parameters: Record<string, string>;
}

export async function deployClusterStack(options: {
  region: string;
  stackName: string;
  stage: string;
  imageId: string;
  overrides?: Record<string, string>;
}): Promise<DeployedClusterStack> {
  const parameters = await stageParameters(options.region, options.stage, options.imageId, options.overrides);
  const stack = await createClusterStack(options.region, options.stackName, parameters);
  return {
    region: options.region,
    stackName: options.stackName,
    clusterName: stackOutput(stack, STACK_OUTPUTS.clusterName),
    autoScalingGroupName: stackOutput(stack, STACK_OUTPUTS.autoScalingGroupName),
    parameters,
  };
}

export interface FleetClients {
  autoscaling: AutoScalingClient;
  ec2: EC2Client;
}

/** Clients for the groups and instances of one region (one moto serves every region). */
export function fleetClients(region: string): FleetClients {
  return { autoscaling: new AutoScalingClient({ region }), ec2: new EC2Client({ region }) };
}

/** The instances an Auto Scaling group has now, with the image each runs: the group's clients, or its region. */
export async function groupInstances(
  clientsOrRegion: FleetClients | string,
  groupName: string,
): Promise<{ id: string; imageId: string }[]> {
  const clients = typeof clientsOrRegion === 'string' ? fleetClients(clientsOrRegion) : clientsOrRegion;
  const group = (await clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] })))
    .AutoScalingGroups![0]!;
  const ids = (group.Instances ?? []).map((i) => i.InstanceId!);
  if (ids.length === 0) return [];
  const out = await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
  return out.Reservations!.flatMap((r) => r.Instances!).map((i) => ({ id: i.InstanceId!, imageId: i.ImageId! }));
}
